"""The dense side of hybrid retrieval: chunk vectors held in memory beside the BM25 snapshot.

Chroma stays the store of record, but asking it for neighbours with a metadata `where` clause
costs hundreds of milliseconds at 100k chunks (it resolves the filter in SQLite first). Here the
same vectors sit in a float32 matrix whose rows line up with the lexical index, so audience,
serving-window and language filters are one boolean mask applied BEFORE ranking:

- a mask that admits few rows (or a small index) is searched exactly: a matrix-vector product
  over the admitted rows only;
- otherwise an HNSW graph (faiss) is searched with the mask as an ID selector, so rows the mask
  rejects are never returned, whatever their similarity.

The matrix and the graph are saved in the snapshot folder and loaded on open; neither is rebuilt
per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.embeddings import Vectors

VECTORS_FILE = "vectors.npy"
GRAPH_FILE = "hnsw.faiss"
# Below this many admitted rows an exact scan is fast (a few ms) and has no approximation error.
EXACT_BELOW = 20_000
HNSW_NEIGHBOURS = 32  # M: graph degree; 32 keeps recall high for 384-d sentence vectors
HNSW_BUILD_EF = 64
HNSW_SEARCH_EF = 256  # candidate list per search; 128 found 87% of the exact top 30 at 100k, 256 more


@dataclass
class DenseIndex:
    vectors: Vectors  # (rows, dim), L2-normalised, row i = chunk i of the lexical index
    graph: Any = None  # faiss.IndexHNSWFlat over the same rows, present when rows >= EXACT_BELOW

    @classmethod
    def build(cls, vectors: npt.ArrayLike) -> DenseIndex:
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2:
            matrix = matrix.reshape(0, 0)
        return cls(matrix, _build_graph(matrix) if len(matrix) >= EXACT_BELOW else None)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def save(self, folder: Path) -> None:
        np.save(folder / VECTORS_FILE, self.vectors, allow_pickle=False)
        if self.graph is not None:
            _faiss().write_index(self.graph, str(folder / GRAPH_FILE))

    @classmethod
    def load(cls, folder: Path) -> DenseIndex:
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False)
        graph = None
        if (folder / GRAPH_FILE).exists():
            graph = _faiss().read_index(str(folder / GRAPH_FILE))
            if graph.ntotal != len(vectors):
                raise ValueError(
                    f"{folder / GRAPH_FILE} has {graph.ntotal} rows, vectors have {len(vectors)}"
                )
        elif len(vectors) >= EXACT_BELOW:
            graph = _build_graph(vectors)  # an older snapshot without a graph: build it once
        return cls(vectors, graph)

    @staticmethod
    def stack(rows: list[Vectors | None], where: str) -> Vectors:
        """Rows read back from the store as one matrix; a chunk stored without a vector is an error."""
        if any(row is None for row in rows):
            raise ValueError(f"{where}: a chunk in the store has no embedding; run `finagent ingest` again")
        return np.stack([r for r in rows if r is not None]) if rows else np.zeros((0, 0), dtype=np.float32)

    def similarity(self, rows: list[int], query: Vectors) -> list[float]:
        return [float(s) for s in self.vectors[rows] @ query] if rows else []

    def search(self, query: Vectors, mask: npt.NDArray[np.bool_], n: int) -> list[tuple[int, float]]:
        """Top-n (row, cosine) among the rows `mask` admits, best first."""
        allowed = int(np.count_nonzero(mask))
        n = min(n, allowed)
        if n <= 0 or len(self) == 0:
            return []
        if self.graph is None or allowed < EXACT_BELOW:
            return self._exact(query, mask, n)
        return self._approximate(query, mask, n)

    def _exact(self, query: Vectors, mask: npt.NDArray[np.bool_], n: int) -> list[tuple[int, float]]:
        rows = np.flatnonzero(mask)
        # Score the admitted rows only: a filtered-out row is never scored, let alone ranked.
        scores = self.vectors[rows] @ query if len(rows) < len(mask) else self.vectors @ query
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(rows[i]), float(scores[i])) for i in top]

    def _approximate(self, query: Vectors, mask: npt.NDArray[np.bool_], n: int) -> list[tuple[int, float]]:
        faiss = _faiss()
        selector = faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(HNSW_SEARCH_EF, n))
        scores, rows = self.graph.search(query.reshape(1, -1).astype(np.float32), n, params=params)
        found = [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        # The selector already excluded them; this is the belt to its braces.
        return [(r, s) for r, s in found if mask[r]]


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
