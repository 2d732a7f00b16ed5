"""Eval suite `policy`: the outgoing-text check on labelled replies in English and Chinese.

A reply is predicted violating when the check returns BLOCK. Precision and recall are over all
replies; the held-out split (never used while writing the patterns) is reported separately.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.base import Gate, SuiteContext, SuiteResult

DATASET = Path(__file__).resolve().parent.parent / "datasets" / "policy_replies.jsonl"


def _scores(items: list[dict[str, Any]]) -> dict[str, float]:
    tp = sum(1 for i in items if i["predicted"] and i["violation"])
    fp = sum(1 for i in items if i["predicted"] and not i["violation"])
    fn = sum(1 for i in items if not i["predicted"] and i["violation"])
    return {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "missed_violations": float(fn),
        "false_alarms": float(fp),
    }


def run(ctx: SuiteContext) -> SuiteResult:
    from tools.policy_engine import get_engine
    from tools.text_check import check_outgoing_text

    engine = get_engine(ctx.settings.policy_dir)
    path = Path(ctx.options.get("replies") or DATASET)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = []
    for row in ctx.progress(rows, desc="policy replies"):
        result = check_outgoing_text(row["text"], product_types=row.get("product_types", []), engine=engine)
        predicted = result.verdict.decision.value == "BLOCK"
        items.append({
            "id": row["id"], "lang": row["lang"], "split": row.get("split", "dev"),
            "violation": row["violation"], "categories": row.get("categories", []),
            "predicted": predicted, "correct": predicted == row["violation"],
            "findings": [f.model_dump() for f in result.findings], "text": row["text"],
        })  # fmt: skip
    metrics = _scores(items)
    for subset in ("dev", "heldout"):
        part = [i for i in items if i["split"] == subset]
        if part:
            metrics |= {f"{subset}_{k}": v for k, v in _scores(part).items() if k in {"precision", "recall"}}
    for lang in ("en", "zh"):
        part = [i for i in items if i["lang"] == lang]
        if part:
            metrics |= {f"{lang}_{k}": v for k, v in _scores(part).items() if k in {"precision", "recall"}}
    missed = [i for i in items if i["violation"] and not i["predicted"]]
    false = [i for i in items if i["predicted"] and not i["violation"]]
    lines = [
        f"{len(items)} replies ({sum(i['violation'] for i in items)} violating), policy {engine.version}.",
        "",
    ]
    for title, group in (("Missed violations", missed), ("False alarms", false)):
        lines.append(f"**{title}:** {len(group)}")
        lines += [f"- `{i['id']}` ({i['lang']}) {i['text'][:120]}" for i in group]
        lines.append("")
    return SuiteResult(
        suite="policy",
        metrics={k: round(v, 4) for k, v in metrics.items()},
        gates=[Gate(metric="recall", minimum=0.98), Gate(metric="precision", minimum=0.9)],
        items=items,
        extra={"policy_version": engine.version, "dataset": str(path)},
        report_md="\n".join(lines),
    )
