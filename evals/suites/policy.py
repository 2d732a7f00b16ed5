"""Eval suite `policy`: the outgoing-text check on labelled replies in English and Chinese.

A reply is predicted violating when the check returns BLOCK. Two files, split by who wrote them and
when (evals/datasets/README.md):

- dev (`policy_replies.jsonl`): written with the patterns; the rules are tuned on it and the gates
  read it only. Its misses and false alarms are listed in full.
- held-out (`policy_replies_heldout.jsonl`): written before the patterns it scores; never tuned on.
  It is reported as figures and counts only. Its texts, ids and matched excerpts are never written
  out, so nobody tunes a pattern on them by accident.

Per category, recall is the share of replies labelled with it that were blocked, and precision is
the share of replies on which a rule of that family fired that really violate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.base import Gate, SuiteContext, SuiteResult

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
DEV = DATASETS / "policy_replies.jsonl"
HELDOUT = DATASETS / "policy_replies_heldout.jsonl"
CATEGORIES = ("prohibited_claim", "hype", "evasion", "internal_controls", "missing_disclosure", "pii")
# Claim rules whose category names a family of their own; every other claim rule is `prohibited_claim`.
_CLAIM_FAMILIES = {"hype", "evasion", "internal_controls"}
GATES = [Gate(metric="dev_recall", minimum=0.98), Gate(metric="dev_precision", minimum=0.95)]


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def family(kind: str, detail: str) -> str:
    """The category a finding counts towards: its kind, or the claim rule's own family."""
    if kind == "prohibited_claim":
        return detail if detail in _CLAIM_FAMILIES else "prohibited_claim"
    return kind


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def scores(items: list[dict[str, Any]], prefix: str) -> dict[str, float]:
    """Precision, recall and counts over ``items``, overall, per language, per category and per trap."""
    tp = sum(1 for i in items if i["predicted"] and i["violation"])
    fp = sum(1 for i in items if i["predicted"] and not i["violation"])
    fn = sum(1 for i in items if not i["predicted"] and i["violation"])
    out = {
        f"{prefix}_replies": float(len(items)),
        f"{prefix}_precision": _ratio(tp, tp + fp),
        f"{prefix}_recall": _ratio(tp, tp + fn),
        f"{prefix}_missed_violations": float(fn),
        f"{prefix}_false_alarms": float(fp),
    }
    for lang in ("en", "zh"):
        part = [i for i in items if i["lang"] == lang]
        ltp = sum(1 for i in part if i["predicted"] and i["violation"])
        lfp = sum(1 for i in part if i["predicted"] and not i["violation"])
        lfn = sum(1 for i in part if not i["predicted"] and i["violation"])
        if part:
            out[f"{prefix}_{lang}_precision"] = _ratio(ltp, ltp + lfp)
            out[f"{prefix}_{lang}_recall"] = _ratio(ltp, ltp + lfn)
    for cat in CATEGORIES:
        labelled = [i for i in items if cat in i["categories"]]
        fired = [i for i in items if cat in i["families"]]
        if labelled:
            out[f"{prefix}_{cat}_recall"] = _ratio(sum(i["predicted"] for i in labelled), len(labelled))
        if fired:
            out[f"{prefix}_{cat}_precision"] = _ratio(sum(i["violation"] for i in fired), len(fired))
    for trap in sorted({t for i in items for t in i["traps"]}):
        clean = [i for i in items if trap in i["traps"]]
        out[f"{prefix}_false_alarm_rate_{trap}"] = _ratio(sum(i["predicted"] for i in clean), len(clean))
    return out


def _judge(rows: list[dict[str, Any]], ctx: SuiteContext, desc: str) -> list[dict[str, Any]]:
    from tools.policy_engine import get_engine
    from tools.text_check import check_outgoing_text

    engine = get_engine(ctx.settings.policy_dir)
    items = []
    for row in ctx.progress(rows, desc=desc):
        result = check_outgoing_text(row["text"], product_types=row.get("product_types", []), engine=engine)
        items.append({
            "id": row["id"], "lang": row["lang"], "text": row["text"], "violation": row["violation"],
            "categories": row.get("categories", []), "traps": row.get("traps", []),
            "predicted": result.verdict.decision.value == "BLOCK",
            "families": sorted({family(f.kind, f.detail) for f in result.findings}),
            "findings": [f.model_dump() for f in result.findings],
        })  # fmt: skip
    return items


def run(ctx: SuiteContext) -> SuiteResult:
    from tools.policy_engine import get_engine

    engine = get_engine(ctx.settings.policy_dir)
    dev_path = Path(ctx.options.get("replies") or DEV)
    heldout_path = Path(ctx.options.get("heldout_replies") or HELDOUT)
    dev = _judge(load(dev_path), ctx, "policy replies (dev)")
    heldout = _judge(load(heldout_path), ctx, "policy replies (held-out)") if heldout_path.exists() else []
    metrics = scores(dev, "dev") | (scores(heldout, "heldout") if heldout else {})

    missed = [i for i in dev if i["violation"] and not i["predicted"]]
    false = [i for i in dev if i["predicted"] and not i["violation"]]
    lines = [
        f"Policy {engine.version}. Gates read the dev replies only.",
        "",
        f"- dev: {len(dev)} replies ({sum(i['violation'] for i in dev)} violating), `{dev_path.name}`",
        f"- held-out: {len(heldout)} replies ({sum(i['violation'] for i in heldout)} violating), "
        f"`{heldout_path.name}`: {int(metrics.get('heldout_missed_violations', 0))} missed violations, "
        f"{int(metrics.get('heldout_false_alarms', 0))} false alarms (figures only, never texts)",
        "",
    ]
    for title, group in (("Dev: missed violations", missed), ("Dev: false alarms", false)):
        lines.append(f"**{title}:** {len(group)}")
        lines += [f"- `{i['id']}` ({i['lang']}) {i['text'][:120]}" for i in group]
        lines.append("")
    return SuiteResult(
        suite="policy",
        metrics={k: round(v, 4) for k, v in metrics.items()},
        gates=GATES,
        items=dev,  # held-out rows are summarised in the metrics, never listed
        extra={
            "policy_version": engine.version,
            "dataset": str(dev_path),
            "heldout_dataset": str(heldout_path),
        },
        report_md="\n".join(lines),
    )
