"""Passages: the sentences, list items and table rows of a chunk, embedded beside the whole chunk."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from finagent.settings import Settings
from knowledge.chunking import chunk_document, passages
from knowledge.documents import Document, DocumentMeta
from knowledge.embeddings import LocalEmbedder
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore
from tests.unit.knowledge.conftest import FIXTURES, CountingEmbedder

TODAY = date(2026, 1, 15)


def _doc(body: str) -> Document:
    meta = DocumentMeta(id="doc", title="Doc", type="guide", product="cards", audience="public", version=1)
    return Document(meta=meta, body=body, source="doc.md")


def test_a_chunk_is_cut_into_sentences_list_items_and_table_rows_with_their_header() -> None:
    text = (
        "Card payments abroad are free. ATM withdrawals cost 2%.\n\n"
        "- Freeze the card in the app\n  (Cards > Freeze).\n- Call us if you cannot.\n\n"
        "| service | fee |\n| --- | --- |\n| wire | CNY 50 |\n| cheque | CNY 10 |"
    )
    assert passages(text) == [
        "Card payments abroad are free.",
        "ATM withdrawals cost 2%.",
        "- Freeze the card in the app (Cards > Freeze).",
        "- Call us if you cannot.",
        "| service | fee |\n| --- | --- |\n| wire | CNY 50 |",
        "| service | fee |\n| --- | --- |\n| cheque | CNY 10 |",
    ]


def test_a_chunk_of_one_sentence_has_no_passages() -> None:
    assert passages("Cards can be frozen in the app.") == []


def test_passage_texts_carry_the_title_and_section() -> None:
    (chunk,) = chunk_document(_doc("## Abroad\nPayments are free. Withdrawals cost 2%."))
    assert chunk.passage_texts("Card fees") == [
        "Card fees - Abroad\nPayments are free.",
        "Card fees - Abroad\nWithdrawals cost 2%.",
    ]


def _passage_owners(settings: Settings) -> list[str]:
    return [owner for owner, _ in ChunkStore.from_settings(settings).iter_passages()]


def test_ingest_stores_passages_once_and_deletes_them_with_their_document(
    kb_settings: Settings, embedder: CountingEmbedder
) -> None:
    corpus = kb_settings.kb_corpus_dir
    summary = ingest(corpus, kb_settings, progress=False, embedder=embedder, today=TODAY)
    owners = _passage_owners(kb_settings)
    assert owners and len(embedder.embedded) == summary.chunks + len(owners)
    assert any(o.startswith("complaints-process@v1#") for o in owners)

    embedder.embedded.clear()
    ingest(corpus, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert embedder.embedded == [] and len(_passage_owners(kb_settings)) == len(owners)

    (corpus / "complaints.txt").unlink()
    ingest(corpus, kb_settings, progress=False, embedder=embedder, today=TODAY)
    left = _passage_owners(kb_settings)
    assert left and not any(o.startswith("complaints-process@") for o in left)
    retriever = Retriever(ChunkStore.from_settings(kb_settings), embedder, snapshot_dir(kb_settings))
    dense = retriever._loaded.snapshot.dense
    assert len(dense.owners) == len(left)


def test_a_snapshot_rebuilt_from_chroma_keeps_the_passages_without_re_embedding(
    tmp_path: Path, real_embedder: LocalEmbedder
) -> None:
    embedder = CountingEmbedder(real_embedder)
    settings = Settings(data_dir=tmp_path, chroma_url=None)
    ingest(FIXTURES / "corpus", settings, progress=False, embedder=embedder, today=TODAY)
    folder = snapshot_dir(settings)
    first = Retriever(ChunkStore.from_settings(settings), embedder, folder)._loaded.snapshot.dense
    shutil.rmtree(folder)
    embedder.embedded.clear()
    again = Retriever(ChunkStore.from_settings(settings), embedder, folder)._loaded.snapshot.dense
    assert embedder.embedded == []
    assert len(again.owners) == len(first.owners) > 0
    assert sorted(again.owners.tolist()) == again.owners.tolist()
