"""The retrieval suite: recall@5, MRR and nDCG@10 of the hybrid retriever on a question file.

It ingests the corpus into its own store under the output folder (never the app's store), so the
same suite runs unchanged on a bank's own documents: `--corpus DIR --questions FILE`.

Scoring follows the question file's rule that any gold id counts (a document and its translation
are equally good answers). The ranking scored is the list of hits the agent receives, with a hit
relevant when its document is gold; MRR and nDCG@10 use the rank of the first relevant hit, and the
ideal ranking has one relevant hit first. Unanswerable questions are left out of those metrics;
they measure the "I don't know" threshold instead.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from evals.base import Gate, SuiteContext, SuiteResult
from finagent.language import detect_language
from finagent.settings import PROJECT_ROOT, Settings

DEFAULT_QUESTIONS = PROJECT_ROOT / "evals" / "datasets" / "retrieval_questions.jsonl"
RECALL_GATE = 0.95


class Question(BaseModel):
    id: str
    question: str = Field(min_length=1)
    gold_doc_ids: list[str] = Field(default_factory=list)
    language: str = "en"
    unanswerable: bool = False
    audience: Literal["public", "internal"] = "public"


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = Question.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
        if not question.gold_doc_ids and not question.unanswerable:
            raise ValueError(f"{path}:{number}: no gold_doc_ids and not marked unanswerable")
        questions.append(question)
    if not questions:
        raise ValueError(f"{path} has no questions")
    return questions


def split_of(question_id: str) -> Literal["dev", "heldout"]:
    """The half a question belongs to: changes are chosen on dev, then scored once on held-out.

    A hash of the id, so the split is the same on every machine and for any question file, and a
    new question lands in a half without moving the others.
    """
    digest = hashlib.sha256(f"finagent-split:{question_id}".encode()).hexdigest()
    return "dev" if int(digest, 16) % 2 == 0 else "heldout"


def first_relevant_rank(ranked_doc_ids: list[str], gold: set[str]) -> int | None:
    return next((rank for rank, doc in enumerate(ranked_doc_ids, start=1) if doc in gold), None)


def score(rank: int | None) -> dict[str, float]:
    return {
        "recall@5": 1.0 if rank is not None and rank <= 5 else 0.0,
        "mrr": 1.0 / rank if rank is not None and rank <= 10 else 0.0,
        "ndcg@10": 1.0 / math.log2(rank + 1) if rank is not None and rank <= 10 else 0.0,
    }


def best_threshold(answerable: list[float], unanswerable: list[float]) -> tuple[float, float]:
    """The relevance cut that best separates the two groups, by balanced accuracy."""
    if not answerable or not unanswerable:
        return float("nan"), float("nan")
    best_cut, best_acc = 0.0, -1.0
    for cut in sorted(set(answerable) | set(unanswerable)):
        kept = sum(1 for r in answerable if r >= cut) / len(answerable)
        refused = sum(1 for r in unanswerable if r < cut) / len(unanswerable)
        if (kept + refused) / 2 > best_acc:
            best_cut, best_acc = cut, (kept + refused) / 2
    return best_cut, best_acc


def run(ctx: SuiteContext) -> SuiteResult:
    from knowledge.embeddings import get_embedder
    from knowledge.ingest import ingest
    from knowledge.retrieval import Retriever
    from knowledge.snapshot import snapshot_dir
    from knowledge.store import ChunkStore

    corpus = Path(ctx.options.get("corpus") or ctx.settings.kb_corpus_dir)
    questions_path = Path(ctx.options.get("questions") or DEFAULT_QUESTIONS)
    questions = load_questions(questions_path)
    settings = ctx.settings.model_copy(
        update={"data_dir": ctx.out_dir / "store", "chroma_url": None, "chroma_collection": "eval-retrieval"}
    )
    summary = ingest(corpus, settings, progress=ctx.show_progress)
    embedder = get_embedder(settings)
    retriever = Retriever(
        ChunkStore.from_settings(settings),
        embedder,
        snapshot_dir(settings),
        glossary_file=settings.kb_glossary_file,
    )

    items: list[dict[str, Any]] = []
    for q in ctx.progress(questions, desc="retrieval questions"):
        hits = retriever.search(q.question, k=10, audience=q.audience)
        reply_language = detect_language(q.question)  # as the agent decides it: mixed questions count as zh
        ranked = [h.doc_id for h in hits]
        rank = first_relevant_rank(ranked, set(q.gold_doc_ids))
        items.append(
            {
                "id": q.id,
                "split": split_of(q.id),
                "question": q.question,
                "language": q.language,
                "unanswerable": q.unanswerable,
                "gold_doc_ids": q.gold_doc_ids,
                "first_relevant_rank": rank,
                # What the agent compares with its threshold: the best of the 5 hits it asks for.
                "top_relevance": round(max((h.relevance for h in hits[:5]), default=0.0), 4),
                "reply_language": reply_language,
                "min_relevance": settings.min_relevance(reply_language),
                **({} if q.unanswerable else score(rank)),
                "hits": [
                    {
                        "doc_id": h.doc_id,
                        "section": h.section,
                        "score": round(h.score, 5),
                        "relevance": round(h.relevance, 4),
                    }
                    for h in hits
                ],
            }
        )

    answerable = [i for i in items if not i["unanswerable"]]
    metrics = _averages(answerable)
    by_language = {
        lang: _averages([i for i in answerable if i["language"] == lang])
        | {"questions": float(sum(1 for i in answerable if i["language"] == lang))}
        for lang in sorted({i["language"] for i in answerable})
    }
    for lang, values in by_language.items():
        metrics[f"recall@5_{lang}"] = values["recall@5"]
    by_split = {
        half: _averages([i for i in answerable if i["split"] == half])
        | {"questions": float(sum(1 for i in answerable if i["split"] == half))}
        for half in ("dev", "heldout")
    }

    threshold = _threshold_report(items, settings)
    metrics.update({k: v for k, v in threshold.items() if k.startswith("idk_")})
    charts = _chart(ctx.out_dir, by_language, items, settings)
    misses = [i for i in answerable if not i["recall@5"]]
    return SuiteResult(
        suite="retrieval",
        metrics=metrics,
        gates=[Gate(metric="recall@5", minimum=RECALL_GATE)],
        items=items,
        extra={
            "corpus": str(corpus),
            "questions_file": str(questions_path),
            "questions": len(items),
            "answerable": len(answerable),
            "embedder": embedder.name,
            "ingest": {
                "documents": summary.added + summary.updated + summary.unchanged,
                "chunks": summary.chunks,
                "superseded": summary.superseded,
                "scheduled": summary.scheduled,
                "errors": summary.errors,
            },
            "by_language": by_language,
            "by_split": by_split,
            "unanswerable_threshold": threshold,
        },
        report_md=_report(by_language, by_split, threshold, misses, summary.chunks, corpus, questions_path),
        charts=charts,
    )


def _averages(items: list[dict[str, Any]]) -> dict[str, float]:
    if not items:
        return {"recall@5": 0.0, "mrr": 0.0, "ndcg@10": 0.0}
    return {m: round(sum(i[m] for i in items) / len(items), 4) for m in ("recall@5", "mrr", "ndcg@10")}


def _threshold_report(items: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """How well the configured thresholds (the agent's, per question language) tell the two apart."""
    report: dict[str, Any] = {
        "configured_min_relevance": {"en": settings.kb_min_relevance, "zh": settings.kb_min_relevance_zh},
        "unanswerable_questions": sum(1 for i in items if i["unanswerable"]),
    }
    for suffix, language in (("", None), ("_en", "en"), ("_zh", "zh")):
        chosen = [i for i in items if language in (None, i["reply_language"])]
        answerable = [i["top_relevance"] for i in chosen if not i["unanswerable"]]
        unanswerable = [i["top_relevance"] for i in chosen if i["unanswerable"]]
        cut, accuracy = best_threshold(answerable, unanswerable)
        report[f"best_separating_threshold{suffix}"] = None if math.isnan(cut) else round(cut, 4)
        report[f"best_balanced_accuracy{suffix}"] = None if math.isnan(accuracy) else round(accuracy, 4)
    refused = [i for i in items if i["top_relevance"] < i["min_relevance"]]
    unanswerable_items = [i for i in items if i["unanswerable"]]
    if unanswerable_items:
        report["idk_refused_unanswerable"] = round(
            sum(i["unanswerable"] for i in refused) / len(unanswerable_items), 4
        )
        report["unanswerable_top_relevance"] = sorted(i["top_relevance"] for i in unanswerable_items)
    if len(unanswerable_items) < len(items):
        report["idk_wrongly_refused_answerable"] = round(
            sum(not i["unanswerable"] for i in refused) / (len(items) - len(unanswerable_items)), 4
        )
    return report


def _chart(
    out_dir: Path, by_language: dict[str, dict[str, float]], items: list[dict[str, Any]], settings: Settings
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
    left.axhline(RECALL_GATE, color="grey", linestyle=":", linewidth=1, label=f"gate {RECALL_GATE}")
    left.set_title("Retrieval quality by question language")
    left.legend(loc="upper center", ncol=4, fontsize="small", frameon=False)
    answerable = [i["top_relevance"] for i in items if not i["unanswerable"]]
    unanswerable = [i["top_relevance"] for i in items if i["unanswerable"]]
    bins = [x / 40 for x in range(41)]
    right.hist(answerable, bins=bins, alpha=0.6, label="answerable")
    right.hist(unanswerable, bins=bins, alpha=0.6, label="unanswerable")
    lines = {settings.kb_min_relevance: "KB_MIN_RELEVANCE"}
    if settings.kb_min_relevance_zh != settings.kb_min_relevance:
        lines[settings.kb_min_relevance_zh] = "KB_MIN_RELEVANCE_ZH"
    for value, name in lines.items():
        right.axvline(value, color="black", linestyle="--", linewidth=1, label=f"{name}={value}")
    right.set_title("Top-hit relevance")
    right.set_xlabel("cosine similarity of the best hit")
    right.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    name = "retrieval.png"
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    return [name]


def _report(
    by_language: dict[str, dict[str, float]],
    by_split: dict[str, dict[str, float]],
    threshold: dict[str, Any],
    misses: list[dict[str, Any]],
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
        "By half (a hash of the question id): choose changes on dev, then score held-out once.",
        "",
        "| half | questions | recall@5 | mrr | ndcg@10 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for half, v in by_split.items():
        lines.append(
            f"| {half} | {int(v['questions'])} | {v['recall@5']:.3f} | {v['mrr']:.3f} | {v['ndcg@10']:.3f} |"
        )
    lines += [
        "",
        "**I don't know.** "
        f"{threshold['unanswerable_questions']} unanswerable questions; at KB_MIN_RELEVANCE="
        f"{threshold['configured_min_relevance']['en']} (KB_MIN_RELEVANCE_ZH="
        f"{threshold['configured_min_relevance']['zh']} for questions in Chinese) the agent refuses "
        f"{threshold.get('idk_refused_unanswerable', 'n/a')} of them and wrongly refuses "
        f"{threshold.get('idk_wrongly_refused_answerable', 'n/a')} of the answerable ones. The best "
        f"separating threshold on this set is {threshold['best_separating_threshold']} "
        f"(balanced accuracy {threshold['best_balanced_accuracy']}; English "
        f"{threshold['best_separating_threshold_en']}, Chinese {threshold['best_separating_threshold_zh']}).",
    ]
    if misses:
        lines += ["", f"**Misses at 5** ({len(misses)}):", ""]
        for item in misses[:40]:
            top = ", ".join(h["doc_id"] for h in item["hits"][:5])
            question, gold = item["question"], item["gold_doc_ids"]
            lines.append(f"- `{item['id']}` ({item['split']}) {question!r}: gold {gold}, got [{top}]")
    return "\n".join(lines)
