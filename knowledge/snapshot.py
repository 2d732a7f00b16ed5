"""The search snapshot kept on disk beside the vector store.

Chroma is the source of truth. The snapshot is derived from it and stamped with the collection's
generation: chunk tokens (re-used by the next ingest), the BM25 model with the columns filters
need, and the chunk vectors in the same row order, with the passage vectors that point to those rows
(plus an HNSW graph over both at scale). A process opens
it as saved, with nothing rebuilt. One that finds the stamps differ (another machine ingested into
a shared Chroma server, or the files were lost) rebuilds it from Chroma without re-embedding.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from finagent.settings import Settings
from knowledge.chunking import index_text
from knowledge.embeddings import Vectors
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.store import ChunkStore
from knowledge.vectors import DenseIndex

STATE_FILE = "state.json"
RECORDS_FILE = "records.jsonl"
# 1 had no vectors and no saved BM25 model, 2 no passage vectors; such a snapshot is rebuilt from Chroma
FORMAT = 3


@dataclass
class Snapshot:
    lexical: LexicalIndex
    dense: DenseIndex


def snapshot_dir(settings: Settings, collection: str | None = None) -> Path:
    return settings.data_dir / "kb" / (collection or settings.chroma_collection)


def lexical_record(chunk_id: str, meta: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
    return {
        "chunk_id": chunk_id,
        "audience": meta["audience"],
        "language": meta["language"],
        "effective_from": int(meta["effective_from"]),
        "effective_until": int(meta["effective_until"]),
        "doc_id": meta.get("doc_id", ""),
        "doc_key": meta.get("doc_key", ""),
        "section": meta.get("section", ""),
        "position": int(meta.get("position", 0)),
        "translation_of": meta.get("translation_of", ""),
        "tokens": tokens,
    }


def read_generation(folder: Path) -> str | None:
    try:
        state = json.loads((folder / STATE_FILE).read_text())
        return str(state["generation"]) if state.get("format") == FORMAT else None
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def read_records(folder: Path) -> list[dict[str, Any]]:
    with (folder / RECORDS_FILE).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def passage_matrix(
    records: list[dict[str, Any]], passages: Iterable[tuple[str, Vectors]], dim: int
) -> tuple[Vectors, npt.NDArray[np.int64]]:
    """Passage vectors and the record row each belongs to; passages of unknown chunks are dropped."""
    row_of = {r["chunk_id"]: i for i, r in enumerate(records)}
    owners: list[int] = []
    vectors: list[Vectors] = []
    for chunk_id, vector in passages:
        if chunk_id in row_of:  # a chunk deleted while we read: its passages go with it
            owners.append(row_of[chunk_id])
            vectors.append(vector)
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    return matrix, np.asarray(owners, dtype=np.int64)


def write_snapshot(
    folder: Path,
    generation: str,
    records: Iterable[dict[str, Any]],
    vectors: Vectors,
    passages: Vectors | None = None,
    owners: npt.NDArray[np.int64] | None = None,
) -> Snapshot:
    """Write atomically: readers see either the old snapshot or the new one, never half of one.

    `vectors` row i belongs to `records[i]`; passage vector j belongs to record `owners[j]`.
    """
    rows = list(records)
    if len(rows) != len(vectors):
        raise ValueError(f"{len(rows)} records but {len(vectors)} vectors")
    snapshot = Snapshot(LexicalIndex.build(rows), DenseIndex.build(vectors, passages, owners))
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / RECORDS_FILE).open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    snapshot.lexical.save(staging)
    snapshot.dense.save(staging)
    state = {
        "generation": generation,
        "chunks": len(rows),
        "passages": len(snapshot.dense.owners),
        "format": FORMAT,
    }
    (staging / STATE_FILE).write_text(json.dumps(state))  # written last: it vouches for the rest
    retired = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
    return snapshot


def read_snapshot(folder: Path) -> Snapshot:
    snapshot = Snapshot(LexicalIndex.load(folder), DenseIndex.load(folder))
    if len(snapshot.lexical) != len(snapshot.dense):
        raise ValueError(f"{folder}: {len(snapshot.lexical)} BM25 rows but {len(snapshot.dense)} vectors")
    return snapshot


def rebuild_from_store(store: ChunkStore, folder: Path) -> Snapshot:
    generation = store.generation
    records: list[dict[str, Any]] = []
    vectors: list[Vectors | None] = []
    for chunk in store.iter_all(with_embeddings=True):
        text = index_text(chunk.metadata["title"], chunk.metadata["section"], chunk.text)
        records.append(lexical_record(chunk.chunk_id, chunk.metadata, tokenize(text)))
        vectors.append(chunk.embedding)
    matrix = DenseIndex.stack(vectors, store.name)
    passages, owners = passage_matrix(records, store.iter_passages(), _dim(matrix))
    return write_snapshot(folder, generation, records, matrix, passages, owners)


def _dim(matrix: Vectors) -> int:
    return int(matrix.shape[1]) if matrix.ndim == 2 else 0


def load_or_rebuild(store: ChunkStore, folder: Path) -> tuple[Snapshot, str]:
    generation = store.generation
    if read_generation(folder) == generation:
        try:
            return read_snapshot(folder), generation
        except (OSError, ValueError, KeyError):
            pass  # a damaged snapshot is rebuilt below
    return rebuild_from_store(store, folder), generation
