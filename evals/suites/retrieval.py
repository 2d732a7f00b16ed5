"""The retrieval suite: recall@5, MRR and nDCG@10 of the hybrid retriever on a question file.

It ingests the corpus into its own store under the output folder (never the app's store), so the
same suite runs unchanged on a bank's own documents: `--corpus DIR --questions FILE`.

Scoring follows the question file's rule that any gold id counts (a document and its translation
are equally good answers). The ranking scored is the list of hits the agent receives, with a hit
relevant when its document is gold; MRR and nDCG@10 use the rank of the first relevant hit, and the
ideal ranking has one relevant hit first. Unanswerable questions are left out of those metrics;
they measure the "I don't know" threshold instead.

The question file is split in two halves by a hash of each id. Changes are chosen on the dev half,
and only the dev half gates. The held-out half is reported as figures and a count of misses, never
as questions: its texts, ids and hits appear nowhere in results.json or report.md, so nobody tunes
on it by reading a report.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from evals.base import Gate, SuiteContext, SuiteResult
from evals.suites.retrieval_report import chart, report
from finagent.language import detect_language
from finagent.settings import PROJECT_ROOT, Settings
from knowledge.types import Hit

DEFAULT_QUESTIONS = PROJECT_ROOT / "evals" / "datasets" / "retrieval_questions.jsonl"
DEV_RECALL_GATE = 0.90  # a regression floor under the dev figure (docs/knowledge-base.md)


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
    items = [
        _score_question(q, retriever.search(q.question, k=10, audience=q.audience), settings)
        for q in ctx.progress(questions, desc="retrieval questions")
    ]

    answerable = [i for i in items if not i["unanswerable"]]
    metrics = _averages(answerable)
    by_language = {
        lang: _averages([i for i in answerable if i["language"] == lang])
        | {"questions": float(sum(1 for i in answerable if i["language"] == lang))}
        for lang in sorted({i["language"] for i in answerable})
    }
    for lang, values in by_language.items():
        metrics[f"recall@5_{lang}"] = values["recall@5"]
    by_split = {half: _half_figures([i for i in items if i["split"] == half], settings) for half in SPLITS}
    for half, figures in by_split.items():
        metrics |= {f"{m}_{half}": figures[m] for m in ("recall@5", "mrr", "ndcg@10")}
    metrics["heldout_misses"] = by_split["heldout"]["misses"]
    threshold = _threshold_report(items, settings)
    metrics.update({k: v for k, v in threshold.items() if k.startswith("idk_")})
    # From here on only the dev half is itemised: the tuning aids and everything with text in it.
    dev = [i for i in items if i["split"] == "dev"]
    threshold |= _separation_report(dev)
    dev_misses = [i for i in dev if not i["unanswerable"] and not i["recall@5"]]
    return SuiteResult(
        suite="retrieval",
        metrics=metrics,
        gates=[Gate(metric="recall@5_dev", minimum=DEV_RECALL_GATE)],
        items=dev,
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
        report_md=report(
            by_language, by_split, threshold, dev_misses, summary.chunks, corpus, questions_path
        ),
        charts=chart(ctx.out_dir, by_language, dev, settings, DEV_RECALL_GATE),
    )


SPLITS = ("dev", "heldout")


def _score_question(q: Question, hits: list[Hit], settings: Settings) -> dict[str, Any]:
    reply_language = detect_language(q.question)  # as the agent decides it: mixed questions count as zh
    rank = first_relevant_rank([h.doc_id for h in hits], set(q.gold_doc_ids))
    return {
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


def _averages(items: list[dict[str, Any]]) -> dict[str, float]:
    if not items:
        return {"recall@5": 0.0, "mrr": 0.0, "ndcg@10": 0.0}
    return {m: round(sum(i[m] for i in items) / len(items), 4) for m in ("recall@5", "mrr", "ndcg@10")}


def _half_figures(items: list[dict[str, Any]], settings: Settings) -> dict[str, float]:
    """One half as numbers only: what a report may say about the held-out half."""
    answerable = [i for i in items if not i["unanswerable"]]
    refusals = {k: v for k, v in _threshold_report(items, settings).items() if k.startswith("idk_")}
    return (
        _averages(answerable)
        | {
            "questions": float(len(answerable)),
            "misses": float(sum(1 for i in answerable if not i["recall@5"])),
            "unanswerable": float(len(items) - len(answerable)),
        }
        | refusals
    )


def _threshold_report(items: list[dict[str, Any]], settings: Settings) -> dict[str, Any]:
    """How often the configured thresholds (the agent's, per reply language) refuse, as figures."""
    report: dict[str, Any] = {
        "configured_min_relevance": {"en": settings.kb_min_relevance, "zh": settings.kb_min_relevance_zh},
        "unanswerable_questions": sum(1 for i in items if i["unanswerable"]),
    }
    refused = [i for i in items if i["top_relevance"] < i["min_relevance"]]
    unanswerable = sum(1 for i in items if i["unanswerable"])
    if unanswerable:
        report["idk_refused_unanswerable"] = round(sum(i["unanswerable"] for i in refused) / unanswerable, 4)
    if unanswerable < len(items):
        report["idk_wrongly_refused_answerable"] = round(
            sum(not i["unanswerable"] for i in refused) / (len(items) - unanswerable), 4
        )
    return report


def _separation_report(dev: list[dict[str, Any]]) -> dict[str, Any]:
    """The relevance cut that best separates answerable from unanswerable, on the dev half only:
    it is a tuning aid, so it must not see the half that checks the tuning."""
    report: dict[str, Any] = {
        "separation_half": "dev",
        "dev_unanswerable_top_relevance": sorted(i["top_relevance"] for i in dev if i["unanswerable"]),
    }
    for suffix, language in (("", None), ("_en", "en"), ("_zh", "zh")):
        chosen = [i for i in dev if language in (None, i["reply_language"])]
        answerable = [i["top_relevance"] for i in chosen if not i["unanswerable"]]
        unanswerable = [i["top_relevance"] for i in chosen if i["unanswerable"]]
        cut, accuracy = best_threshold(answerable, unanswerable)
        report[f"best_separating_threshold{suffix}"] = None if math.isnan(cut) else round(cut, 4)
        report[f"best_balanced_accuracy{suffix}"] = None if math.isnan(accuracy) else round(accuracy, 4)
    return report
