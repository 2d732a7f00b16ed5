"""`finagent bench streaming --out DIR`: what holding each sentence until every check has passed costs
the first token.

An answer is released a sentence at a time. Before a sentence goes out, the whole text so far is
checked: compliance, numbers, names (the gate before this change) and now also groundedness (which
used to run once at the end, and could then replace text the customer had already read). The first
token therefore waits for (a) the model to finish the first sentence, unchanged, and (b) the checks
on that sentence: this benchmark measures (b), before and after, on every passage of the shipped
corpus used as the reply to itself, and writes DIR/results.json.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

from agents.service.answer import _words, passes_checks
from finagent.settings import Settings
from knowledge.chunking import chunk_document
from knowledge.documents import iter_corpus_files, load_file
from knowledge.grounding import check_grounding, extract_facts, split_sentences
from knowledge.types import Hit

MAX_CASES = 400


def _cases(corpus: Path) -> list[tuple[str, Hit]]:
    cases: list[tuple[str, Hit]] = []
    for path in iter_corpus_files(corpus):
        for doc in load_file(path, corpus):
            if doc.meta.audience != "public":
                continue
            for chunk in chunk_document(doc):
                sentences = [s for s in split_sentences(chunk.text) if len(s) > 20]
                if not sentences:
                    continue
                hit = Hit(chunk_id=chunk.chunk_id, doc_id=doc.meta.id, title=doc.meta.title,
                          section=chunk.section, text=chunk.text, score=1.0, relevance=1.0)  # fmt: skip
                cases.append((sentences[0], hit))
    return cases[:MAX_CASES]


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max": round(ordered[-1], 3),
    }


def measure(corpus: Path) -> dict[str, Any]:
    before, after = [], []
    for sentence, hit in _cases(corpus):
        sources = f"{hit.title} {hit.section} {hit.text}"
        facts, words = extract_facts(sources), _words(sources)
        start = time.perf_counter()
        passes_checks(sentence, facts, words)
        gate = time.perf_counter()
        check_grounding(sentence, [hit])
        end = time.perf_counter()
        before.append((gate - start) * 1000)
        after.append((end - start) * 1000)
    return {
        "cases": len(before),
        "first_sentence_checks_ms_before": _ms(before),
        "first_sentence_checks_ms_after": _ms(after),
        "added_ms_p50": round(statistics.median(a - b for a, b in zip(after, before, strict=True)), 3),
        "note": "time from the first sentence's last token to its release; the model's time to write "
        "the first sentence comes on top and is unchanged",
    }


def main(out: Path, settings: Settings) -> None:
    out.mkdir(parents=True, exist_ok=True)
    measure(settings.kb_corpus_dir)  # warm-up: stemmer, tokenizer, regex caches
    results = measure(settings.kb_corpus_dir)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
