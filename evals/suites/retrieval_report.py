"""The retrieval suite's chart and Markdown section.

Only figures are written about the held-out half; questions, ids and hits are the dev half's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from finagent.settings import Settings


def chart(
    out_dir: Path,
    by_language: dict[str, dict[str, float]],
    dev: list[dict[str, Any]],
    settings: Settings,
    gate: float,
) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    langs = list(by_language)
    width = 0.27
    for n, metric in enumerate(("recall@5", "mrr", "ndcg@10")):
        left.bar(
            [x + n * width for x in range(len(langs))],
            [by_language[lang][metric] for lang in langs],
            width,
            label=metric,
        )
    left.set_xticks([x + width for x in range(len(langs))], langs)
    left.set_ylim(0, 1.2)  # head-room above the bars for the legend
    left.axhline(gate, color="grey", linestyle=":", linewidth=1, label=f"dev gate {gate}")
    left.set_title("Retrieval quality by question language")
    left.legend(loc="upper center", ncol=4, fontsize="small", frameon=False)
    answerable = [i["top_relevance"] for i in dev if not i["unanswerable"]]
    unanswerable = [i["top_relevance"] for i in dev if i["unanswerable"]]
    bins = [x / 40 for x in range(41)]
    right.hist(answerable, bins=bins, alpha=0.6, label="answerable")
    right.hist(unanswerable, bins=bins, alpha=0.6, label="unanswerable")
    lines = {settings.kb_min_relevance: "KB_MIN_RELEVANCE"}
    if settings.kb_min_relevance_zh != settings.kb_min_relevance:
        lines[settings.kb_min_relevance_zh] = "KB_MIN_RELEVANCE_ZH"
    for value, name in lines.items():
        right.axvline(value, color="black", linestyle="--", linewidth=1, label=f"{name}={value}")
    right.set_title("Top-hit relevance (dev half)")
    right.set_xlabel("cosine similarity of the best hit")
    right.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    name = "retrieval.png"
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    return [name]


def report(
    by_language: dict[str, dict[str, float]],
    by_split: dict[str, dict[str, float]],
    threshold: dict[str, Any],
    dev_misses: list[dict[str, Any]],
    chunks: int,
    corpus: Path,
    questions: Path,
) -> str:
    lines = [
        f"Corpus `{corpus}` ({chunks} chunks), questions `{questions}`.",
        "",
        "| language | questions | recall@5 | mrr | ndcg@10 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for lang, v in by_language.items():
        lines.append(
            f"| {lang} | {int(v['questions'])} | {v['recall@5']:.3f} | {v['mrr']:.3f} | {v['ndcg@10']:.3f} |"
        )
    lines += [
        "",
        "By half (a hash of the question id). Changes are chosen on dev and only dev gates; the "
        "held-out half is reported as figures, never as questions.",
        "",
        "| half | questions | recall@5 | mrr | ndcg@10 | misses at 5 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for half, v in by_split.items():
        lines.append(
            f"| {half} | {int(v['questions'])} | {v['recall@5']:.3f} | {v['mrr']:.3f} | {v['ndcg@10']:.3f} "
            f"| {int(v['misses'])} |"
        )
    dev, heldout = by_split["dev"], by_split["heldout"]
    lines += [
        "",
        "**I don't know.** "
        f"{threshold['unanswerable_questions']} unanswerable questions; at KB_MIN_RELEVANCE="
        f"{threshold['configured_min_relevance']['en']} (KB_MIN_RELEVANCE_ZH="
        f"{threshold['configured_min_relevance']['zh']} for questions in Chinese) the agent refuses "
        f"{threshold.get('idk_refused_unanswerable', 'n/a')} of them and wrongly refuses "
        f"{threshold.get('idk_wrongly_refused_answerable', 'n/a')} of the answerable ones "
        f"(dev {dev.get('idk_refused_unanswerable', 'n/a')} / "
        f"{dev.get('idk_wrongly_refused_answerable', 'n/a')}, "
        f"held-out {heldout.get('idk_refused_unanswerable', 'n/a')} / "
        f"{heldout.get('idk_wrongly_refused_answerable', 'n/a')}). On the dev half the best separating "
        f"threshold is {threshold['best_separating_threshold']} (balanced accuracy "
        f"{threshold['best_balanced_accuracy']}; English {threshold['best_separating_threshold_en']}, "
        f"Chinese {threshold['best_separating_threshold_zh']}).",
    ]
    lines += ["", f"**Dev misses at 5** ({len(dev_misses)}):", ""]
    for item in dev_misses[:40]:
        top = ", ".join(h["doc_id"] for h in item["hits"][:5])
        question, gold = item["question"], item["gold_doc_ids"]
        lines.append(f"- `{item['id']}` {question!r}: gold {gold}, got [{top}]")
    lines += [
        "",
        f"**Held-out misses at 5:** {int(heldout['misses'])} (a count; the questions are not shown).",
    ]
    return "\n".join(lines)
