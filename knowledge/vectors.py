"""The dense side of hybrid retrieval: chunk and passage vectors held in memory beside the BM25 snapshot.

Chroma stays the store of record, but asking it for neighbours with a metadata `where` clause
costs hundreds of milliseconds at 100k chunks (it resolves the filter in SQLite first). Here the
same vectors sit in float32 matrices whose chunk rows line up with the lexical index, so
audience, serving-window and language filters are one boolean mask applied BEFORE ranking.

Each chunk has one vector for its whole text and, when it holds several sentences, list items or
table rows, one vector per such passage (chunking.passages). A chunk's dense score fuses its
whole-text similarity with its best passage's (max-sim), so a question about one sentence of a
long chunk still finds it. The chunk mask is carried over to every passage row before ranking:

- when few vectors are admitted (or the index is small) the search is exact: matrix-vector
  products over the admitted chunk and passage rows only;
- otherwise an HNSW graph (faiss) over chunk and passage vectors together is searched with the
  mask as an ID selector, so rows the mask rejects are never returned, whatever their
  similarity; the chunks it proposes are then scored exactly.

The matrices and the graph are saved in the snapshot folder and loaded on open; neither is
rebuilt per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.embeddings import Vectors

VECTORS_FILE = "vectors.npy"
PASSAGES_FILE = "passages.npy"
OWNERS_FILE = "passage_owners.npy"
GRAPH_FILE = "hnsw.faiss"
# Below this many admitted vectors (chunks plus passages) an exact scan is fast (a few ms) and has
# no approximation error.
EXACT_BELOW = 20_000
# Weight of the whole-chunk similarity in a chunk's dense score; the rest goes to its best passage.
CHUNK_WEIGHT = 0.75
# The graph is asked for at least this many vectors per wanted chunk: several may belong to one.
GRAPH_OVERFETCH = 4
HNSW_NEIGHBOURS = 32  # M: graph degree; 32 keeps recall high for 384-d sentence vectors
# Measured at 100k chunks + 351k passages (bench filler, 100 questions), share of the exact top 30 /
# top 5 found, and dense time: build 64 / search 256: 0.91 / 0.95, 2.3 ms, graph built in 69 s;
# build 128 / search 384: 0.97 / 0.99, 3.4 ms, built in 152 s. Searches outnumber ingests.
HNSW_BUILD_EF = 128
HNSW_SEARCH_EF = 384


@dataclass
class DenseIndex:
    vectors: Vectors  # (rows, dim), L2-normalised, row i = chunk i of the lexical index
    passages: Vectors  # (passages, dim), L2-normalised, sorted by owner
    owners: npt.NDArray[np.int64]  # owners[j] = chunk row of passage j (non-decreasing)
    graph: Any = None  # faiss.IndexHNSWFlat over chunk rows then passage rows, at scale

    @classmethod
    def build(
        cls,
        vectors: npt.ArrayLike,
        passages: npt.ArrayLike | None = None,
        owners: npt.ArrayLike | None = None,
    ) -> DenseIndex:
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2:
            matrix = matrix.reshape(0, 0)
        dim = matrix.shape[1]
        owner_rows = np.asarray(owners if owners is not None else [], dtype=np.int64).reshape(-1)
        sub = (
            np.asarray(passages, dtype=np.float32).reshape(len(owner_rows), dim)
            if len(owner_rows)
            else np.zeros((0, dim), dtype=np.float32)
        )
        if len(sub) != len(owner_rows):
            raise ValueError(f"{len(sub)} passage vectors but {len(owner_rows)} owners")
        if len(owner_rows) and (owner_rows.min() < 0 or owner_rows.max() >= len(matrix)):
            raise ValueError("a passage points to a chunk row that does not exist")
        order = np.argsort(owner_rows, kind="stable")  # sorted owners let a chunk's passages be sliced
        index = cls(matrix, np.ascontiguousarray(sub[order]), owner_rows[order])
        if index.total >= EXACT_BELOW:
            index.graph = _build_graph(index._all_vectors())
        return index

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def total(self) -> int:
        """Chunk plus passage vectors."""
        return len(self) + len(self.owners)

    def _all_vectors(self) -> Vectors:
        return np.ascontiguousarray(np.concatenate([self.vectors, self.passages]))

    def save(self, folder: Path) -> None:
        np.save(folder / VECTORS_FILE, self.vectors, allow_pickle=False)
        np.save(folder / PASSAGES_FILE, self.passages, allow_pickle=False)
        np.save(folder / OWNERS_FILE, self.owners, allow_pickle=False)
        if self.graph is not None:
            _faiss().write_index(self.graph, str(folder / GRAPH_FILE))

    @classmethod
    def load(cls, folder: Path) -> DenseIndex:
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False)
        passages = np.load(folder / PASSAGES_FILE, allow_pickle=False)
        owners = np.load(folder / OWNERS_FILE, allow_pickle=False)
        if len(passages) != len(owners):
            raise ValueError(f"{folder}: {len(passages)} passage vectors but {len(owners)} owners")
        index = cls(vectors, passages, owners)
        if (folder / GRAPH_FILE).exists():
            index.graph = _faiss().read_index(str(folder / GRAPH_FILE))
            if index.graph.ntotal != index.total:
                raise ValueError(
                    f"{folder / GRAPH_FILE} has {index.graph.ntotal} rows, vectors have {index.total}"
                )
        elif index.total >= EXACT_BELOW:
            index.graph = _build_graph(index._all_vectors())  # saved without a graph: build it once
        return index

    @staticmethod
    def stack(rows: list[Vectors | None], where: str) -> Vectors:
        """Rows read back from the store as one matrix; a chunk stored without a vector is an error."""
        if any(row is None for row in rows):
            raise ValueError(f"{where}: a chunk in the store has no embedding; run `finagent ingest` again")
        return np.stack([r for r in rows if r is not None]) if rows else np.zeros((0, 0), dtype=np.float32)

    def similarity(self, rows: list[int], query: Vectors) -> list[float]:
        """Cosine of the query with each chunk's whole text."""
        return [float(s) for s in self.vectors[rows] @ query] if rows else []

    def search(self, query: Vectors, mask: npt.NDArray[np.bool_], n: int) -> list[tuple[int, float]]:
        """Top-n (chunk row, dense score) among the chunk rows `mask` admits, best first."""
        allowed = int(np.count_nonzero(mask))
        n = min(n, allowed)
        if n <= 0 or len(self) == 0:
            return []
        passage_mask = mask[self.owners]  # a passage is admitted exactly when its chunk is
        admitted_vectors = allowed + int(np.count_nonzero(passage_mask))
        if self.graph is None or admitted_vectors < EXACT_BELOW:
            return self._exact(query, mask, n, passage_mask)
        return self._approximate(query, mask, n, passage_mask)

    def _fuse(self, chunk_scores: Vectors, best_passage: Vectors) -> Vectors:
        # A chunk without passages is its own best passage.
        best = np.where(np.isneginf(best_passage), chunk_scores, best_passage)
        return (CHUNK_WEIGHT * chunk_scores + (1.0 - CHUNK_WEIGHT) * best).astype(np.float32)

    def _exact(
        self,
        query: Vectors,
        mask: npt.NDArray[np.bool_],
        n: int,
        passage_mask: npt.NDArray[np.bool_] | None = None,
    ) -> list[tuple[int, float]]:
        if passage_mask is None:
            passage_mask = mask[self.owners]
        rows = np.flatnonzero(mask)
        # Score the admitted rows only: a filtered-out row is never scored, let alone ranked.
        chunk_scores = self.vectors[rows] @ query if len(rows) < len(mask) else self.vectors @ query
        best = np.full(len(self), -np.inf, dtype=np.float32)
        picked = np.flatnonzero(passage_mask)
        if len(picked):
            owners = self.owners[picked]  # sorted, so each chunk's passages are one run
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            # Scoring every passage and keeping the admitted ones is cheaper than copying most rows
            # out first; rejected scores are dropped here, before anything is ranked.
            sims = (self.passages @ query)[picked] if 2 * len(picked) > len(self.owners) else None
            if sims is None:
                sims = self.passages[picked] @ query
            best[owners[starts]] = np.maximum.reduceat(sims, starts)
        scores = self._fuse(chunk_scores, best[rows])
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(rows[i]), float(scores[i])) for i in top]

    def _approximate(
        self, query: Vectors, mask: npt.NDArray[np.bool_], n: int, passage_mask: npt.NDArray[np.bool_]
    ) -> list[tuple[int, float]]:
        faiss = _faiss()
        admitted = np.concatenate([mask, passage_mask])
        selector = faiss.IDSelectorBitmap(np.packbits(admitted, bitorder="little"))
        # The graph search explores efSearch vectors anyway: take them all as candidates, so a chunk
        # whose fused score wins is rarely missed because neither of its vectors was in the top n.
        want = max(HNSW_SEARCH_EF, n * GRAPH_OVERFETCH)
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=want)
        _, found = self.graph.search(query.reshape(1, -1).astype(np.float32), want, params=params)
        ids = found[0][found[0] >= 0]
        is_passage = ids >= len(self)
        owner = ids.copy()
        owner[is_passage] = self.owners[ids[is_passage] - len(self)]
        candidates = np.unique(owner)
        # The selector already excluded them; this is the belt to its braces.
        candidates = candidates[mask[candidates]]
        return self._rescore(query, candidates)[:n]

    def _rescore(self, query: Vectors, rows: npt.NDArray[np.int64]) -> list[tuple[int, float]]:
        """Exact fused scores of a few candidate chunks, best first."""
        chunk_scores = self.vectors[rows] @ query
        best = np.full(len(rows), -np.inf, dtype=np.float32)
        starts = np.searchsorted(self.owners, rows, side="left")
        lengths = np.searchsorted(self.owners, rows, side="right") - starts
        if lengths.sum():
            # The passage rows of every candidate, in one gather (passages are sorted by owner).
            offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            scores = self.passages[np.repeat(starts, lengths) + offsets] @ query
            has = lengths > 0
            best[has] = np.maximum.reduceat(scores, (np.cumsum(lengths) - lengths)[has])
        scores = self._fuse(chunk_scores, best)
        order = np.argsort(-scores, kind="stable")
        return [(int(rows[i]), float(scores[i])) for i in order]


def _faiss() -> Any:
    # Imported on first use (it loads its own BLAS); typed as Any because its SWIG stubs are wrong.
    import faiss

    return faiss


def _build_graph(vectors: Vectors) -> Any:
    faiss = _faiss()
    graph = faiss.IndexHNSWFlat(int(vectors.shape[1]), HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_BUILD_EF
    graph.add(vectors)
    return graph
