"""`finagent eval`: runs suites, writes results.json and report.md, fails on regressions."""

from __future__ import annotations

import importlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.base import SuiteContext, SuiteResult
from evals.suites import SUITES
from finagent.settings import Settings


class UnknownSuiteError(ValueError):
    pass


def run_suite(name: str, ctx: SuiteContext) -> SuiteResult:
    if name not in SUITES:
        raise UnknownSuiteError(f"unknown suite {name!r}; known: {', '.join(sorted(SUITES))}")
    module = importlib.import_module(SUITES[name])
    result: SuiteResult = module.run(ctx)
    return result


def write_outputs(result: SuiteResult, out_dir: Path, elapsed_s: float) -> dict[str, Any]:
    failed = result.failed_gates()
    payload: dict[str, Any] = {
        "suite": result.suite,
        "finished_at": datetime.now(UTC).isoformat(),
        "elapsed_s": round(elapsed_s, 3),
        "passed": not failed,
        "metrics": result.metrics,
        "gates": [g.model_dump() for g in result.gates],
        "failed_gates": [g.model_dump() for g in failed],
        **result.extra,
        "items": result.items,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    lines = [
        f"# Eval report: {result.suite}",
        "",
        f"Finished {payload['finished_at']} in {elapsed_s:.1f} s.",
        "",
    ]
    lines += ["| metric | value | gate | |", "| --- | --- | --- | --- |"]
    gates = {g.metric: g.minimum for g in result.gates}
    for metric, value in result.metrics.items():
        gate = gates.get(metric)
        status = "" if gate is None else ("pass" if value >= gate else "**FAIL**")
        lines.append(f"| {metric} | {value:.4f} | {'' if gate is None else f'>= {gate}'} | {status} |")
    lines += ["", result.report_md.strip(), ""]
    lines += [f"![{c}]({c})" for c in result.charts]
    (out_dir / "report.md").write_text("\n".join(lines).rstrip() + "\n")
    return payload


def run(
    names: list[str], out_dir: Path, settings: Settings, options: dict[str, Any], progress: bool = True
) -> bool:
    """Run the named suites; returns True when every gate passed."""
    all_passed = True
    for name in names:
        suite_dir = out_dir if len(names) == 1 else out_dir / name
        ctx = SuiteContext(out_dir=suite_dir, settings=settings, options=options, show_progress=progress)
        suite_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        result = run_suite(name, ctx)
        payload = write_outputs(result, suite_dir, time.perf_counter() - started)
        all_passed &= bool(payload["passed"])
    return all_passed
