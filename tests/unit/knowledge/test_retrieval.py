"""Hybrid search over the fixture corpus with the real bundled model."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from finagent.settings import Settings
from knowledge.embeddings import LocalEmbedder
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore
from tests.unit.knowledge.conftest import FIXTURES


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, real_embedder: LocalEmbedder) -> Retriever:
    settings = Settings(data_dir=tmp_path_factory.mktemp("kb"), chroma_url=None)
    ingest(FIXTURES / "corpus", settings, progress=False, embedder=real_embedder, today=date(2026, 1, 15))
    store = ChunkStore.from_settings(settings)
    return Retriever(store, real_embedder, snapshot_dir(settings), today=lambda: date(2026, 1, 15))


@pytest.mark.parametrize(
    ("query", "doc_id"),
    [
        ("lost my card what do i do", "card-lost-stolen"),
        ("whats the fee for sending an international wire", "fees-schedule"),
        ("what time do international transfers have to go in by", "transfers-international"),
        ("atm withdrwal limt", "faq-atm-withdrawal"),  # typos
        ("我的银行卡丢了怎么办", "card-lost-stolen.zh"),
        ("补办新卡要多久", "card-lost-stolen.zh"),
    ],
)
def test_the_answering_document_ranks_first(retriever: Retriever, query: str, doc_id: str) -> None:
    hits = retriever.search(query, k=5)
    assert hits[0].doc_id == doc_id, [h.doc_id for h in hits]


def test_hits_carry_what_a_citation_needs(retriever: Retriever) -> None:
    hit = retriever.search("replacement card delivery time", k=1)[0]
    assert (hit.doc_id, hit.title, hit.section) == (
        "card-lost-stolen",
        "Lost or stolen card",
        "Replacement card",
    )
    assert "5 business days" in hit.text
    assert hit.source == "cards/card-lost-stolen.md"
    assert hit.effective_date == "2025-01-01"


def test_customers_never_see_internal_procedures(retriever: Retriever) -> None:
    query = "supervisor override code FX-7731 to lift a fraud block"
    public = retriever.search(query, k=20)
    assert public, "other public documents should still be returned"
    assert all(h.audience == "public" and h.doc_id != "fraud-callback-procedure" for h in public)
    staff = retriever.search(query, k=3, audience="internal")
    assert staff[0].doc_id == "fraud-callback-procedure"


def test_language_filter_keeps_only_that_language(retriever: Retriever) -> None:
    hits = retriever.search("lost card", k=5, language="zh")
    assert hits and all(h.language == "zh" for h in hits)


def test_no_document_contributes_more_than_two_chunks(retriever: Retriever) -> None:
    hits = retriever.search("card lost stolen blocked replacement dispute", k=8)
    doc_ids = [h.doc_id for h in hits]
    assert max(doc_ids.count(d) for d in doc_ids) <= 2


def test_relevance_separates_an_off_topic_question(retriever: Retriever) -> None:
    on_topic = max(h.relevance for h in retriever.search("how do I block a stolen card", k=3))
    off_topic = max(h.relevance for h in retriever.search("what will the weather be on mars tomorrow", k=3))
    threshold = Settings().kb_min_relevance
    assert off_topic < threshold <= on_topic


def test_scores_are_ranked_and_relevance_is_bounded(retriever: Retriever) -> None:
    hits = retriever.search("international wire fee", k=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0.0 <= h.relevance <= 1.0 for h in hits)


def test_empty_query_returns_nothing(retriever: Retriever) -> None:
    assert retriever.search("   ", k=5) == []


def test_an_index_from_another_model_is_refused(tmp_path: Path, real_embedder: LocalEmbedder) -> None:
    from knowledge.retrieval import RetrievalError
    from tests.unit.knowledge.conftest import CountingEmbedder

    settings = Settings(data_dir=tmp_path, chroma_url=None)
    ingest(FIXTURES / "corpus", settings, progress=False, embedder=real_embedder)
    other = CountingEmbedder(real_embedder, name="remote:other")
    with pytest.raises(RetrievalError, match="run `finagent ingest` again"):
        Retriever(ChunkStore.from_settings(settings), other, snapshot_dir(settings))


def test_an_empty_index_answers_with_no_hits(tmp_path: Path, real_embedder: LocalEmbedder) -> None:
    settings = Settings(data_dir=tmp_path, chroma_url=None)
    retriever = Retriever(ChunkStore.from_settings(settings), real_embedder, snapshot_dir(settings))
    assert retriever.search("lost card", k=5) == []


def test_a_chinese_question_finds_a_document_that_exists_only_in_english(retriever: Retriever) -> None:
    # transfers-international has no Chinese translation; the CC-CEDICT gloss bridges the languages.
    hits = retriever.search("国际汇款每天限额多少", k=3)
    assert "transfers-international" in [h.doc_id for h in hits]


def test_each_reader_gets_the_translation_in_their_language(retriever: Retriever) -> None:
    english = retriever.search("how do I report a stolen card", k=5)
    chinese = retriever.search("银行卡被偷了怎么挂失", k=5)
    assert english[0].doc_id == "card-lost-stolen"
    assert chinese[0].doc_id == "card-lost-stolen.zh"
    # A translation is the same document: it does not take the place of another source.
    assert "card-lost-stolen.zh" not in [h.doc_id for h in english]
    assert "card-lost-stolen" not in [h.doc_id for h in chinese]
    # The English-only model cannot compare a Chinese page; it is as relevant as its original.
    original = retriever.search("银行卡被偷了怎么挂失", k=5, language="en")[0]
    assert original.doc_id == "card-lost-stolen"
    assert chinese[0].relevance == pytest.approx(original.relevance, abs=0.05)
    assert chinese[0].relevance >= Settings().min_relevance("zh")


def test_a_swapped_pair_of_letters_is_corrected(retriever: Retriever) -> None:
    lexicon = retriever._loaded.snapshot.lexical
    assert lexicon.correct(["crad"]) == ["card"]
    assert lexicon.correct(["zzzz"]) == ["zzzz"]  # nothing close: left alone


def test_an_english_word_the_documents_do_not_use_is_not_taken_for_a_typo(retriever: Retriever) -> None:
    lexicon, is_word = retriever._loaded.snapshot.lexical, retriever._loaded.is_word
    assert "internet" not in lexicon.vocabulary and "internat" in lexicon.vocabulary  # "international"
    assert lexicon.correct(["internet"]) == ["internat"]  # without a word list: one edit away
    assert lexicon.correct(["internet", "crad"], is_word) == ["internet", "card"]


def test_the_best_passage_of_five_documents_comes_before_second_passages(retriever: Retriever) -> None:
    hits = retriever.search("card lost stolen blocked replacement dispute", k=5)
    doc_ids = [h.doc_id for h in hits]
    distinct = len(set(doc_ids))
    assert doc_ids[:distinct] == list(dict.fromkeys(doc_ids))  # no repeat before every document had a turn
