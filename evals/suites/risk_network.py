"""Network analytics on AMLSim with a time-ordered split, against the monitoring rules alone.

Time is AMLSim's day step. For each fold, the test period is (b, b + 30] and everything before b is
the tuning period; windows of ``window_days`` slide by ``step`` days, and a window sees only the
transfers inside it (never a later one). An account counts in a period when it made or received a
transfer in it; it is a positive when AMLSim marks it suspicious (``isFraud``), flagged when a
detection of a window ending in the period includes it.

Tuning (earlier data only): for each detector, the lowest strength threshold whose tuning precision
reaches ``target_precision``; detectors that cannot reach it on the tuning period are left out. The
rules baseline is tools/batch_screening.py with the shipped pack as in `finagent bench policy`
(simulated amounts; euro-defined and fan rules skipped), run on everything up to the period's end and
counted on the period's transfers.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from tools.network_analytics import KINDS, Detection, NetworkConfig, Transfers, detect

FOLD_STARTS = (60.0, 90.0, 120.0)
TEST_DAYS = 30.0


@dataclass(frozen=True)
class Window:
    end: float
    detections: list[Detection]


def load(folder: Path) -> tuple[Transfers, set[int]]:
    tx = np.loadtxt(folder / "transactions.csv", delimiter=",", skiprows=1)
    transfers = Transfers(tx[:, 0].astype(np.int64), tx[:, 1].astype(np.int64), tx[:, 2], tx[:, 3])
    with (folder / "nodes.csv").open(newline="") as fh:
        truth = {int(r["nodeid"]) for r in csv.DictReader(fh) if r["isFraud"] == "1"}
    return transfers, truth


def windows(transfers: Transfers, cfg: NetworkConfig, step: float) -> list[Window]:
    last = float(transfers.days.max())
    ends = np.arange(step, last + step, step)
    return [Window(float(t), detect(transfers.between(t - cfg.window_days, t), cfg)) for t in ends]


def active(transfers: Transfers, start: float, end: float) -> set[int]:
    part = transfers.between(start, end)
    return set(part.src.tolist()) | set(part.dst.tolist())


def flagged(ws: list[Window], start: float, end: float, thresholds: dict[str, float]) -> set[int]:
    out: set[int] = set()
    for w in ws:
        if start < w.end <= end:
            for d in w.detections:
                if d.kind in thresholds and d.strength >= thresholds[d.kind]:
                    out |= d.accounts
    return out


def pr(alerted: set[int], truth: set[int]) -> dict[str, float]:
    tp = len(alerted & truth)
    return {
        "alerted": len(alerted),
        "precision": round(tp / len(alerted), 4) if alerted else 0.0,
        "recall": round(tp / len(truth), 4) if truth else 0.0,
    }


def tune(ws: list[Window], pool: set[int], truth: set[int], end: float, target: float) -> dict[str, float]:
    """Per detector, the lowest strength reaching ``target`` precision on (0, end]; others dropped."""
    chosen: dict[str, float] = {}
    for kind in KINDS:
        strengths = sorted({d.strength for w in ws if w.end <= end for d in w.detections if d.kind == kind})
        for s in strengths:
            got = flagged(ws, 0.0, end, {kind: s}) & pool
            if got and len(got & truth) / len(got) >= target:
                chosen[kind] = s
                break
    return chosen


def rules_alerted(transfers: Transfers, policy_dir: Path, start: float, end: float) -> set[int]:
    from policies.schema import FanRule, NewPayeeLargeRule, RoundAmountRule, StructuringRule
    from tools.batch_screening import Ledger, neutralise_amounts, screen_ledger
    from tools.policy_engine import get_engine

    upto = transfers.between(-1.0, end)
    ledger = Ledger(upto.src, upto.dst, upto.amount, upto.days * 24.0)
    policies = neutralise_amounts(get_engine(policy_dir).policies)
    result = screen_ledger(
        policies, ledger, skip_kinds=(StructuringRule, NewPayeeLargeRule, RoundAmountRule, FanRule)
    )
    in_period = upto.days > start
    held = np.zeros(len(upto.src), dtype=bool)
    for rid, mask in result.transfer_hits.items():
        if rid in result.account_alerts:
            held |= mask
    held &= in_period
    accounts = set(upto.src[held].tolist()) | set(upto.dst[held].tolist())
    # Linked-alert accounts (batch only) count when they traded in the period.
    linked = result.account_alerts.get("TM-LNK-01", set())
    return accounts | (linked & active(transfers, start, end))


def evaluate(
    folder: Path,
    policy_dir: Path,
    cfg: NetworkConfig | None = None,
    *,
    step: float = 5.0,
    target_precision: float = 0.8,
) -> dict[str, Any]:
    cfg = cfg or NetworkConfig()
    transfers, truth = load(folder)
    ws = windows(transfers, cfg, step)
    folds: list[dict[str, Any]] = []
    for b in FOLD_STARTS:
        tune_pool = active(transfers, 0.0, b)
        thresholds = tune(ws, tune_pool, truth, b, target_precision)
        pool = active(transfers, b, b + TEST_DAYS)
        positives = pool & truth
        network = flagged(ws, b, b + TEST_DAYS, thresholds) & pool
        rules = rules_alerted(transfers, policy_dir, b, b + TEST_DAYS) & pool
        folds.append(
            {
                "tune_days": [0.0, b],
                "test_days": [b, b + TEST_DAYS],
                "thresholds": thresholds,
                "tune": pr(flagged(ws, 0.0, b, thresholds) & tune_pool, truth & tune_pool),
                "accounts": len(pool),
                "positives": len(positives),
                "network": pr(network, positives),
                "rules": pr(rules, positives),
                "network_or_rules": pr(network | rules, positives),
                "per_detector": {
                    k: pr(flagged(ws, b, b + TEST_DAYS, {k: v}) & pool, positives)
                    for k, v in thresholds.items()
                },
            }
        )

    def pooled(key: str) -> dict[str, float]:
        alerted = sum(f[key]["alerted"] for f in folds)
        tp_p = sum(f[key]["precision"] * f[key]["alerted"] for f in folds)
        tp_r = sum(f[key]["recall"] * f["positives"] for f in folds)
        return {
            "precision": round(tp_p / alerted, 4) if alerted else 0.0,
            "recall": round(tp_r / sum(f["positives"] for f in folds), 4),
        }

    spread = {
        key: {m: round(statistics.pstdev(f[key][m] for f in folds), 4) for m in ("precision", "recall")}
        for key in ("network", "rules")
    }
    return {
        "config": cfg.as_dict(),
        "step_days": step,
        "target_precision": target_precision,
        "folds": folds,
        "network": pooled("network"),
        "rules": pooled("rules"),
        "network_or_rules": pooled("network_or_rules"),
        "spread_across_folds": spread,
    }


@lru_cache(maxsize=4)
def evaluate_cached(folder: Path, policy_dir: Path) -> dict[str, Any]:
    """One evaluation per data folder and pack folder in a process (the suite may run more than once)."""
    return evaluate(folder, policy_dir)


def chart(out_dir: Path, report: dict[str, Any]) -> str:
    """Per test fold: precision and recall of the network detectors and of the rules alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folds = report["folds"]
    labels = [f"days {int(f['test_days'][0])}-{int(f['test_days'][1])}" for f in folds]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, metric, target in ((axes[0], "precision", 0.75), (axes[1], "recall", 0.8)):
        for n, key in enumerate(("network", "rules", "network_or_rules")):
            ax.bar(
                [x + n * 0.27 for x in range(len(folds))], [f[key][metric] for f in folds], 0.27, label=key
            )
        ax.axhline(target, color="grey", linestyle=":", linewidth=1, label=f"target {target}")
        ax.set_xticks([x + 0.27 for x in range(len(folds))], labels)
        ax.set_ylim(0, 1.15)
        ax.set_title(f"Account {metric}, AMLSim, later period (tuned on earlier)")
        ax.legend(loc="upper center", ncol=4, fontsize="x-small", frameon=False)
    fig.tight_layout()
    name = "network_folds.png"
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    return name


