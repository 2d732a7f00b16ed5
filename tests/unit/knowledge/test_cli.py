"""`finagent ingest PATH` and `finagent kb search` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from finagent.settings import get_settings
from knowledge.cli import register


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHROMA_URL", raising=False)
    monkeypatch.delenv("EMBEDDING_BASE_URL", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, like the real `finagent` command
        pass

    register(app)
    yield app
    get_settings.cache_clear()


def test_ingest_then_search_as_json(app: typer.Typer, corpus_dir: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(corpus_dir), "--no-progress"])
    assert first.exit_code == 0, first.output
    assert "9 added" in first.output and "superseded (not served): fees-schedule@v1" in first.output
    again = runner.invoke(app, ["ingest", str(corpus_dir), "--no-progress"])
    assert "9 unchanged" in again.output and "0 embedded" in again.output

    found = runner.invoke(app, ["kb", "search", "lost my card", "--k", "3", "--json"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.output)
    assert len(hits) == 3
    assert hits[0]["doc_id"] == "card-lost-stolen"
    assert {"score", "relevance", "section", "title"} <= hits[0].keys()


def test_search_as_text_warns_below_the_relevance_threshold(app: typer.Typer, corpus_dir: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["ingest", str(corpus_dir), "--no-progress"])
    result = runner.invoke(app, ["kb", "search", "recipe for chocolate cake"])
    assert result.exit_code == 0
    assert "an agent would say it does not know" in result.output


def test_ingest_exits_1_when_a_file_was_skipped(app: typer.Typer, corpus_dir: Path) -> None:
    (corpus_dir / "broken.md").write_text("---\nid: broken\naudience: nobody\n---\ntext")
    result = CliRunner().invoke(app, ["ingest", str(corpus_dir), "--no-progress"])
    assert result.exit_code == 1
    assert "skipped: broken.md: audience" in result.output


def test_a_setting_finagent_cannot_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "EMBEDDING_RUNTIME": "gpu-please"}
    run = subprocess.run(
        [sys.executable, "-m", "app.cli", "kb", "search", "lost card"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "error: invalid settings: EMBEDDING_RUNTIME: Input should be 'onnx' or 'sentence-transformers' "
        "(got 'gpu-please')"
    )
