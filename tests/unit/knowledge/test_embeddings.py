"""The bundled MiniLM served through its ONNX export gives sentence-transformers' own vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from finagent.settings import Settings
from knowledge.embeddings import (
    MINILM_SHA256,
    EmbeddingError,
    LocalEmbedder,
    SentenceTransformerEmbedder,
    bundled_model_dir,
    get_embedder,
    verify_weights,
)

TEXTS = [
    "lost my card",
    "我的银行卡丢了怎么办",
    "",
    "International transfers sent after the cut-off are processed on the next business day. " * 20,
] + [f"What is the fee for transfer number {n} to a SEPA account?" for n in range(12)]


def test_vectors_match_sentence_transformers_one_by_one_and_in_batches(real_embedder: LocalEmbedder) -> None:
    torch_runtime = get_embedder(Settings(embedding_runtime="sentence-transformers"))
    assert isinstance(torch_runtime, SentenceTransformerEmbedder)
    assert torch_runtime.name == real_embedder.name  # one vector space: switching needs no re-ingest
    reference = torch_runtime.embed(TEXTS)
    batched = real_embedder.embed(TEXTS)  # more than a query's worth: the padded, multi-thread path
    single = np.vstack([real_embedder.embed([t]) for t in TEXTS])
    assert batched.shape == single.shape == (len(TEXTS), 384)
    assert np.min(np.sum(batched * reference, axis=1)) > 0.9999
    assert np.min(np.sum(single * reference, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert real_embedder.embed([]).shape == (0, 384)


def test_a_damaged_export_is_made_again(real_embedder: LocalEmbedder, tmp_path: Path) -> None:
    shipped = real_embedder._onnx_path
    cache = tmp_path / "cache"
    (cache / "onnx").mkdir(parents=True)
    damaged = cache / "onnx" / shipped.name
    damaged.write_bytes(shipped.read_bytes()[:1000])  # a download or copy cut short
    shutil.copy(shipped.with_suffix(".json"), damaged.with_suffix(".json"))

    embedder = LocalEmbedder(cache_dir=cache)

    record = json.loads(damaged.with_suffix(".json").read_text())
    assert record["weights_sha256"] == MINILM_SHA256
    assert damaged.stat().st_size == shipped.stat().st_size
    vector = embedder.embed(["lost my card"])
    assert float(vector[0] @ real_embedder.embed(["lost my card"])[0]) > 0.9999


def test_weights_that_are_not_the_pinned_ones_are_refused(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), model, ignore=shutil.ignore_patterns("model.safetensors"))
    (model / "model.safetensors").write_bytes(b"not the weights")  # the rest of the folder is intact
    with pytest.raises(EmbeddingError, match="refusing to load it"):
        verify_weights(model)
    with pytest.raises(EmbeddingError, match="refusing"):
        LocalEmbedder(model_dir=model, cache_dir=Settings().cache_dir)
