"""The first k hits do not depend on k: `search(q, k=10) == search(q, k=20)[:10]`.

Run on the shipped corpus (88 documents, enough for pools to differ) with a deterministic hashing
embedder instead of the model, so the test ingests in seconds. The property is about how the
rankers' pools are cut and fused, which is the same whatever the vectors are. The queries are the
corpus's own section headings plus a few written here; none comes from the eval's question file.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date
from functools import cache

import numpy as np
import pytest

from finagent.settings import PROJECT_ROOT, Settings
from knowledge.ingest import ingest
from knowledge.lexical import tokenize
from knowledge.retrieval import Retriever
from knowledge.snapshot import snapshot_dir
from knowledge.store import ChunkStore

CORPUS = PROJECT_ROOT / "knowledge" / "corpus"
TODAY = date(2026, 6, 1)
DIM = 64


@cache
def _token_vector(token: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


class HashingEmbedder:
    """A bag of pseudo-random word vectors: similar wording, similar vectors; no model."""

    name = "test-hashing-64"
    dimension = DIM

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in tokenize(text):
                out[i] += _token_vector(token)
            norm = float(np.linalg.norm(out[i]))
            if norm:
                out[i] /= norm
        return out


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    settings = Settings(data_dir=tmp_path_factory.mktemp("kb"), chroma_url=None)
    embedder = HashingEmbedder()
    ingest(CORPUS, settings, progress=False, embedder=embedder, today=TODAY)
    return Retriever(
        ChunkStore.from_settings(settings), embedder, snapshot_dir(settings), today=lambda: TODAY
    )


def _headings(folder: str, count: int) -> list[str]:
    found: list[str] = []
    for path in sorted((CORPUS / folder).rglob("*.md")):
        found += [line.lstrip("#").strip() for line in path.read_text(encoding="utf-8").splitlines()]
        found = [h for h in found if h]
    headings = sorted({h for h in found if len(h) > 6 and not h.startswith(("---", "|", "-"))})
    random.Random(3).shuffle(headings)
    return headings[:count]


def _english() -> list[str]:
    own = [
        "lost card abroad",
        "fee for sending money outside europe",
        "how do i complain",
        "interest on savings",
    ]
    return own + [
        h for f in ("cards", "transfers", "accounts", "loans", "deposits", "wealth") for h in _headings(f, 6)
    ]


def _chinese() -> list[str]:
    own = [
        "我的卡丢了",
        "国际汇款手续费多少",
        "怎么投诉",
        "定期存款利率",
        "card被盗 怎么办",
        "SEPA 转账要多久",
    ]
    return own + _headings("zh", 24)


def _ids(retriever: Retriever, query: str, k: int, **filters: str) -> list[str]:
    return [h.chunk_id for h in retriever.search(query, k=k, **filters)]  # type: ignore[arg-type]


QUERIES = {"en": _english, "zh": _chinese}


@pytest.mark.parametrize(
    ("language", "filters"),
    [
        ("en", {}),
        ("zh", {}),
        ("en", {"audience": "internal"}),
        ("zh", {"language": "zh"}),
        ("en", {"language": "en"}),
    ],
    ids=["en", "zh", "en-internal", "zh-only-chinese-pages", "en-only-english-pages"],
)
def test_the_first_ten_of_twenty_hits_are_the_ten_hits(
    retriever: Retriever, language: str, filters: dict[str, str]
) -> None:
    queries = QUERIES[language]()
    assert len(queries) >= 30
    differ = [
        q for q in queries if _ids(retriever, q, 10, **filters) != _ids(retriever, q, 20, **filters)[:10]
    ]
    assert differ == []


def test_any_two_sizes_agree_on_what_they_share(retriever: Retriever) -> None:
    for query in [*_english()[:8], *_chinese()[:8]]:
        longest = _ids(retriever, query, 50, audience="internal")
        for k in (1, 3, 5, 8, 15, 30):
            assert _ids(retriever, query, k, audience="internal") == longest[:k], (query, k)


def test_a_k_larger_than_the_pool_still_gets_k_hits(retriever: Retriever) -> None:
    hits = retriever.search("fees", k=50, audience="internal")
    assert len(hits) == 50
    assert len({h.doc_id for h in hits}) == 50  # one passage per document while documents are left
