"""Incremental ingestion: what gets embedded, what disappears, and which versions are served."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from finagent.settings import Settings
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore
from tests.unit.knowledge.conftest import CountingEmbedder

TODAY = date(2026, 1, 15)


def _retriever(settings: Settings, embedder: CountingEmbedder, today: date = TODAY) -> Retriever:
    store = ChunkStore.from_settings(settings)
    return Retriever(store, embedder, snapshot_dir(settings), today=lambda: today)


def _served_doc_keys(settings: Settings) -> set[str]:
    return {c.metadata["doc_key"] for c in ChunkStore.from_settings(settings).iter_all(with_text=False)}


def test_first_ingest_indexes_every_document_and_reports_versions(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert summary.added == 9  # 10 documents, one of them superseded
    assert summary.superseded == ["fees-schedule@v1"]
    assert summary.scheduled == ["savings-rates@v1"]
    assert summary.errors == []
    assert summary.chunks == summary.embedded_chunks > summary.added
    assert len(embedder.embedded) > summary.chunks  # whole chunks, then their passages
    assert "fees-schedule@v1" not in _served_doc_keys(kb_settings)


def test_unchanged_corpus_is_not_re_embedded(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    embedder.embedded.clear()
    again = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 9)
    assert embedder.embedded == []


def test_an_edit_re_embeds_only_that_document_and_search_sees_the_new_text(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    complaints = corpus_dir / "complaints.txt"
    complaints.write_text(complaints.read_text().replace("within 15 days", "within 8 weeks"))
    embedder.embedded.clear()
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert (summary.updated, summary.unchanged) == (1, 8)
    assert embedder.embedded and all("complaint" in text.lower() for text in embedder.embedded)
    hits = _retriever(kb_settings, embedder).search("how long does a complaint take", k=3)
    assert hits[0].doc_id == "complaints-process"
    assert "8 weeks" in hits[0].text


def test_a_deleted_document_disappears_from_search(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    (corpus_dir / "complaints.txt").unlink()
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert summary.removed == 1
    hits = _retriever(kb_settings, embedder).search("make a complaint", k=10)
    assert all(h.doc_id != "complaints-process" for h in hits)


def test_superseded_fee_is_never_served(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    hits = _retriever(kb_settings, embedder).search("outgoing international wire fee CNY 150", k=10)
    assert hits[0].doc_id == "fees-schedule" and hits[0].version == "2"
    assert not any("CNY 150" in h.text for h in hits)


def test_a_scheduled_version_is_served_only_from_its_effective_date(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    query = "easy saver savings account interest rate"
    assert all(h.doc_id != "savings-rates" for h in _retriever(kb_settings, embedder).search(query, k=10))
    later = _retriever(kb_settings, embedder, today=date(2099, 1, 1)).search(query, k=3)
    assert later[0].doc_id == "savings-rates"


def test_a_new_version_takes_over_from_the_old_one_without_re_embedding_it(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    complaints = corpus_dir / "complaints.txt"
    v2 = complaints.read_text().replace("version: 1", "version: 2\neffective_date: 2026-06-01")
    (corpus_dir / "complaints.v2.txt").write_text(v2.replace("within 15 days", "within 10 days"))
    embedder.embedded.clear()
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert (summary.added, summary.unchanged) == (1, 9)
    assert summary.scheduled == ["complaints-process@v2", "savings-rates@v1"]
    assert all("10 days" in t for t in embedder.embedded if "within" in t)
    query = "how long until I get a final answer to my complaint"
    now = _retriever(kb_settings, embedder).search(query, k=1)[0]
    june = _retriever(kb_settings, embedder, today=date(2026, 6, 1)).search(query, k=1)[0]
    assert (now.version, "15 days" in now.text) == ("1", True)
    assert (june.version, "10 days" in june.text) == ("2", True)


def test_a_broken_file_is_reported_and_the_rest_is_indexed(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    (corpus_dir / "broken.md").write_text("---\nid: broken\ntitle: [unclosed\n---\ntext")
    (corpus_dir / "dup.md").write_text("---\nid: complaints-process\ntitle: Copy\nversion: 1\n---\ntext")
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert summary.added == 9
    assert any(e.startswith("broken.md: front matter is not valid YAML") for e in summary.errors)
    assert any("duplicate complaints-process@v1" in e for e in summary.errors)


def test_changing_the_embedding_model_re_embeds_everything(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    other = CountingEmbedder(embedder.inner, name="remote:another-model")
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=other, today=TODAY)
    assert summary.added == 9 and summary.embedded_chunks == summary.chunks
    assert len(other.embedded) == len(embedder.embedded)  # every chunk and passage, again
    assert ChunkStore.from_settings(kb_settings).embedder == "remote:another-model"


def test_a_lost_bm25_snapshot_is_rebuilt_from_chroma(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    import shutil

    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    shutil.rmtree(snapshot_dir(kb_settings))
    embedder.embedded.clear()
    hits = _retriever(kb_settings, embedder).search("ATM withdrawal limit", k=2)
    assert hits[0].doc_id == "faq-atm-withdrawal"
    assert embedder.embedded == ["ATM withdrawal limit"]  # only the query: no document re-embedded
    assert (snapshot_dir(kb_settings) / "state.json").exists()
