"""Hybrid retrieval: dense (Chroma) and BM25, fused by reciprocal rank.

Filters (audience, serving window, language) are applied inside each ranker before it ranks: a
customer-facing search never even scores an internal document, so no later step can leak one.
`Hit.relevance` is the cosine similarity between the query and the hit's own text; the agent
compares the best one with `kb_min_relevance` to decide whether to say "I don't know".

`search` is blocking (it embeds the query): call it through `asyncio.to_thread` from async code.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np

from finagent.settings import Settings
from knowledge.crosslingual import expand
from knowledge.embeddings import Embedder, get_embedder
from knowledge.ingest import day_number, today_utc
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.snapshot import load_or_rebuild, snapshot_dir
from knowledge.store import ChunkStore
from knowledge.types import Hit

RRF_K = 60  # the usual constant from Cormack et al.; dampens the weight of the very first ranks
MAX_CHUNKS_PER_DOC = 2  # keeps one long document from crowding every other source out of the top k


class RetrievalError(RuntimeError):
    pass


@dataclass
class SearchTimings:
    """Where the time of the last search went, in milliseconds (read by the benchmark)."""

    embed_ms: float = 0.0
    dense_ms: float = 0.0
    lexical_ms: float = 0.0
    fetch_ms: float = 0.0


class Retriever:
    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        snapshot: Path,
        *,
        candidates: int = 30,
        refresh_every_s: float = 5.0,
        today: Callable[[], date] = today_utc,
    ) -> None:
        if store.embedder not in (None, embedder.name):
            raise RetrievalError(
                f"the index was built with {store.embedder}, but the configured embedder is {embedder.name}; "
                "run `finagent ingest` again"
            )
        self._store = store
        self._embedder = embedder
        self._snapshot = snapshot
        self._candidates = candidates
        self._refresh_every_s = refresh_every_s
        self._today = today  # injectable so tests can move the calendar past an effective date
        self._lock = threading.Lock()
        self._lexical, self._generation = load_or_rebuild(store, snapshot)
        self._checked_at = time.monotonic()
        self.last_timings = SearchTimings()

    @classmethod
    def from_settings(cls, settings: Settings) -> Retriever:
        return cls(ChunkStore.from_settings(settings), get_embedder(settings), snapshot_dir(settings))

    def _current_lexical(self) -> LexicalIndex:
        # Another process may have ingested since we loaded; look at most every few seconds.
        if time.monotonic() - self._checked_at >= self._refresh_every_s:
            with self._lock:
                if time.monotonic() - self._checked_at >= self._refresh_every_s:
                    if self._store.generation != self._generation:
                        self._lexical, self._generation = load_or_rebuild(self._store, self._snapshot)
                    self._checked_at = time.monotonic()
        return self._lexical

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        audience: Literal["public", "internal"] = "public",
        language: str | None = None,
    ) -> list[Hit]:
        """The k best chunks for `query` that this audience may see, best first."""
        query = query.strip()
        if not query or k <= 0:
            return []
        timings = SearchTimings()
        include_internal = audience == "internal"
        today = day_number(self._today())
        n = max(self._candidates, 3 * k)

        t0 = time.perf_counter()
        vector = self._embedder.embed([query])[0]
        t1 = time.perf_counter()
        dense = self._store.query(vector, n, _where(include_internal, language, today))
        t2 = time.perf_counter()
        lexical = self._current_lexical()
        mask = lexical.allowed(include_internal=include_internal, language=language, today=today)
        tokens = expand(lexical.correct(tokenize(query)), lexical.lexicon)
        sparse = [(lexical.chunk_ids[row], score) for row, score in lexical.search(tokens, mask, n)]
        t3 = time.perf_counter()

        fused = _reciprocal_rank_fusion([[cid for cid, _ in dense], [cid for cid, _ in sparse]])
        ranked = sorted(fused.items(), key=lambda item: -item[1])
        chosen = _diversify(ranked, k)
        stored = self._store.fetch([cid for cid, _ in chosen])
        t4 = time.perf_counter()

        hits = []
        for chunk_id, score in chosen:
            chunk = stored.get(chunk_id)
            if chunk is None:  # deleted by a concurrent ingest between the two calls
                continue
            if not include_internal and chunk.metadata.get("audience") != "public":
                raise RetrievalError(f"internal chunk {chunk_id} reached a public search")  # never expected
            relevance = float(np.dot(vector, chunk.embedding)) if chunk.embedding is not None else 0.0
            hits.append(_hit(chunk_id, chunk.text, chunk.metadata, score, relevance))
        timings.embed_ms, timings.dense_ms = (t1 - t0) * 1e3, (t2 - t1) * 1e3
        timings.lexical_ms, timings.fetch_ms = (t3 - t2) * 1e3, (t4 - t3) * 1e3
        self.last_timings = timings
        return hits


def _where(include_internal: bool, language: str | None, today: int) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [
        {"effective_from": {"$lte": today}},
        {"effective_until": {"$gt": today}},
    ]
    if not include_internal:
        clauses.append({"audience": "public"})
    if language is not None:
        clauses.append({"language": language})
    return {"$and": clauses}


def _reciprocal_rank_fusion(rankings: list[list[str]]) -> dict[str, float]:
    fused: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] += 1.0 / (RRF_K + rank)
    return fused


def _diversify(ranked: list[tuple[str, float]], k: int) -> list[tuple[str, float]]:
    per_doc: dict[str, int] = defaultdict(int)
    chosen = []
    for chunk_id, score in ranked:
        doc_key = chunk_id.split("#", 1)[0]
        if per_doc[doc_key] >= MAX_CHUNKS_PER_DOC:
            continue
        per_doc[doc_key] += 1
        chosen.append((chunk_id, score))
        if len(chosen) == k:
            break
    return chosen


def _hit(chunk_id: str, text: str, meta: dict[str, Any], score: float, relevance: float) -> Hit:
    return Hit(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        title=str(meta["title"]),
        section=str(meta.get("section", "")),
        text=text,
        score=score,
        relevance=min(1.0, max(0.0, relevance)),
        audience="internal" if meta.get("audience") == "internal" else "public",
        language=str(meta.get("language", "en")),
        version=str(meta.get("version", "1")),
        effective_date=str(meta["effective_date"]) if meta.get("effective_date") else None,
        source=str(meta["source"]) if meta.get("source") else None,
    )
