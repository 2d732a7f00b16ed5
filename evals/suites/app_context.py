"""What the end-to-end suites hand the app besides the model: the router and a knowledge base.

The knowledge base is the configured corpus ingested into the suite's own folder (never the app's
store), plus any documents the suite plants (the red-team suite plants a poisoned public document and
an internal one with a canary). Unit tests pass a small retriever and the router through the options.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from evals.base import SuiteContext


def build_app_parts(ctx: SuiteContext, planted: dict[str, str] | None = None) -> tuple[Any, Any]:
    """(retriever, router) for the harness. ``planted``: file name -> document text, added to a copy
    of the corpus before it is indexed."""
    retriever = ctx.options.get("retriever")
    router = ctx.options.get("router")
    if router is None:
        from agents.router import EmbeddingRouter
        from knowledge.embeddings import get_embedder

        embedder = get_embedder(ctx.settings)
        router = EmbeddingRouter(lambda texts: embedder.embed(list(texts)))
    if retriever is None:
        retriever = _knowledge_base(ctx, planted or {})
    return retriever, router


def _knowledge_base(ctx: SuiteContext, planted: dict[str, str]) -> Any:
    from knowledge.ingest import ingest
    from knowledge.retrieval import Retriever

    corpus = Path(ctx.options.get("corpus") or ctx.settings.kb_corpus_dir)
    work = ctx.out_dir / "kb"
    copy = work / "corpus"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(corpus, copy)
    for name, text in planted.items():
        (copy / "planted").mkdir(exist_ok=True)
        (copy / "planted" / name).write_text(text, encoding="utf-8")
    settings = ctx.settings.model_copy(
        update={"data_dir": work / "store", "chroma_url": None, "chroma_collection": "eval-kb"}
    )
    ingest(copy, settings, progress=False)
    return Retriever.from_settings(settings)
