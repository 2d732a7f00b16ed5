"""`EMBEDDING_BASE_URL`: an OpenAI-compatible `/v1/embeddings` endpoint instead of the in-process model.

The endpoint here is a loopback HTTP server that speaks the OpenAI embeddings protocol and answers
with the real bundled model's vectors, in shuffled order as a server may; other modes misbehave.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from finagent.settings import Settings
from knowledge.embeddings import EmbeddingError, LocalEmbedder, RemoteEmbedder, get_embedder
from knowledge.ingest import ingest
from knowledge.retrieval import RetrievalError, Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore
from tests.conftest import free_port
from tests.unit.knowledge.conftest import FIXTURES


class Endpoint:
    def __init__(self, model: LocalEmbedder) -> None:
        self.model = model
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def endpoint(real_embedder: LocalEmbedder) -> Iterator[tuple[str, Endpoint]]:
    state = Endpoint(real_embedder)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            if state.mode == "down":
                self.send_response(503)
                self.end_headers()
                return
            texts = body["input"]
            if state.mode == "short":
                texts = texts[:-1]
            rows = [
                {"object": "embedding", "index": i, "embedding": v.tolist()}
                for i, v in enumerate(state.model.embed(texts))
            ]
            random.Random(len(rows)).shuffle(rows)  # the protocol orders by "index", not by position
            payload = b"{not json" if state.mode == "garbled" else json.dumps({"data": rows}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", state
    server.shutdown()
    server.server_close()


def test_vectors_come_back_in_input_order_in_batches(
    endpoint: tuple[str, Endpoint], real_embedder: LocalEmbedder
) -> None:
    url, state = endpoint
    remote = RemoteEmbedder(url, "minilm-served", api_key="secret", batch_size=4)
    texts = [f"how much is transfer fee number {n}" for n in range(10)]

    vectors = remote.embed(texts)

    assert remote.name == "remote:minilm-served" and remote.dimension == 384
    assert np.allclose(vectors, real_embedder.embed(texts), atol=1e-5)
    sent = state.requests[1:]  # the first request was the dimension probe
    assert [len(r["input"]) for r in sent] == [4, 4, 2]
    assert all(r["path"] == "/v1/embeddings" and r["model"] == "minilm-served" for r in sent)
    assert all(r["auth"] == "Bearer secret" for r in sent)


@pytest.mark.parametrize("mode", ["down", "garbled", "short"])
def test_a_misbehaving_endpoint_is_a_clear_error(endpoint: tuple[str, Endpoint], mode: str) -> None:
    url, state = endpoint
    remote = RemoteEmbedder(url, "m")
    state.mode = mode
    with pytest.raises(EmbeddingError, match="embedding endpoint"):
        remote.embed(["lost card", "fees"])


def test_a_dead_endpoint_is_a_clear_error() -> None:
    with pytest.raises(EmbeddingError, match="failed"):
        RemoteEmbedder(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=2)


def test_the_index_remembers_which_model_built_it(
    tmp_path: Path, endpoint: tuple[str, Endpoint], real_embedder: LocalEmbedder
) -> None:
    url, _ = endpoint
    settings = Settings(
        data_dir=tmp_path, chroma_url=None, embedding_base_url=url, embedding_model="minilm-served"
    )
    remote = get_embedder(settings)
    assert isinstance(remote, RemoteEmbedder)
    ingest(FIXTURES / "corpus", settings, progress=False, embedder=remote, today=date(2026, 1, 15))

    store = ChunkStore.from_settings(settings)
    hits = Retriever(store, remote, snapshot_dir(settings), today=lambda: date(2026, 1, 15)).search(
        "lost my card what do i do", k=3
    )
    assert hits[0].doc_id == "card-lost-stolen"
    # Vectors from two models cannot be compared: the local model may not search this index.
    with pytest.raises(RetrievalError, match="remote:minilm-served"):
        Retriever(store, real_embedder, snapshot_dir(settings))
