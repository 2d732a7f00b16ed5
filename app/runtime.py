"""Wires the real parts together once per process: database, checkpointer, graph, model, retriever."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agents.deps import Deps, GroundingCheck, Retriever
from agents.router import EmbeddingRouter
from finagent.clock import Clock
from finagent.db import make_engine, make_sessionmaker, upgrade
from finagent.llm import ChatModel, InstrumentedChatModel, chat_model_from_settings
from finagent.metrics import RETRIEVAL_SECONDS
from finagent.settings import Settings
from finagent.telemetry import GraphSpans, span
from graphs.checkpoint import open_checkpointer
from graphs.main import build_graph

log = logging.getLogger(__name__)


@dataclass
class AppRuntime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    graph: CompiledStateGraph[Any, Any, Any, Any]
    deps: Deps
    # Weak values: a conversation's lock lives only while someone holds or waits for it.
    _locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def clock(self) -> Clock:
        """The work queue's time (SLA, expiry); tests move it."""
        return self.deps.clock

    def lock(self, key: str) -> asyncio.Lock:
        """Serialises runs on one conversation or one action within this process."""
        return self._locks.setdefault(key, asyncio.Lock())

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """A task that outlives its HTTP request; shutdown waits for it."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout_s: float = 60.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)


class TracedRetriever:
    """Any retriever with a span and a latency per search; other attributes (`available`) pass through."""

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)

    def search(
        self, query: str, *, k: int = 5, audience: Any = "public", language: str | None = None
    ) -> list[Any]:
        started, outcome = time.perf_counter(), "error"
        with span(
            "retrieval search", **{"finagent.retrieval.k": k, "finagent.retrieval.audience": str(audience)}
        ) as current:
            try:
                hits = self.inner.search(query, k=k, audience=audience, language=language)
                current.set_attribute("finagent.retrieval.hits", len(hits))
                outcome = "ok"
                return hits
            finally:
                RETRIEVAL_SECONDS.labels(outcome).observe(time.perf_counter() - started)


def _default_retriever(settings: Settings) -> Retriever:
    from knowledge.retrieval import DeferredRetriever
    from knowledge.retrieval import Retriever as KbRetriever
    from knowledge.types import KnowledgeUnavailable

    retriever = DeferredRetriever(lambda: KbRetriever.from_settings(settings))
    try:
        retriever.open()  # load the index now rather than on the first question
    except KnowledgeUnavailable as exc:
        log.warning("knowledge base unavailable at start (questions get a hand-off until it is): %s", exc)
    return retriever


def _default_router(settings: Settings) -> EmbeddingRouter:
    from agents.catalogue import load_catalogue, load_or_train
    from knowledge.embeddings import get_embedder

    embedder = get_embedder(settings)

    def embed(texts: Sequence[str]) -> np.ndarray:
        return embedder.embed(list(texts))

    embedder_id = f"{settings.embedding_base_url or settings.embedding_runtime}:{settings.embedding_model}"
    topics = load_or_train(embed, embedder_id, settings.cache_dir)  # trained once, then cached
    return EmbeddingRouter(embed, topics=topics, catalogue=load_catalogue())


def _default_grounding() -> GroundingCheck:
    from knowledge.grounding import check_grounding

    return check_grounding


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    llm: ChatModel | None = None,
    retriever: Retriever | None = None,
    router: EmbeddingRouter | None = None,
    grounding: GroundingCheck | None = None,
) -> AsyncIterator[AppRuntime]:
    """Everything not passed in is built from settings; unit tests pass a scripted model (and a small
    retriever, so that they do not depend on the index)."""
    await asyncio.to_thread(upgrade, settings)
    engine = make_engine(settings.database)
    sessions = make_sessionmaker(engine)
    if settings.seed_demo_data:
        from finagent.seed import seed_demo_data

        await seed_demo_data(sessions)
    if retriever is None:
        retriever = await asyncio.to_thread(_default_retriever, settings)
    if router is None:
        router = await asyncio.to_thread(_default_router, settings)
    deps = Deps(
        settings=settings,
        llm=InstrumentedChatModel(llm or chat_model_from_settings(settings)),
        retriever=TracedRetriever(retriever),
        router=router,
        sessions=sessions,
        check_grounding=grounding or _default_grounding(),
    )
    try:
        async with open_checkpointer(settings) as saver:
            # A span per graph node, agents' subgraph nodes included (finagent.telemetry).
            graph = build_graph(saver).with_config(callbacks=[GraphSpans()])
            rt = AppRuntime(settings=settings, engine=engine, sessions=sessions, graph=graph, deps=deps)
            try:
                yield rt
            finally:
                await rt.drain()  # let turns that outlived their request finish
    finally:
        await engine.dispose()
