"""`finagent bench retrieval --out DIR`: search latency per corpus size, ingest throughput, re-ingest time.

Targets (issue #3): p50 <= 20 ms and p99 <= 60 ms at 100k chunks on the 2-core machine, and an
unchanged re-ingest in under 5 s. Everything runs in DIR/work, never in the app's store.

The corpus has far fewer than 100k chunks, so the larger sizes are padded with filler chunks:
their text is sentences drawn at random from the real corpus, and their vectors are random
mixtures of real chunk vectors plus noise (embedding 100k texts on two cores would take most of
an hour and would not change how long a search takes). Each filler chunk gets as many passage
vectors as a real chunk has on average (each a mixture of its chunk's vector and a real passage
vector), so the dense index grows as it would. results.json says so in `filler`.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from finagent.settings import Settings
from knowledge.embeddings import Embedder, get_embedder
from knowledge.ingest import OPEN_END, ingest
from knowledge.lexical import tokenize
from knowledge.retrieval import Retriever
from knowledge.snapshot import lexical_record, passage_matrix, read_records, snapshot_dir, write_snapshot
from knowledge.store import ChunkStore, StoredChunk
from knowledge.vectors import DenseIndex

SIZES = (10_000, 100_000)
TARGETS = {"p50_ms_at_100k": 20.0, "p99_ms_at_100k": 60.0, "reingest_unchanged_s": 5.0}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _queries(settings: Settings, chunks: list[StoredChunk], limit: int) -> list[str]:
    path = settings.kb_corpus_dir.parent.parent / "evals" / "datasets" / "retrieval_questions.jsonl"
    questions: list[str] = []
    if path.exists():
        questions = [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    if len(questions) < 20:  # no question file yet: section headings stand in for questions
        questions += [c.metadata["section"] or c.metadata["title"] for c in chunks]
    random.Random(7).shuffle(questions)
    return questions[:limit]


def _measure(retriever: Retriever, queries: list[str], audience: str = "public") -> dict[str, Any]:
    for q in queries[:20]:  # warm-up: caches, lazy imports, jieba dictionary
        retriever.search(q, k=5)
    totals: list[float] = []
    parts: dict[str, list[float]] = {
        "query_ms": [],
        "embed_ms": [],
        "dense_ms": [],
        "lexical_ms": [],
        "fetch_ms": [],
    }
    for q in queries:
        started = time.perf_counter()
        retriever.search(q, k=5, audience="internal" if audience == "internal" else "public")
        totals.append((time.perf_counter() - started) * 1e3)
        for name, values in parts.items():
            values.append(getattr(retriever.last_timings, name))
    return {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "queries": len(queries),
        "p50_ms": round(_percentile(totals, 50), 2),
        "p95_ms": round(_percentile(totals, 95), 2),
        "p99_ms": round(_percentile(totals, 99), 2),
        "mean_ms": round(statistics.fmean(totals), 2),
        "mean_breakdown_ms": {name: round(statistics.fmean(v), 2) for name, v in parts.items()},
    }


def _ann_recall(embedder: Embedder, folder: Path, queries: list[str], n: int = 30) -> float:
    """Share of the exact top-n public neighbours that the searched index returns (1.0 = exact)."""
    from knowledge.lexical import LexicalIndex

    dense, lexical = DenseIndex.load(folder), LexicalIndex.load(folder)
    mask = ~lexical.audience
    found = 0
    for vector in embedder.embed(queries):
        exact = {row for row, _ in dense._exact(vector, mask, n)}
        found += len(exact & {row for row, _ in dense.search(vector, mask, n)})
    return round(found / (n * len(queries)), 4) if queries else 1.0


def _filler_passages(
    chunk_vectors: np.ndarray, real_passages: np.ndarray, per_chunk: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Passage vectors for filler chunks: (vectors, index of the owning filler chunk)."""
    nprng = np.random.default_rng(seed)
    counts = nprng.poisson(per_chunk, len(chunk_vectors))
    owners = np.repeat(np.arange(len(chunk_vectors)), counts)
    if not len(owners) or not len(real_passages):
        return np.zeros((0, chunk_vectors.shape[1]), dtype=np.float32), np.zeros(0, dtype=np.int64)
    mix = (
        0.5 * chunk_vectors[owners] + 0.5 * real_passages[nprng.integers(0, len(real_passages), len(owners))]
    )
    mix += nprng.normal(0, 0.02, mix.shape)
    return (mix / np.linalg.norm(mix, axis=1, keepdims=True)).astype(np.float32), owners


def _filler(
    real: list[StoredChunk], vectors: np.ndarray, count: int, start: int, rng: random.Random
) -> tuple[list[StoredChunk], np.ndarray]:
    sentences = [s for c in real for s in re.split(r"(?<=[.!?。！？])\s*", c.text) if len(s) > 20]
    chunks, rows = [], []
    nprng = np.random.default_rng(start)
    for n in range(start, start + count):
        picks = rng.sample(range(len(real)), 3)
        mix = nprng.dirichlet(np.ones(3)) @ vectors[picks] + nprng.normal(0, 0.02, vectors.shape[1])
        rows.append(mix / np.linalg.norm(mix))
        source = real[picks[0]].metadata
        meta = dict(source) | {
            "doc_id": f"filler-{n // 8}",
            "doc_key": f"filler-{n // 8}@v1",
            "title": f"Filler {n // 8}",
            "audience": "internal" if rng.random() < 0.2 else "public",
            "translation_of": "",
            "effective_from": 0,
            "effective_until": OPEN_END,
        }
        text = " ".join(rng.sample(sentences, min(len(sentences), 4)))
        chunks.append(StoredChunk(f"filler-{n // 8}@v1#{n % 8:03d}", text, meta))
    return chunks, np.asarray(rows, dtype=np.float32)


