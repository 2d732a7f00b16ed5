"""Documents carry a product type from a closed list, and every hit carries its document's type.

The compliance step appends a product's required disclosures to any answer citing a document of
that type (policies/packs/outgoing_text.yaml), so a wrong or missing type is a missing disclosure.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import get_args

import pytest

from finagent.settings import PROJECT_ROOT, Settings
from knowledge.documents import Document, DocumentError, iter_corpus_files, load_file
from knowledge.ingest import ingest, load_corpus
from knowledge.retrieval import RetrievalError, Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import SCHEMA_KEY, ChunkStore
from knowledge.types import Hit, ProductType
from tests.unit.knowledge.conftest import CountingEmbedder

TODAY = date(2026, 1, 15)
SHIPPED = PROJECT_ROOT / "knowledge" / "corpus"
PACK = PROJECT_ROOT / "policies" / "packs" / "outgoing_text.yaml"


def _shipped() -> list[Document]:
    return [doc for path in iter_corpus_files(SHIPPED) for doc in load_file(path, SHIPPED)]


def _retriever(settings: Settings, embedder: CountingEmbedder) -> Retriever:
    return Retriever(
        ChunkStore.from_settings(settings), embedder, snapshot_dir(settings), today=lambda: TODAY
    )


def test_the_vocabulary_holds_every_type_the_policy_pack_discloses_for() -> None:
    import yaml

    rules = yaml.safe_load(PACK.read_text(encoding="utf-8"))["rules"]
    keyed = {r["product_type"] for r in rules if r.get("kind") == "required_disclosure"}
    assert keyed == {"fund", "structured_note", "deposit", "loan", "portfolio", "investment"}
    assert keyed <= set(get_args(ProductType))


def test_every_shipped_document_states_its_product_type_version_and_audience() -> None:
    docs = _shipped()
    assert len(docs) == 89
    unstated = [
        d.source for d in docs if not {"product_type", "version", "audience"} <= d.meta.model_fields_set
    ]
    assert unstated == []
    types = {d.meta.id: d.meta.product_type for d in docs}
    assert {types[i] for i in types if i.startswith("fund-")} == {"fund"}
    assert types["structured-note-autocall-2029"] == "structured_note"
    assert types["fixed-deposit"] == types["savings-account"] == types["deposit-guarantee"] == "deposit"
    assert types["personal-loan"] == types["loan-early-repayment"] == "loan"
    assert types["credit-card-gold"] == "credit_card" and types["card-lost-stolen"] == "card"
    assert types["overdraft"] == "overdraft"  # credit on a current account, not the personal loan
    assert types["model-portfolios"] == "portfolio"


def test_translations_have_the_type_of_their_original() -> None:
    docs = _shipped()
    originals = {d.meta.id: d.meta.product_type for d in docs if d.meta.translation_of is None}
    translations = [d for d in docs if d.meta.translation_of]
    assert len(translations) == 13
    assert [
        d.source for d in translations if d.meta.product_type != originals[d.meta.translation_of or ""]
    ] == []


def test_a_misspelt_type_or_field_names_the_file(tmp_path: Path) -> None:
    bad_value = tmp_path / "fund.md"
    bad_value.write_text("---\nid: f\ntitle: F\nproduct_type: funds\n---\ntext")
    with pytest.raises(
        DocumentError, match=r"^fund\.md: product_type: Input should be 'fund', 'structured_note'"
    ):
        load_file(bad_value, tmp_path)
    bad_key = tmp_path / "note.md"
    bad_key.write_text("---\nid: n\ntitle: N\nproduct-type: structured_note\n---\ntext")
    with pytest.raises(DocumentError, match=r"^note\.md: .*'product-type'; did you mean 'product_type'\?"):
        load_file(bad_key, tmp_path)
    fine = tmp_path / "own.md"
    fine.write_text("---\nid: o\ntitle: O\nowner: Retail\n---\ntext")  # a bank's own fields are kept out
    assert load_file(fine, tmp_path)[0].meta.product_type == "general"


def test_a_translation_takes_its_originals_type_or_is_refused_when_it_contradicts_it(tmp_path: Path) -> None:
    (tmp_path / "fund.md").write_text("---\nid: fund-x\ntitle: X\nproduct_type: fund\n---\ntext")
    (tmp_path / "fund.zh.md").write_text(
        "---\nid: fund-x.zh\ntitle: X\nlanguage: zh\ntranslation_of: fund-x\n---\n基金"
    )
    (tmp_path / "wrong.zh.md").write_text(
        "---\nid: fund-x.zh2\ntitle: X\nlanguage: zh\ntranslation_of: fund-x\n"
        "product_type: general\n---\n基金"
    )
    errors: list[str] = []
    docs = {d.meta.id: d for d in load_corpus(tmp_path, errors)}
    assert docs["fund-x.zh"].meta.product_type == "fund"
    assert "fund-x.zh2" not in docs
    assert errors == ["wrong.zh.md: product_type: 'general' differs from 'fund' of its original fund.md"]


def test_every_hit_carries_its_documents_product_type(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    retriever = _retriever(kb_settings, embedder)
    first = {
        q: retriever.search(q, k=1)[0]
        for q in ("lost my card", "international transfer cut-off", "complaint")
    }
    assert [(h.doc_id, h.product_type) for h in first.values()] == [
        ("card-lost-stolen", "card"),
        ("transfers-international", "transfer"),  # from an HTML meta tag
        ("complaints-process", "general"),  # states none
    ]
    chinese = retriever.search("我的卡丢了怎么办", k=1)[0]
    assert (chinese.doc_id, chinese.product_type) == ("card-lost-stolen.zh", "card")  # from its original
    assert retriever.search("atm withdrawal limit", k=1)[0].product_type == "account"  # a JSON record
    staff = retriever.search("fraud callback procedure", k=1, audience="internal")[0]
    assert (staff.doc_id, staff.product_type) == ("fraud-callback-procedure", "card")


def test_a_changed_product_type_is_re_indexed(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    page = corpus_dir / "fees" / "fees-schedule.md"
    page.write_text(page.read_text().replace("product_type: general", "product_type: deposit"))
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert (summary.updated, summary.unchanged) == (1, 8)
    hit = _retriever(kb_settings, embedder).search("international wire fee", k=1)[0]
    assert (hit.doc_id, hit.product_type) == ("fees-schedule", "deposit")


def test_an_index_from_before_product_types_is_refused_then_rebuilt(
    kb_settings: Settings, corpus_dir: Path, embedder: CountingEmbedder
) -> None:
    ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    store = ChunkStore.from_settings(kb_settings)
    # What an older finagent left: no schema stamp, and chunks without a product type.
    old = {k: v for k, v in store._metadata().items() if k != SCHEMA_KEY}
    store._collection.modify(metadata=old)
    with pytest.raises(
        RetrievalError, match=r"before documents carried a product type; run `finagent ingest`"
    ):
        _retriever(kb_settings, embedder)

    embedder.embedded.clear()
    summary = ingest(corpus_dir, kb_settings, progress=False, embedder=embedder, today=TODAY)
    assert summary.added == 9 and embedder.embedded  # rebuilt, not trusted
    assert _retriever(kb_settings, embedder).search("lost my card", k=1)[0].product_type == "card"


def test_a_hit_built_elsewhere_defaults_to_general() -> None:
    hit = Hit(chunk_id="c", doc_id="d", title="t", section="", text="x", score=1.0, relevance=0.5)
    assert hit.product_type == "general"