def markdown(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "Network analytics on AMLSim, time-ordered (tuned on earlier days, tested on the next 30):",
        "",
        "| test days | thresholds (tuned) | network P / R | rules P / R | network or rules P / R |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in report["folds"]:
        th = ", ".join(f"{k} >= {v:g}" for k, v in f["thresholds"].items()) or "none reached the precision"
        cells = [
            f"{f[k]['precision']:.3f} / {f[k]['recall']:.3f}"
            for k in ("network", "rules", "network_or_rules")
        ]
        lines.append(
            f"| {int(f['test_days'][0])}-{int(f['test_days'][1])} | {th} | " + " | ".join(cells) + " |"
        )
    n, r, sd = report["network"], report["rules"], report["spread_across_folds"]
    lines += [
        "",
        f"Pooled over the folds: network precision {n['precision']:.3f}, recall {n['recall']:.3f} "
        f"(spread across folds: {sd['network']['precision']:.3f} / {sd['network']['recall']:.3f}); "
        f"rules alone {r['precision']:.3f} / {r['recall']:.3f} "
        f"({sd['rules']['precision']:.3f} / {sd['rules']['recall']:.3f}). "
        "Target: recall >= 0.8 with precision >= 0.75.",
        "",
        "![network folds](network_folds.png)",
    ]
    return lines
