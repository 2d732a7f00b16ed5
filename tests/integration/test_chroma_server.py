"""The knowledge base on a real Chroma server (`CHROMA_URL`), shared by two "machines"."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from finagent.settings import Settings
from knowledge.embeddings import get_embedder
from knowledge.ingest import ingest
from knowledge.retrieval import Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore, StoreError
from tests.conftest import free_port
from tests.unit.knowledge.conftest import FIXTURES

TODAY = date(2026, 1, 15)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`chroma run` from the project's own virtualenv, on a free port, with its own folder."""
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chroma"),
            "run",
            "--path",
            str(folder / "data"),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _retriever(settings: Settings) -> Retriever:
    store, embedder = ChunkStore.from_settings(settings), get_embedder(settings)
    return Retriever(store, embedder, snapshot_dir(settings), today=lambda: TODAY)


def test_two_machines_share_one_chroma_server(tmp_path: Path, chroma_url: str) -> None:
    writer = Settings(data_dir=tmp_path / "machine-a", chroma_url=chroma_url, chroma_collection="shared")
    reader = Settings(data_dir=tmp_path / "machine-b", chroma_url=chroma_url, chroma_collection="shared")

    first = ingest(FIXTURES / "corpus", writer, progress=False, today=TODAY)
    assert first.errors == [] and first.chunks > 0
    again = ingest(FIXTURES / "corpus", writer, progress=False, today=TODAY)
    assert again.embedded_chunks == 0 and again.unchanged == first.added  # incremental against the server

    # Machine B has no snapshot of its own: it rebuilds one from the server without embedding anything.
    assert not snapshot_dir(reader).exists()
    hits = _retriever(reader).search("lost my card what do i do", k=3)
    assert (hits[0].doc_id, hits[0].product_type) == ("card-lost-stolen", "card")  # metadata from the server
    assert hits == _retriever(writer).search("lost my card what do i do", k=3)
    assert (snapshot_dir(reader) / "state.json").exists()

    # Filters hold on the server-backed store too: customers never see internal procedures.
    query = "supervisor override code to lift a fraud block"
    assert all(h.audience == "public" for h in _retriever(reader).search(query, k=10))
    assert any(h.audience == "internal" for h in _retriever(reader).search(query, k=3, audience="internal"))


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match=f"cannot reach the Chroma server at CHROMA_URL={url}"):
        ChunkStore.from_settings(Settings(data_dir=tmp_path, chroma_url=url))
    cli = subprocess.run(
        [sys.executable, "-m", "app.cli", "kb", "search", "lost card"],
        env={**os.environ, "CHROMA_URL": url, "DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1
    assert cli.stderr.strip().startswith("error: cannot reach the Chroma server"), cli.stderr
    assert "Traceback" not in cli.stderr
