"""`finagent ingest PATH`: load, chunk, embed and index a folder of documents, incrementally.

Each stored document version is keyed `id@vN` and carries the SHA-256 of its text and metadata.
Every chunk is embedded whole and, when it has several sentences, list items or table rows, once
per such passage (chunking.passages); passage vectors are stored beside the chunk and go with it.
A re-run embeds only documents whose hash changed, deletes the chunks of documents that left the
folder, and leaves everything else alone. Which version is served is decided by a serving window
(`effective_from` .. `effective_until`) stored on every chunk and checked at query time, so a
scheduled version takes over on its effective date without another ingest.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from finagent.settings import Settings
from knowledge.chunking import CHUNKER_VERSION, chunk_document, index_text
from knowledge.documents import Document, DocumentError, inherit_from_originals, iter_corpus_files, load_file
from knowledge.embeddings import Embedder, Vectors, get_embedder
from knowledge.lexical import tokenize
from knowledge.snapshot import (
    lexical_record,
    passage_matrix,
    read_generation,
    read_records,
    snapshot_dir,
    write_snapshot,
)
from knowledge.store import CHUNK_SCHEMA, ChunkStore, StoredChunk
from knowledge.vectors import DenseIndex

ALWAYS = 0  # effective_from of a document without an effective date
OPEN_END = 99991231  # effective_until of the newest version


def today_utc() -> date:
    # Effective dates are compared in UTC so every worker and region agrees on what is in force.
    return datetime.now(UTC).date()


def day_number(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0  # chunks in the index after the run
    embedded_chunks: int = 0  # chunks embedded by this run
    seconds: float = 0.0
    superseded: list[str] = field(default_factory=list)  # versions a newer effective version replaced
    scheduled: list[str] = field(default_factory=list)  # indexed, served from their effective date
    errors: list[str] = field(default_factory=list)  # files or records that were skipped, and why

    def render(self) -> str:
        lines = [
            f"documents: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed",
            f"chunks: {self.chunks} in the index, {self.embedded_chunks} embedded in {self.seconds:.2f} s",
        ]
        if self.superseded:
            lines.append(f"superseded (not served): {', '.join(self.superseded)}")
        if self.scheduled:
            lines.append(f"scheduled (served from their effective date): {', '.join(self.scheduled)}")
        lines += [f"skipped: {error}" for error in self.errors]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Planned:
    doc: Document
    effective_from: int
    effective_until: int

    @property
    def doc_hash(self) -> str:
        return hashlib.sha256(f"{self.doc.content_hash}:{CHUNKER_VERSION}".encode()).hexdigest()


def load_corpus(path: Path, errors: list[str], progress: bool = False) -> list[Document]:
    from tqdm import tqdm

    root = path if path.is_dir() else path.parent
    docs: list[Document] = []
    seen: dict[str, str] = {}
    files = list(iter_corpus_files(path))
    for file in tqdm(files, desc="reading", unit="file", disable=not progress):
        try:
            loaded = load_file(file, root)
        except (DocumentError, OSError, UnicodeDecodeError) as exc:
            errors.append(str(exc) if isinstance(exc, DocumentError) else f"{file}: {exc}")
            continue
        except Exception as exc:  # a malformed PDF or HTML file must not stop the whole corpus
            errors.append(f"{file}: cannot be read ({type(exc).__name__}: {exc})")
            continue
        for doc in loaded:
            if doc.key in seen:
                errors.append(f"{doc.source}: duplicate {doc.key}, already defined in {seen[doc.key]}")
                continue
            seen[doc.key] = doc.source
            docs.append(doc)
    return inherit_from_originals(docs, errors)


def plan_serving(docs: list[Document], today: date) -> tuple[list[_Planned], list[str]]:
    """Give each version its serving window; drop versions that can never be served again."""
    by_id: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        by_id[doc.meta.id].append(doc)
    planned: list[_Planned] = []
    superseded: list[str] = []
    now = day_number(today)
    for versions in by_id.values():
        versions.sort(key=lambda d: d.meta.version)
        starts = [day_number(d.meta.effective_date) if d.meta.effective_date else ALWAYS for d in versions]
        for i, doc in enumerate(versions):
            # A version stops being served as soon as any newer version is in force.
            until = min(starts[i + 1 :], default=OPEN_END)
            if until <= max(starts[i], now) and until != OPEN_END:
                superseded.append(doc.key)
                continue
            planned.append(_Planned(doc, starts[i], until))
    return planned, sorted(superseded)


def _chunk_metadata(item: _Planned, section: str, position: int) -> dict[str, Any]:
    meta = item.doc.meta
    return {
        "doc_id": meta.id,
        "doc_key": item.doc.key,
        "doc_hash": item.doc_hash,
        "title": meta.title,
        "section": section,
        "type": meta.type,
        "product": meta.product,
        "product_type": meta.product_type,
        "audience": meta.audience,
        "language": meta.language,
        "version": meta.version,
        "effective_date": meta.effective_date.isoformat() if meta.effective_date else "",
        "effective_from": item.effective_from,
        "effective_until": item.effective_until,
        "translation_of": meta.translation_of or "",
        "source": item.doc.source,
        "position": position,
    }


def _generation(state: dict[str, tuple[str, int, int]]) -> str:
    payload = "\n".join(f"{key} {h} {f} {u}" for key, (h, f, u) in sorted(state.items()))
    return hashlib.sha256(payload.encode()).hexdigest()


def ingest(
    path: Path,
    settings: Settings,
    *,
    progress: bool = True,
    embedder: Embedder | None = None,
    today: date | None = None,
) -> IngestSummary:
    """Bring the index in line with the documents under `path` (see the module docstring)."""
    from tqdm import tqdm

    started = time.perf_counter()
    summary = IngestSummary()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    docs = load_corpus(path, summary.errors, progress)
    planned, summary.superseded = plan_serving(docs, today or today_utc())
    now = day_number(today or today_utc())
    summary.scheduled = sorted(p.doc.key for p in planned if p.effective_from > now)

    embedder = embedder or get_embedder(settings)
    store = ChunkStore.from_settings(settings)
    if store.embedder not in (None, embedder.name):
        store.reset()  # vectors from another model cannot be compared with the new ones
    elif store.embedder is not None and store.schema < CHUNK_SCHEMA:
        store.reset()  # written by an older finagent: its chunks lack metadata hits now carry

    existing: dict[str, dict[str, Any]] = {}
    for chunk in store.iter_all(with_text=False):
        entry = existing.setdefault(
            chunk.metadata["doc_key"], {"hash": chunk.metadata["doc_hash"], "ids": []}
        )
        entry["ids"].append(chunk.chunk_id)
        entry["window"] = (chunk.metadata["effective_from"], chunk.metadata["effective_until"])

    wanted = {p.doc.key: p for p in planned}
    to_delete: list[str] = []
    for key, entry in existing.items():
        if key not in wanted:
            summary.removed += 1
            to_delete += entry["ids"]
    to_embed: list[tuple[_Planned, Any]] = []
    window_updates: list[tuple[list[str], _Planned]] = []
    for key, item in wanted.items():
        old = existing.get(key)
        if old is None:
            summary.added += 1
        elif old["hash"] != item.doc_hash:
            summary.updated += 1
            to_delete += old["ids"]
        else:
            summary.unchanged += 1
            if old["window"] != (item.effective_from, item.effective_until):
                window_updates.append((old["ids"], item))
            continue
        to_embed += [(item, chunk) for chunk in chunk_document(item.doc)]

    store.delete(to_delete)
    for ids, item in window_updates:
        metas = [
            _chunk_metadata(item, c.metadata["section"], c.metadata["position"]) for c in _peek(store, ids)
        ]
        store.update_metadata(ids, metas)

    new_tokens: dict[str, list[str]] = {}
    batch = 256
    bar = tqdm(total=len(to_embed), desc="embedding", unit="chunk", disable=not progress or not to_embed)
    for start in range(0, len(to_embed), batch):
        part = to_embed[start : start + batch]
        texts = [chunk.index_text(item.doc.meta.title) for item, chunk in part]
        owners, passage_texts = [], []
        for item, chunk in part:
            for text in chunk.passage_texts(item.doc.meta.title):
                owners.append(chunk.chunk_id)
                passage_texts.append(text)
        vectors = embedder.embed(texts + passage_texts)  # one call: the model batches them together
        stored = [
            StoredChunk(chunk.chunk_id, chunk.text, _chunk_metadata(item, chunk.section, chunk.position))
            for item, chunk in part
        ]
        # Passages first: a stored chunk then always has its passages, even if this run dies
        # between the two writes (a passage whose chunk never arrived is ignored and overwritten).
        if owners:
            store.add_passages(owners, vectors[len(texts) :])
        store.add(stored, vectors[: len(texts)])
        new_tokens.update(
            {chunk.chunk_id: tokenize(text) for (_, chunk), text in zip(part, texts, strict=True)}
        )
        bar.update(len(part))
    bar.close()
    summary.embedded_chunks = len(to_embed)

    state = {key: (p.doc_hash, p.effective_from, p.effective_until) for key, p in wanted.items()}
    generation = _generation(state)
    folder = snapshot_dir(settings)
    if generation != store.generation or read_generation(folder) != generation:
        _refresh_snapshot(store, folder, generation, new_tokens)
        store.mark(generation=generation, embedder=embedder.name)
    summary.chunks = store.count()
    summary.seconds = time.perf_counter() - started
    return summary


def _peek(store: ChunkStore, ids: list[str]) -> list[StoredChunk]:
    found = store.fetch(ids)
    return [found[i] for i in ids]


def _refresh_snapshot(
    store: ChunkStore, folder: Path, generation: str, new_tokens: dict[str, list[str]]
) -> None:
    """Rebuild the search snapshot, re-using the tokens of unchanged chunks from the previous one.

    Vectors are read back from Chroma (the store of record), so the snapshot's rows always match
    what Chroma holds, whoever embedded them.
    """
    previous: dict[str, list[str]] = {}
    if folder.exists():
        try:
            previous = {r["chunk_id"]: r["tokens"] for r in read_records(folder)}
        except (OSError, ValueError, KeyError):
            previous = {}
    records: list[dict[str, Any]] = []
    vectors: list[Vectors | None] = []
    for chunk in store.iter_all(with_text=True, with_embeddings=True):
        if chunk.chunk_id in new_tokens:
            tokens = new_tokens[chunk.chunk_id]
        elif chunk.chunk_id in previous:
            tokens = previous[chunk.chunk_id]
        else:
            tokens = tokenize(index_text(chunk.metadata["title"], chunk.metadata["section"], chunk.text))
        records.append(lexical_record(chunk.chunk_id, chunk.metadata, tokens))
        vectors.append(chunk.embedding)
    matrix = DenseIndex.stack(vectors, store.name)
    passages, owners = passage_matrix(
        records, store.iter_passages(), int(matrix.shape[1]) if len(records) else 0
    )
    write_snapshot(folder, generation, records, matrix, passages, owners)
