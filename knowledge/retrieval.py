"""Hybrid retrieval: dense vectors and BM25, fused by reciprocal rank.

Both rankers run in memory on the search snapshot (see snapshot.py): chunk vectors and BM25 share
one row order, so audience, serving-window and language filters are a single boolean mask that
each ranker applies before it ranks. A customer-facing search never even scores an internal
chunk, so no later step can leak one. Chroma is asked only for the text and metadata of the few
chunks returned.

A question with Chinese in it is glossed in English through a banking glossary and CC-CEDICT
(glossary.py): the gloss is what gets embedded (the bundled model reads English only) and its
words join the BM25 query next to the Chinese ones, so English-only documents can answer Chinese
questions.

`Hit.relevance` is the cosine similarity between the (glossed) query and the hit's own text, or
that of the best admitted chunk of its translations when higher (a Chinese page is as relevant
as its English original, which the English-only model can compare). The agent compares the best
one with `Settings.min_relevance(language)` to decide whether to say "I don't know".

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
import numpy.typing as npt

from finagent.settings import Settings
from knowledge.crosslingual import expand
from knowledge.embeddings import Embedder, Vectors, get_embedder
from knowledge.glossary import Glossary, bank_terms, cedict, english_stems
from knowledge.ingest import day_number, today_utc
from knowledge.lexical import LexicalIndex, has_cjk, tokenize
from knowledge.snapshot import Snapshot, load_or_rebuild, snapshot_dir
from knowledge.store import CHUNK_SCHEMA, ChunkStore
from knowledge.types import Hit, KnowledgeUnavailable

RRF_K = 60  # the usual constant from Cormack et al.; dampens the weight of the very first ranks
DEEP_POOL_FACTOR = 4  # the second, deeper pool: when the first holds fewer documents than asked for
MAX_CHUNKS_PER_DOC = 2  # a second passage of a document only after every other source had its turn


class RetrievalError(RuntimeError):
    pass


@dataclass
class SearchTimings:
    """Where the time of the last search went, in milliseconds (read by the benchmark)."""

    query_ms: float = 0.0  # tokenising, spelling correction, Chinese gloss
    embed_ms: float = 0.0
    dense_ms: float = 0.0
    lexical_ms: float = 0.0
    fetch_ms: float = 0.0


class _Loaded:
    """One snapshot with what is derived from it, swapped as a whole when the index changes."""

    def __init__(self, snapshot: Snapshot, generation: str, terms: dict[str, list[str]]) -> None:
        self.snapshot = snapshot
        self.generation = generation
        vocabulary = snapshot.lexical.vocabulary
        self.glossary = Glossary(cedict(), vocabulary.__contains__, tokenize, terms)
        rows_by_work: dict[str, list[int]] = defaultdict(list)
        for row, work in enumerate(snapshot.lexical.work):
            rows_by_work[str(work)].append(row)
        self.rows_by_work = {work: np.asarray(rows) for work, rows in rows_by_work.items()}
        self.is_word = english_stems().__contains__  # typo correction leaves real words alone

    def relevance(self, row: int, own: float, query: Vectors, mask: npt.NDArray[np.bool_]) -> float:
        """A passage answers as well as its original: the best of its own cosine and that of the
        admitted chunks of its translations (an English-only model cannot compare a Chinese page)."""
        lexical = self.snapshot.lexical
        rows = self.rows_by_work.get(str(lexical.work[row]))
        if rows is None:
            return own
        others = rows[(lexical.language[rows] != lexical.language[row]) & mask[rows]]
        return max([own, *self.snapshot.dense.similarity(others.tolist(), query)])


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
        glossary_file: Path | None = None,
    ) -> None:
        if store.embedder not in (None, embedder.name):
            raise RetrievalError(
                f"the index was built with {store.embedder}, but the configured embedder is {embedder.name}; "
                "run `finagent ingest` again"
            )
        if store.embedder is not None and store.schema < CHUNK_SCHEMA:
            # Its chunks have no product type: every hit would read "general", and the answers
            # citing a fund or a loan would go out without their required disclosures.
            raise RetrievalError(
                "the index was built before documents carried a product type; run `finagent ingest` again"
            )
        self._store = store
        self._embedder = embedder
        self._snapshot_dir = snapshot
        self._candidates = candidates
        self._refresh_every_s = refresh_every_s
        self._today = today  # injectable so tests can move the calendar past an effective date
        self._terms = bank_terms(glossary_file)
        self._lock = threading.Lock()
        self._loaded = _Loaded(*load_or_rebuild(store, snapshot), self._terms)
        self._checked_at = time.monotonic()
        self.last_timings = SearchTimings()

    @classmethod
    def from_settings(cls, settings: Settings) -> Retriever:
        return cls(
            ChunkStore.from_settings(settings),
            get_embedder(settings),
            snapshot_dir(settings),
            glossary_file=settings.kb_glossary_file,
        )

    def _current(self) -> _Loaded:
        # Another process may have ingested since we loaded; look at most every few seconds.
        if time.monotonic() - self._checked_at >= self._refresh_every_s:
            with self._lock:
                if time.monotonic() - self._checked_at >= self._refresh_every_s:
                    self._checked_at = time.monotonic()  # an unreachable store is asked again later
                    if self._store.generation != self._loaded.generation:
                        self._loaded = _Loaded(*load_or_rebuild(self._store, self._snapshot_dir), self._terms)
        return self._loaded

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
        loaded = self._current()
        lexical, dense = loaded.snapshot.lexical, loaded.snapshot.dense

        t0 = time.perf_counter()
        mask = lexical.allowed(
            include_internal=include_internal, language=language, today=day_number(self._today())
        )
        tokens = expand(lexical.correct(tokenize(query), loaded.is_word), lexical.lexicon)
        embedded_text = query
        if has_cjk(query):
            gloss = loaded.glossary.gloss(query)
            if gloss:
                embedded_text = gloss
                tokens += [
                    t
                    for t in dict.fromkeys(lexical.correct(tokenize(gloss), loaded.is_word))
                    if t not in tokens
                ]
        t1 = time.perf_counter()
        vector = self._embedder.embed([embedded_text])[0]  # the only model call of a search
        t2 = time.perf_counter()
        preferred = "zh" if has_cjk(query) else "en"

        def work_of(row: int) -> str:
            return str(lexical.work[row])

        # Each ranker contributes a fixed depth, whatever k is: with a depth that grew with k, the
        # fused ranks moved and the first 10 of 20 hits were not the 10 hits. Only when that pool
        # holds fewer documents than k is a deeper pool (of fixed depth too) appended after it, so
        # the first k hits never depend on k (see docs/knowledge-base.md).
        ranked, dense_s, lexical_s = self._ranking(loaded, vector, tokens, mask, preferred, self._candidates)
        if len({work_of(row) for _, row, _ in ranked}) < k:
            deeper, more_dense_s, more_lexical_s = self._ranking(
                loaded, vector, tokens, mask, preferred, DEEP_POOL_FACTOR * self._candidates
            )
            seen = {row for _, row, _ in ranked}
            ranked += [item for item in deeper if item[1] not in seen]
            dense_s, lexical_s = dense_s + more_dense_s, lexical_s + more_lexical_s
        t3 = time.perf_counter()
        chosen = _diversify(ranked, k, work_of)
        stored = self._store.fetch([cid for cid, _, _ in chosen], with_embeddings=False)
        relevances = [
            loaded.relevance(row, own, vector, mask)
            for (_, row, _), own in zip(
                chosen, dense.similarity([row for _, row, _ in chosen], vector), strict=True
            )
        ]
        t4 = time.perf_counter()

        hits = []
        for (chunk_id, _, score), relevance in zip(chosen, relevances, strict=True):
            chunk = stored.get(chunk_id)
            if chunk is None:  # deleted by a concurrent ingest between the two calls
                continue
            if not include_internal and chunk.metadata.get("audience") != "public":
                raise RetrievalError(f"internal chunk {chunk_id} reached a public search")  # never expected
            hits.append(_hit(chunk_id, chunk.text, chunk.metadata, score, relevance))
        timings.query_ms, timings.embed_ms = (t1 - t0) * 1e3, (t2 - t1) * 1e3
        timings.dense_ms, timings.lexical_ms = dense_s * 1e3, lexical_s * 1e3
        timings.fetch_ms = (t4 - t3) * 1e3
        self.last_timings = timings
        return hits

    @staticmethod
    def _ranking(
        loaded: _Loaded,
        vector: Vectors,
        tokens: list[str],
        mask: npt.NDArray[np.bool_],
        preferred: str,
        depth: int,
    ) -> tuple[list[tuple[str, int, float]], float, float]:
        """(chunk id, row, fused score) best first, from the top `depth` of each ranker, and the
        seconds the dense and BM25 rankers took."""
        lexical, dense = loaded.snapshot.lexical, loaded.snapshot.dense
        t0 = time.perf_counter()
        dense_rows = [row for row, _ in dense.search(vector, mask, depth)]
        t1 = time.perf_counter()
        sparse_rows = [row for row, _ in lexical.search(tokens, mask, depth)]
        t2 = time.perf_counter()
        fused = _prefer_language(_reciprocal_rank_fusion([dense_rows, sparse_rows]), lexical, preferred)
        # On equal scores the passage in the customer's language goes first.
        order = sorted(fused.items(), key=lambda item: (-item[1], lexical.language[item[0]] != preferred))
        return [(lexical.chunk_ids[row], row, score) for row, score in order], t1 - t0, t2 - t1


class DeferredRetriever:
    """A Retriever opened on first use, and again after a failed open.

    The server then starts, and actions work, while the knowledge base cannot be opened (a Chroma
    server that is down); until it can, every search raises `KnowledgeUnavailable`, which the
    agent turns into "I can't look this up right now".
    """

    def __init__(self, open_retriever: Callable[[], Retriever]) -> None:
        self._open_retriever = open_retriever
        self._inner: Retriever | None = None
        self._lock = threading.Lock()

    def open(self) -> Retriever:
        with self._lock:
            if self._inner is None:
                self._inner = self._open_retriever()
            return self._inner

    def available(self) -> bool:
        """Whether the knowledge base is open, or opens now (for the health check)."""
        try:
            self.open()
        except KnowledgeUnavailable:
            return False
        return True

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        audience: Literal["public", "internal"] = "public",
        language: str | None = None,
    ) -> list[Hit]:
        return self.open().search(query, k=k, audience=audience, language=language)


def _reciprocal_rank_fusion(rankings: list[list[int]]) -> dict[int, float]:
    fused: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] += 1.0 / (RRF_K + rank)
    return fused


def _prefer_language(fused: dict[int, float], lexical: LexicalIndex, language: str) -> dict[int, float]:
    """A document and its translation answer equally well: serve the one in the customer's language.

    Passages in the question's language take the best score their work (original plus
    translations) reached, so "我的卡丢了" gets the Chinese page first even when the English
    original matched the glossed question better, and an English question gets the original.
    """
    best: dict[str, float] = defaultdict(float)
    for row, score in fused.items():
        work = str(lexical.work[row])
        best[work] = max(best[work], score)
    return {
        row: max(score, best[str(lexical.work[row])]) if lexical.language[row] == language else score
        for row, score in fused.items()
    }


def _diversify(
    ranked: list[tuple[str, int, float]], k: int, work_of: Callable[[int], str]
) -> list[tuple[str, int, float]]:
    """The best passage of each of the k best documents first, then second passages if room is left.

    A customer's question is answered by a document, and the agent is better served by five
    candidate sources than by two passages each of the same two; a second passage of a document
    is added only when fewer than k documents matched at all. A document and its translations
    count as one (`work_of` a row): the page in the customer's language, ranked first by the
    language preference, stands for the set.
    """
    chosen: list[tuple[str, int, float]] = []
    per_work: dict[str, int] = defaultdict(int)
    for limit in range(1, MAX_CHUNKS_PER_DOC + 1):
        for item in ranked:
            if len(chosen) == k:
                return chosen
            work = work_of(item[1])
            if per_work[work] >= limit or item in chosen:
                continue
            per_work[work] += 1
            chosen.append(item)
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
        product_type=str(meta.get("product_type") or "general"),
    )