def _embedding_throughput(embedder: Embedder, real: list[StoredChunk], n: int = 512) -> float:
    texts = [real[i % len(real)].text for i in range(n)]
    started = time.perf_counter()
    embedder.embed(texts)
    return n / (time.perf_counter() - started)


def main(
    out_dir: Path, settings: Settings, sizes: tuple[int, ...] = SIZES, queries: int = 300
) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "work"
    shutil.rmtree(work, ignore_errors=True)
    base = settings.model_copy(update={"data_dir": work, "chroma_url": None})
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        # Other work on the machine inflates latency; the load average says how quiet it was.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "corpus": str(settings.kb_corpus_dir),
        "targets": TARGETS,
    }

    started = time.perf_counter()
    embedder = get_embedder(base)
    results["model_load_s"] = round(time.perf_counter() - started, 2)

    # Ingest throughput on the real corpus (the model is already loaded).
    ingest_settings = base.model_copy(update={"chroma_collection": "bench-ingest"})
    first = ingest(settings.kb_corpus_dir, ingest_settings, progress=False, embedder=embedder)
    again = ingest(settings.kb_corpus_dir, ingest_settings, progress=False, embedder=embedder)
    results["ingest"] = {
        "documents": first.added,
        "chunks": first.chunks,
        "seconds": round(first.seconds, 2),
        "chunks_per_s": round(first.chunks / first.seconds, 1) if first.seconds else None,
        "reingest_unchanged_s": round(again.seconds, 3),
        "reingest_embedded_chunks": again.embedded_chunks,
    }
    store = ChunkStore.from_settings(ingest_settings)
    real = list(store.iter_all())
    fetched = store.fetch([c.chunk_id for c in real])
    vectors = np.stack([fetched[c.chunk_id].embedding for c in real])  # type: ignore[misc]
    real_passages = list(store.iter_passages())
    results["ingest"]["passages"] = len(real_passages)
    results["embedding_chunks_per_s"] = round(_embedding_throughput(embedder, real), 1)
    query_set = _queries(settings, real, queries)

    # Latency at growing sizes: one collection, padded with filler between measurements.
    scale = base.model_copy(update={"chroma_collection": "bench-scale"})
    scale_store = ChunkStore.from_settings(scale)
    scale_store.add([StoredChunk(c.chunk_id, c.text, c.metadata) for c in real], vectors)
    folder = snapshot_dir(scale)
    records = read_records(snapshot_dir(ingest_settings))
    by_id = {c.chunk_id: row for c, row in zip(real, vectors, strict=True)}
    matrix = np.stack([by_id[r["chunk_id"]] for r in records])  # snapshot row order
    passages, owners = passage_matrix(records, real_passages, int(matrix.shape[1]))
    per_chunk = len(owners) / max(1, len(records))
    rng = random.Random(11)
    latency = []
    for size in (len(real), *[s for s in sizes if s > len(real)]):
        missing = size - scale_store.count()
        build_started = time.perf_counter()
        for offset in range(0, missing, 5000):
            batch = min(5000, missing - offset)
            chunks, rows = _filler(real, vectors, batch, scale_store.count(), rng)
            scale_store.add(chunks, rows)
            extra, extra_owners = _filler_passages(rows, passages, per_chunk, len(records))
            passages = np.concatenate([passages, extra])
            owners = np.concatenate([owners, extra_owners + len(records)])
            records += [lexical_record(c.chunk_id, c.metadata, tokenize(c.text)) for c in chunks]
            matrix = np.concatenate([matrix, rows])
        generation = f"bench-{size}"
        write_snapshot(folder, generation, records, matrix, passages, owners)
        scale_store.mark(generation=generation, embedder=embedder.name)
        build_s = time.perf_counter() - build_started
        open_started = time.perf_counter()
        retriever = Retriever(scale_store, embedder, folder)
        open_s = time.perf_counter() - open_started
        row = {
            "chunks": scale_store.count(),
            "passages": len(owners),
            "build_s": round(build_s, 1),
            "open_s": round(open_s, 2),
        }
        row |= _measure(retriever, query_set)
        row["dense_recall_vs_exact"] = _ann_recall(embedder, folder, query_set[:50])
        latency.append(row)
        print(json.dumps(row))  # progress for whoever runs the benchmark

    results["latency"] = latency
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["filler"] = (
        "sizes above the real corpus are padded with filler chunks: text = 4 random sentences of the "
        "corpus, vector = random Dirichlet mixture of 3 real chunk vectors + N(0, 0.02) noise, 20% internal; "
        "Poisson(real passages per chunk) passage vectors each = mean of the chunk vector and a random real "
        "passage vector + N(0, 0.02) noise"
    )
    at_max = latency[-1]
    results["verdict"] = {
        "largest_size": at_max["chunks"],
        "p50_ok": at_max["p50_ms"] <= TARGETS["p50_ms_at_100k"],
        "p99_ok": at_max["p99_ms"] <= TARGETS["p99_ms_at_100k"],
        "reingest_ok": results["ingest"]["reingest_unchanged_s"] < TARGETS["reingest_unchanged_s"],
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results["verdict"]))
    return results
