"""Loading every supported format and chunking along the document's structure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.documents import Document, DocumentError, DocumentMeta, iter_corpus_files, load_file
from tests.unit.knowledge.conftest import FIXTURES
from tests.unit.knowledge.pdf_helper import write_pdf

CORPUS = FIXTURES / "corpus"


def test_markdown_front_matter_becomes_metadata() -> None:
    (doc,) = load_file(CORPUS / "cards" / "card-lost-stolen.zh.md", CORPUS)
    assert doc.meta.id == "card-lost-stolen.zh"
    assert doc.meta.language == "zh"
    assert doc.meta.translation_of == "card-lost-stolen"
    assert doc.meta.effective_date == date(2025, 1, 1)
    assert doc.source == "cards/card-lost-stolen.zh.md"
    assert not doc.body.startswith("---")


def test_html_meta_tags_and_table_survive_conversion() -> None:
    (doc,) = load_file(CORPUS / "transfers.html", CORPUS)
    assert doc.meta.id == "transfers-international"
    assert doc.meta.product == "transfers"
    assert "## Cut-off times" in doc.body
    assert "- Daily limit for international transfers: USD 50,000." in doc.body
    assert "| USD | 1-3 business days |" in doc.body


def test_json_records_are_separate_documents() -> None:
    docs = load_file(CORPUS / "faq.json", CORPUS)
    assert [d.meta.id for d in docs] == ["faq-atm-withdrawal", "faq-statement"]
    assert docs[0].source == "faq.json#0"
    assert "CNY 20,000" in docs[0].body


def test_pdf_text_and_metadata(tmp_path: Path) -> None:
    write_pdf(
        tmp_path / "loan.pdf",
        ["Early repayment of a personal loan costs 1% of the amount repaid."],
        {"Title": "Early loan repayment", "finagent:id": "loan-early", "finagent:product": "loans"},
    )
    (doc,) = load_file(tmp_path / "loan.pdf", tmp_path)
    assert (doc.meta.id, doc.meta.title, doc.meta.product) == ("loan-early", "Early loan repayment", "loans")
    assert "costs 1% of the amount" in doc.body
    assert chunk_document(doc)[0].section == "Page 1"


def test_invalid_metadata_names_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: bad\ntitle: Bad\naudience: everyone\n---\n# Bad\ntext\n")
    with pytest.raises(DocumentError, match=r"bad\.md: audience"):
        load_file(bad, tmp_path)


def test_readme_and_hidden_files_are_not_documents(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# About this folder")
    (tmp_path / ".draft.md").write_text("# Draft")
    (tmp_path / "notes.docx").write_text("binary")
    (tmp_path / "real.md").write_text("# Real")
    assert [p.name for p in iter_corpus_files(tmp_path)] == ["real.md"]


def test_content_hash_changes_with_text_and_metadata() -> None:
    meta = DocumentMeta(id="a", title="A")
    base = Document(meta, "text", "a.md")
    assert base.content_hash == Document(meta, "text", "moved/a.md").content_hash
    assert base.content_hash != Document(meta, "text changed", "a.md").content_hash
    assert base.content_hash != Document(meta.model_copy(update={"version": 2}), "text", "a.md").content_hash


def _doc(body: str) -> Document:
    return Document(DocumentMeta(id="d", title="Doc"), body, "d.md")


def test_chunks_follow_sections_with_heading_path() -> None:
    chunks = chunk_document(
        _doc("intro text\n## Fees\nfee text\n### Abroad\nabroad text\n## Limits\nlimit text")
    )
    assert [(c.section, c.text) for c in chunks] == [
        ("", "intro text"),
        ("Fees", "fee text"),
        ("Fees > Abroad", "abroad text"),
        ("Limits", "limit text"),
    ]
    assert chunks[1].chunk_id == "d@v1#001"
    assert chunks[2].index_text("Doc") == "Doc - Fees > Abroad\nabroad text"


def test_a_long_table_is_split_by_rows_with_its_header_repeated() -> None:
    rows = "\n".join(f"| service {n} | CNY {n} |" for n in range(60))
    chunks = chunk_document(_doc(f"## Fees\n| service | fee |\n| --- | --- |\n{rows}"), max_chars=400)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("| service | fee |\n| --- | --- |")
        assert chunk.section == "Fees"
    joined = "\n".join(chunks[i].text for i in range(len(chunks)))
    assert all(f"| service {n} | CNY {n} |" in joined for n in range(60))


def test_a_short_table_and_list_stay_whole() -> None:
    body = "## Card\n- one\n- two\n  continued\n\n| a | b |\n| --- | --- |\n| 1 | 2 |"
    (chunk,) = chunk_document(_doc(body))
    assert chunk.text == "- one\n- two\n  continued\n\n| a | b |\n| --- | --- |\n| 1 | 2 |"


def test_headings_inside_code_fences_do_not_start_sections() -> None:
    chunks = chunk_document(_doc("## Real\n```\n## not a heading\n```\nafter"))
    assert [c.section for c in chunks] == ["Real"]
