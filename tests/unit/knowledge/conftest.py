"""Fixtures for the knowledge-base tests.

`corpus_dir` is a small hand-written corpus (fixtures/corpus) with every format and every serving
case: a translation, an internal procedure, a superseded version and a not-yet-effective one.
Retrieval tests use the real bundled MiniLM model (loaded once per session); ingest bookkeeping
tests use `CountingEmbedder`, which wraps it and counts what was embedded.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from finagent.settings import Settings
from knowledge.embeddings import Embedder, LocalEmbedder

FIXTURES = Path(__file__).parent / "fixtures"


class CountingEmbedder:
    """The real embedder, plus a count of the texts it was asked to embed."""

    def __init__(self, inner: Embedder, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or inner.name
        self.dimension = inner.dimension
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return self.inner.embed(texts)


@pytest.fixture(scope="session")
def real_embedder() -> LocalEmbedder:
    return LocalEmbedder()


@pytest.fixture
def embedder(real_embedder: LocalEmbedder) -> CountingEmbedder:
    return CountingEmbedder(real_embedder)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy, so tests can edit and delete documents."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "corpus", target)
    return target


@pytest.fixture
def kb_settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", kb_corpus_dir=corpus_dir, chroma_url=None)
