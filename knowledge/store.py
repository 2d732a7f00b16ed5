"""The vector store: one Chroma collection of chunks with their embeddings and metadata.

Chroma is opened as a `PersistentClient` under the data folder, or as an `HttpClient` when
`CHROMA_URL` is set. finagent computes embeddings itself (see embeddings.py), so the collection has
no embedding function and the name of the vector space is kept in the collection's metadata:
mixing vectors from two models would silently return nonsense.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np

from finagent.settings import Settings
from knowledge.embeddings import Vectors
from knowledge.types import KnowledgeUnavailable

GENERATION_KEY = "finagent_generation"
EMBEDDER_KEY = "finagent_embedder"
SCHEMA_KEY = "finagent_chunk_schema"
# What every chunk's metadata holds. 2: product_type. A collection written before is read as 1.
CHUNK_SCHEMA = 2
_PAGE = 5000


def passages_collection(name: str) -> str:
    return f"{name}-passages"


class StoreError(KnowledgeUnavailable):
    pass


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    embedding: Vectors | None = None


def open_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # Telemetry would try to reach the internet; a bank's deployment must not phone home.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if not url.hostname:
            raise StoreError(f"CHROMA_URL {settings.chroma_url!r} has no host")
        ssl = url.scheme == "https"
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if ssl else 8000), ssl=ssl, settings=chroma_settings
            )
        except ValueError as exc:  # chromadb's way of saying the server did not answer
            raise StoreError(
                f"cannot reach the Chroma server at CHROMA_URL={settings.chroma_url}: {exc}"
            ) from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class ChunkStore:
    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self._collection = client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        # Passage vectors (see chunking.passages) live in a companion collection: each points back
        # to its chunk, so chunk reads, counts and fetches are unaffected by them.
        self._passages = client.get_or_create_collection(
            passages_collection(name), configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self._batch = max(1, min(int(client.get_max_batch_size()), 2000))

    @classmethod
    def from_settings(cls, settings: Settings, name: str | None = None) -> ChunkStore:
        return cls(open_client(settings), name or settings.chroma_collection)

    # --- collection-level state -------------------------------------------------------------
    def _metadata(self) -> dict[str, Any]:
        # Re-read: another process (an ingest run) may have changed it.
        with _chroma_io():
            return dict(self._client.get_collection(self.name).metadata or {})

    @property
    def generation(self) -> str:
        return str(self._metadata().get(GENERATION_KEY, ""))

    @property
    def embedder(self) -> str | None:
        value = self._metadata().get(EMBEDDER_KEY)
        return str(value) if value else None

    @property
    def schema(self) -> int:
        return int(self._metadata().get(SCHEMA_KEY, 1))

    def mark(self, *, generation: str, embedder: str) -> None:
        """Stamp the collection after a write: its generation, model, and chunk metadata schema."""
        meta = self._metadata()
        meta.update({GENERATION_KEY: generation, EMBEDDER_KEY: embedder, SCHEMA_KEY: CHUNK_SCHEMA})
        self._collection.modify(metadata=meta)

    def count(self) -> int:
        return int(self._collection.count())

    # --- writes --------------------------------------------------------------------------------
    def add(self, chunks: Sequence[StoredChunk], vectors: Vectors) -> None:
        for start in range(0, len(chunks), self._batch):
            part = chunks[start : start + self._batch]
            self._collection.add(
                ids=[c.chunk_id for c in part],
                embeddings=vectors[start : start + len(part)],
                documents=[c.text for c in part],
                metadatas=[c.metadata for c in part],
            )

    def add_passages(self, chunk_ids: Sequence[str], vectors: Vectors) -> None:
        """Passage vectors of chunks already added; `chunk_ids[i]` owns `vectors[i]`."""
        ids = _passage_ids(chunk_ids)
        for start in range(0, len(ids), self._batch):
            part = ids[start : start + self._batch]
            self._passages.upsert(  # upsert: a run that died after this write may repeat it
                ids=part,
                embeddings=vectors[start : start + len(part)],
                metadatas=[{"chunk_id": c} for c in chunk_ids[start : start + len(part)]],
            )

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(ids), self._batch):
            self._collection.update(
                ids=list(ids[start : start + self._batch]),
                metadatas=list(metadatas[start : start + self._batch]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks and their passage vectors."""
        for start in range(0, len(ids), self._batch):
            part = list(ids[start : start + self._batch])
            self._passages.delete(where={"chunk_id": {"$in": part}})
            self._collection.delete(ids=part)

    def reset(self) -> None:
        """Drop every chunk (used when the embedding model changed)."""
        for name in (self.name, passages_collection(self.name)):
            self._client.delete_collection(name)
        self._collection = self._client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        self._passages = self._client.get_or_create_collection(
            passages_collection(self.name),
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )

    # --- reads ---------------------------------------------------------------------------------
    def iter_all(self, *, with_text: bool = True, with_embeddings: bool = False) -> Iterator[StoredChunk]:
        include = (
            ["metadatas"] + (["documents"] if with_text else []) + (["embeddings"] if with_embeddings else [])
        )
        offset = 0
        while True:
            page = self._collection.get(include=include, limit=_PAGE, offset=offset)
            ids = page["ids"]
            if not ids:
                return
            docs = page.get("documents") or [""] * len(ids)
            embeddings = page.get("embeddings") if with_embeddings else None
            for n, (chunk_id, text, meta) in enumerate(zip(ids, docs, page["metadatas"], strict=True)):
                vector = None if embeddings is None else np.asarray(embeddings[n], dtype=np.float32)
                yield StoredChunk(chunk_id, text or "", dict(meta or {}), vector)
            offset += len(ids)

    def iter_passages(self) -> Iterator[tuple[str, Vectors]]:
        """(owning chunk id, passage vector) for every stored passage."""
        offset = 0
        while True:
            page = self._passages.get(include=["metadatas", "embeddings"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            for meta, vector in zip(page["metadatas"], page["embeddings"], strict=True):
                yield str((meta or {})["chunk_id"]), np.asarray(vector, dtype=np.float32)
            offset += len(page["ids"])

    def fetch(self, ids: Sequence[str], *, with_embeddings: bool = True) -> dict[str, StoredChunk]:
        if not ids:
            return {}
        include = ["metadatas", "documents"] + (["embeddings"] if with_embeddings else [])
        with _chroma_io():
            page = self._collection.get(ids=list(ids), include=include)
        embeddings = page["embeddings"] if with_embeddings else [None] * len(page["ids"])
        return {
            chunk_id: StoredChunk(
                chunk_id,
                text or "",
                dict(meta or {}),
                None if emb is None else np.asarray(emb, dtype=np.float32),
            )
            for chunk_id, text, meta, emb in zip(
                page["ids"], page["documents"], page["metadatas"], embeddings, strict=True
            )
        }


@contextmanager
def _chroma_io() -> Iterator[None]:
    """Chroma (a server, maybe) fails with errors of many types; callers get one StoreError."""
    try:
        yield
    except Exception as exc:
        raise StoreError(f"the document store failed: {type(exc).__name__}: {exc}") from exc


def _passage_ids(chunk_ids: Sequence[str]) -> list[str]:
    # "<chunk id>~<n>": n counts the passages of each chunk in the order given.
    seen: dict[str, int] = {}
    ids = []
    for chunk_id in chunk_ids:
        n = seen.get(chunk_id, 0)
        seen[chunk_id] = n + 1
        ids.append(f"{chunk_id}~{n}")
    return ids
