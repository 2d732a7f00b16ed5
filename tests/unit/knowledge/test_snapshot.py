"""The search snapshot: opened as saved (no BM25 rebuild), rebuilt from Chroma when stale or old."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from finagent.settings import Settings
from knowledge import lexical, vectors
from knowledge.embeddings import LocalEmbedder
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever
from knowledge.snapshot import STATE_FILE, snapshot_dir
from knowledge.store import ChunkStore
from tests.unit.knowledge.conftest import FIXTURES

TODAY = date(2026, 1, 15)


def _ingest(tmp_path: Path, embedder: LocalEmbedder) -> Settings:
    settings = Settings(data_dir=tmp_path, chroma_url=None)
    ingest(FIXTURES / "corpus", settings, progress=False, embedder=embedder, today=TODAY)
    return settings


def _open(settings: Settings, embedder: LocalEmbedder) -> Retriever:
    return Retriever(
        ChunkStore.from_settings(settings), embedder, snapshot_dir(settings), today=lambda: TODAY
    )


def test_opening_loads_the_saved_index_without_rebuilding_it(
    tmp_path: Path, real_embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _ingest(tmp_path, real_embedder)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the BM25 index was rebuilt on open")

    monkeypatch.setattr(lexical.LexicalIndex, "build", refuse)
    monkeypatch.setattr(ChunkStore, "iter_all", refuse)  # nothing is re-read from Chroma either
    hits = _open(settings, real_embedder).search("lost my card", k=3)
    assert hits[0].doc_id == "card-lost-stolen"


def test_a_snapshot_of_the_old_format_is_rebuilt_from_chroma(
    tmp_path: Path, real_embedder: LocalEmbedder
) -> None:
    settings = _ingest(tmp_path, real_embedder)
    folder = snapshot_dir(settings)
    state = json.loads((folder / STATE_FILE).read_text())
    (folder / STATE_FILE).write_text(
        json.dumps({"generation": state["generation"], "chunks": state["chunks"]})
    )
    (folder / vectors.VECTORS_FILE).unlink()  # format 1 had no vectors
    hits = _open(settings, real_embedder).search("international wire fee", k=3)
    assert (hits[0].doc_id, hits[0].product_type) == ("fees-schedule", "general")
    assert {h.doc_id: h.product_type for h in hits}["transfers-international"] == "transfer"  # survives
    assert (folder / vectors.VECTORS_FILE).exists()
    assert json.loads((folder / STATE_FILE).read_text())["format"] == state["format"]


def test_public_searches_through_the_hnsw_graph_never_see_internal_chunks(
    tmp_path: Path, real_embedder: LocalEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "EXACT_BELOW", 1)  # force the approximate path on a small index
    settings = _ingest(tmp_path, real_embedder)
    retriever = _open(settings, real_embedder)
    assert retriever._loaded.snapshot.dense.graph is not None
    query = "supervisor override code FX-7731 to lift a fraud block"
    public = retriever.search(query, k=20)
    assert public and all(h.audience == "public" for h in public)
    assert retriever.search(query, k=1, audience="internal")[0].doc_id == "fraud-callback-procedure"
