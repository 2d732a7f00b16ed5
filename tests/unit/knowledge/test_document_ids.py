"""A bank's document ids are not ours to choose: any id is indexed, cited and shown as it was written."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from finagent.settings import Settings, get_settings
from knowledge.cli import register
from knowledge.documents import storage_key
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore
from tests.unit.knowledge.conftest import CountingEmbedder

TODAY = date(2026, 1, 15)
LONG = "Retail Banking/Terms & Conditions/" + "Section " * 60 + "(final)"
# Each id with a word that only its own document uses, so a search can find exactly it.
AWKWARD = {
    "Fees (2024)": "aardvark",
    "Fees [2024]": "bumblebee",  # slugs like the one above
    "cards/lost card v2.pdf": "chinchilla",
    "储蓄账户说明": "dromedary",
    LONG: "echidna",
    "1042": "flamingo",  # written as a number in the front matter
}


def _write_corpus(folder: Path) -> None:
    folder.mkdir()
    for n, (doc_id, word) in enumerate(AWKWARD.items()):
        front = "id: 1042" if doc_id == "1042" else f"id: {json.dumps(doc_id, ensure_ascii=False)}"
        (folder / f"doc{n}.md").write_text(
            f"---\n{front}\ntitle: The {word} page\n---\n# The {word} page\n\n"
            f"## About\nEverything about the {word} and its fees.\n",
            encoding="utf-8",
        )
    (folder / "doc-zh.md").write_text(
        "---\nid: Fees (2024) 中文\ntitle: 费用\nlanguage: zh\ntranslation_of: Fees (2024)\n---\n"
        "# 费用\n\n## 说明\naardvark 的费用。\n",
        encoding="utf-8",
    )


def test_any_id_is_indexed_and_every_hit_carries_the_original_id(
    tmp_path: Path, embedder: CountingEmbedder
) -> None:
    corpus = tmp_path / "corpus"
    _write_corpus(corpus)
    settings = Settings(data_dir=tmp_path / "data", chroma_url=None)
    summary = ingest(corpus, settings, progress=False, embedder=embedder, today=TODAY)
    assert summary.errors == []
    assert summary.added == len(AWKWARD) + 1

    retriever = Retriever(
        ChunkStore.from_settings(settings), embedder, snapshot_dir(settings), today=lambda: TODAY
    )
    for doc_id, word in AWKWARD.items():
        hits = retriever.search(f"{word} fees", k=3, language="en")
        assert hits[0].doc_id == doc_id
        assert hits[0].title == f"The {word} page"
    # The translation is grouped with its awkward original and served to a Chinese reader.
    assert retriever.search("aardvark 的费用", k=3)[0].doc_id == "Fees (2024) 中文"

    chunk_ids = [c.chunk_id for c in ChunkStore.from_settings(settings).iter_all(with_text=False)]
    assert len(chunk_ids) == len(set(chunk_ids))
    assert all(re.fullmatch(r"[A-Za-z0-9._\-~@#]{1,80}", c) for c in chunk_ids), chunk_ids

    embedder.embedded.clear()
    again = ingest(corpus, settings, progress=False, embedder=embedder, today=TODAY)
    assert again.unchanged == len(AWKWARD) + 1 and embedder.embedded == []  # keys are stable


def test_the_cli_shows_the_original_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    _write_corpus(corpus)
    (corpus / "broken.md").write_text("---\nid: Fees (2024)\nversion: 0\ntitle: old\n---\ntext")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHROMA_URL", raising=False)
    monkeypatch.delenv("EMBEDDING_BASE_URL", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    try:
        ingested = runner.invoke(app, ["ingest", str(corpus), "--no-progress"])
        assert f"{len(AWKWARD) + 1} added" in ingested.output
        assert "skipped: broken.md: version" in ingested.output  # a real error still names the file
        found = runner.invoke(app, ["kb", "search", "chinchilla fees", "--k", "1"])
        assert found.exit_code == 0, found.output
        assert "[cards/lost card v2.pdf] The chinchilla page" in found.output
        as_json = runner.invoke(app, ["kb", "search", "dromedary", "--k", "1", "--json"])
        assert json.loads(as_json.output)[0]["doc_id"] == "储蓄账户说明"
    finally:
        get_settings.cache_clear()


def test_storage_keys_are_safe_distinct_and_stable() -> None:
    keys = {doc_id: storage_key(doc_id) for doc_id in [*AWKWARD, "fees-schedule", "a" * 100, "a" * 101]}
    assert keys["fees-schedule"] == "fees-schedule"  # a safe id keeps its key: old indexes stay valid
    assert keys["a" * 100] == "a" * 100
    assert len(set(keys.values())) == len(keys)
    assert all(re.fullmatch(r"[A-Za-z0-9._\-~]{1,100}", k) for k in keys.values())
    assert keys["Fees (2024)"].startswith("Fees-2024~") and keys["Fees [2024]"].startswith("Fees-2024~")
    assert storage_key("Fees (2024)") == keys["Fees (2024)"]
    # A safe id that looks like another id's key is still its own key, and cannot be one: no "~".
    assert storage_key("Fees-2024") == "Fees-2024" != keys["Fees (2024)"]
