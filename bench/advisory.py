"""`finagent advisory bench --out DIR`: how long a portfolio proposal takes to compute, per risk class.

Measures the allocation tool without its cache (skfolio's optimisation on the shipped market data plus
the backtest), and the whole proposal as the agent builds it: profile -> allocation (cached, as in the
running service) -> proposal text -> numbers check. The target is 300 ms. Writes DIR/results.json.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from agents.advisory.grounding import ungrounded
from agents.advisory.proposal import allowed_numbers, proposal_text, shelf
from finagent.settings import Settings
from tools.allocation import _allocate, allocate
from tools.market_data import load_market_data
from tools.policy_engine import get_engine

CLASSES = ("C1", "C2", "C3", "C4", "C5")
TARGET_MS = 300.0


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "runs": float(len(samples)),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main(out: Path, settings: Settings, runs: int = 20) -> dict[str, Any]:
    engine = get_engine(settings.policy_dir)
    started = time.perf_counter()
    load_market_data()
    first_load_ms = (time.perf_counter() - started) * 1000
    cold: dict[str, list[float]] = {c: [] for c in CLASSES}
    for _ in range(runs):
        for cls in CLASSES:
            _allocate.cache_clear()
            t = time.perf_counter()
            allocate(cls, engine)  # type: ignore[arg-type]
            cold[cls].append((time.perf_counter() - t) * 1000)
    products = shelf(engine)
    proposal: list[float] = []
    for _ in range(runs):
        for cls in CLASSES:
            t = time.perf_counter()
            portfolio = allocate(cls, engine)  # type: ignore[arg-type]
            text = proposal_text(portfolio, products, "en")
            assert not ungrounded(text, allowed_numbers(portfolio))
            proposal.append((time.perf_counter() - t) * 1000)
    per_class = {c: _stats(v) for c, v in cold.items()}
    worst = max(s["p95_ms"] for s in per_class.values())
    results = {
        "target_ms": TARGET_MS,
        "market_data_first_load_ms": round(first_load_ms, 2),
        "allocation_uncached": per_class,
        "allocation_uncached_worst_p95_ms": worst,
        "proposal_cached": _stats(proposal),
        "meets_target": worst <= TARGET_MS,
        "policy_version": engine.version,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "allocation_uncached"}, indent=2))
    return results
