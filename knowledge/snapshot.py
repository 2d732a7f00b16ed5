"""The BM25 snapshot kept on disk beside the vector store.

Chroma is the source of truth. The snapshot (chunk tokens plus the fields that filters need) is
derived from it and stamped with the collection's generation; a process that finds the stamps
differ (another machine ingested into a shared Chroma server, or the files were lost) rebuilds the
snapshot from Chroma without re-embedding anything.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from finagent.settings import Settings
from knowledge.chunking import index_text
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.store import ChunkStore

STATE_FILE = "state.json"
RECORDS_FILE = "records.jsonl"


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
        return str(json.loads((folder / STATE_FILE).read_text())["generation"])
    except (OSError, ValueError, KeyError):
        return None


def read_records(folder: Path) -> list[dict[str, Any]]:
    with (folder / RECORDS_FILE).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_snapshot(folder: Path, generation: str, records: Iterable[dict[str, Any]]) -> LexicalIndex:
    """Write atomically: readers see either the old snapshot or the new one, never half of one."""
    rows = list(records)
    index = LexicalIndex.build(rows)
    staging = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / RECORDS_FILE).open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    (staging / STATE_FILE).write_text(json.dumps({"generation": generation, "chunks": len(rows)}))
    retired = folder.with_name(f"{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(retired)
    staging.rename(folder)
    shutil.rmtree(retired, ignore_errors=True)
    return index


def rebuild_from_store(store: ChunkStore, folder: Path) -> LexicalIndex:
    generation = store.generation
    records = [
        lexical_record(
            chunk.chunk_id,
            chunk.metadata,
            tokenize(index_text(chunk.metadata["title"], chunk.metadata["section"], chunk.text)),
        )
        for chunk in store.iter_all()
    ]
    return write_snapshot(folder, generation, records)


def load_or_rebuild(store: ChunkStore, folder: Path) -> tuple[LexicalIndex, str]:
    generation = store.generation
    if read_generation(folder) == generation:
        try:
            return LexicalIndex.build(read_records(folder)), generation
        except (OSError, ValueError, KeyError):
            pass  # a damaged snapshot is rebuilt below
    return rebuild_from_store(store, folder), generation
