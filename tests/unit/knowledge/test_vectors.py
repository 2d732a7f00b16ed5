"""The in-memory dense index: filters before ranking, exact and HNSW paths, saved and loaded as is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge import vectors
from knowledge.vectors import DenseIndex


def _clustered(rows: int, dim: int = 32, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    matrix = centres[rng.integers(0, 20, rows)] + rng.normal(scale=0.3, size=(rows, dim))
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def graph_from_500_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "EXACT_BELOW", 500)


def test_exact_search_ranks_by_cosine_among_admitted_rows_only() -> None:
    matrix = _clustered(300)
    index = DenseIndex.build(matrix)
    assert index.graph is None
    mask = np.arange(300) % 3 != 0
    query = matrix[0]  # row 0 is its own best match, but the mask rejects it
    found = index.search(query, mask, 10)
    scores = matrix @ query
    expected = sorted(np.flatnonzero(mask), key=lambda r: -scores[r])[:10]
    assert [row for row, _ in found] == expected
    assert 0 not in {row for row, _ in found}


def test_graph_search_never_returns_a_rejected_row(graph_from_500_rows: None) -> None:
    matrix = _clustered(2000)
    index = DenseIndex.build(matrix)
    assert index.graph is not None
    rejected = np.zeros(2000, dtype=bool)
    rejected[::5] = True  # like the internal chunks of a public search
    for query in matrix[:40]:  # half of these queries' own rows are rejected
        found = index.search(query, ~rejected, 30)
        assert len(found) == 30
        assert not any(rejected[row] for row, _ in found)


def test_graph_search_finds_nearly_all_exact_neighbours(graph_from_500_rows: None) -> None:
    matrix = _clustered(2000)
    index = DenseIndex.build(matrix)
    mask = np.ones(2000, dtype=bool)
    overlap = 0
    for query in matrix[100:140]:
        exact = {row for row, _ in index._exact(query, mask, 20)}
        overlap += len(exact & {row for row, _ in index.search(query, mask, 20)})
    assert overlap / (40 * 20) >= 0.95


def test_a_selective_filter_is_searched_exactly(graph_from_500_rows: None) -> None:
    matrix = _clustered(2000)
    index = DenseIndex.build(matrix)
    mask = np.zeros(2000, dtype=bool)
    mask[[7, 70, 700]] = True  # e.g. the few chunks in one language
    found = index.search(matrix[70], mask, 10)
    assert found[0][0] == 70
    assert {row for row, _ in found} == {7, 70, 700}


def test_saved_index_loads_with_its_graph(tmp_path: Path, graph_from_500_rows: None) -> None:
    matrix = _clustered(800)
    DenseIndex.build(matrix).save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    assert loaded.graph is not None and loaded.graph.ntotal == 800
    mask = np.ones(800, dtype=bool)
    assert loaded.search(matrix[5], mask, 1)[0][0] == 5
    np.testing.assert_array_equal(loaded.vectors, matrix)


def test_a_store_row_without_a_vector_is_an_error() -> None:
    with pytest.raises(ValueError, match="no embedding"):
        DenseIndex.stack([np.zeros(4, dtype=np.float32), None], "kb")
