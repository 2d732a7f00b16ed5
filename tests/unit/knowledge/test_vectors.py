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


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _one_sentence_chunk_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Chunk 0 covers several topics, one of its passages is exactly the question; chunk 1 is
    about something close to the question as a whole. Cosines: chunk 0 0.45, chunk 1 0.53."""
    basis = np.eye(32, dtype=np.float32)
    query = basis[0]
    chunks = np.stack(
        [_unit(basis[0] + 2.0 * basis[1]), _unit(basis[0] + 1.6 * basis[2])]
        + [basis[i] for i in range(3, 11)]
    )
    passages = np.stack([basis[1], query, _unit(basis[1] + basis[11])])
    return query, chunks, passages, np.array([0, 0, 0])


def test_a_chunk_whose_one_passage_answers_outranks_a_vaguely_similar_chunk() -> None:
    query, chunks, passages, owners = _one_sentence_chunk_case()
    whole_only = DenseIndex.build(chunks)
    with_passages = DenseIndex.build(chunks, passages, owners)
    mask = np.ones(len(chunks), dtype=bool)
    assert whole_only.search(query, mask, 1)[0][0] == 1
    assert with_passages.search(query, mask, 1)[0][0] == 0


def test_a_rejected_chunk_is_not_found_through_its_passages() -> None:
    query, chunks, passages, owners = _one_sentence_chunk_case()
    index = DenseIndex.build(chunks, passages, owners)
    mask = np.ones(len(chunks), dtype=bool)
    mask[0] = False  # e.g. an internal chunk in a public search
    found = index.search(query, mask, 10)
    assert len(found) == 9 and 0 not in {row for row, _ in found}


def _with_passages(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chunks = _clustered(rows, seed=4)
    rng = np.random.default_rng(5)
    owners = np.sort(rng.integers(0, rows, rows * 3))
    passages = _clustered(len(owners), seed=6)
    return chunks, passages, owners


def test_graph_over_chunks_and_passages_never_returns_a_rejected_chunk(graph_from_500_rows: None) -> None:
    chunks, passages, owners = _with_passages(400)  # 400 chunks + 1,200 passages: over the threshold
    index = DenseIndex.build(chunks, passages, owners)
    assert index.graph is not None and index.graph.ntotal == 1600
    rejected = np.zeros(400, dtype=bool)
    rejected[::4] = True
    for query in passages[:40]:  # many of these passages belong to rejected chunks
        found = index.search(query, ~rejected, 20)
        assert len(found) == 20
        assert not any(rejected[row] for row, _ in found)


def test_graph_search_with_passages_agrees_with_the_exact_scan(graph_from_500_rows: None) -> None:
    chunks, passages, owners = _with_passages(400)
    index = DenseIndex.build(chunks, passages, owners)
    mask = np.ones(400, dtype=bool)
    overlap = 0
    for query in passages[200:240]:
        exact = index._exact(query, mask, 10)
        approximate = index.search(query, mask, 10)
        assert approximate[0] == pytest.approx(exact[0])  # the best chunk and its exact score
        overlap += len({r for r, _ in exact} & {r for r, _ in approximate})
    assert overlap / (40 * 10) >= 0.95


def test_saved_index_keeps_its_passages(tmp_path: Path) -> None:
    chunks, passages, owners = _with_passages(50)
    DenseIndex.build(chunks, passages, owners).save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    np.testing.assert_array_equal(loaded.owners, owners)
    np.testing.assert_array_equal(loaded.passages, passages)


def test_a_passage_of_a_missing_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        DenseIndex.build(_clustered(3), _clustered(1), np.array([3]))
