"""A Chinese-to-English word map learnt from the corpus's own translations.

The bundled embedding model is English-only, so a Chinese question about a document that exists
only in English finds nothing by meaning, and BM25 finds nothing by words. But the corpus holds
translated pairs (`translation_of`), whose sections line up one to one. Counting which Chinese
and English words share aligned sections (Dice coefficient) gives a small bilingual lexicon with
no model and no download; a Chinese query is then expanded with the English words it maps to.
It learns only what the bank has translated, so its reach grows with the corpus.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

MIN_PAIRS = 2  # a word pair seen in one section only is chance
MIN_DICE = 0.5
PER_WORD = 1


def _sections(records: list[dict[str, Any]]) -> dict[str, list[set[str]]]:
    """Token sets per section, in document order, for every document."""
    by_doc: dict[str, dict[str, tuple[int, set[str]]]] = defaultdict(dict)
    for r in records:
        doc, section = r.get("doc_key", ""), r.get("section", "")
        first, tokens = by_doc[doc].get(section, (r.get("position", 0), set()))
        tokens.update(r["tokens"])
        by_doc[doc][section] = (min(first, r.get("position", 0)), tokens)
    return {
        doc: [t for _, t in sorted(sections.values(), key=lambda x: x[0])] for doc, sections in by_doc.items()
    }


def build_lexicon(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    translations = {r["doc_key"]: r["translation_of"] for r in records if r.get("translation_of")}
    if not translations:
        return {}
    sections = _sections([r for r in records if r.get("doc_key")])
    english = {r["doc_id"]: r["doc_key"] for r in records if r.get("language") == "en" and r.get("doc_id")}
    pairs: list[tuple[set[str], set[str]]] = []
    for zh_key, source_id in translations.items():
        en_key = english.get(source_id)
        if en_key is None:
            continue
        zh_sections, en_sections = sections.get(zh_key, []), sections.get(en_key, [])
        if len(zh_sections) == len(en_sections):
            pairs += list(zip(zh_sections, en_sections, strict=True))
        else:  # structure differs: the whole documents are the aligned unit
            pairs.append((set().union(*zh_sections), set().union(*en_sections)))
    zh_count: Counter[str] = Counter()
    en_count: Counter[str] = Counter()
    joint: Counter[tuple[str, str]] = Counter()
    for zh_tokens, en_tokens in pairs:
        zh_words = {t for t in zh_tokens if not t.isascii()}
        en_words = {t for t in en_tokens if t.isascii() and t.isalpha()}
        zh_count.update(zh_words)
        en_count.update(en_words)
        joint.update((z, e) for z in zh_words for e in en_words)
    candidates: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (z, e), both in joint.items():
        if both < MIN_PAIRS:
            continue
        dice = 2 * both / (zh_count[z] + en_count[e])
        if dice >= MIN_DICE:
            candidates[z].append((dice, e))
    return {z: [e for _, e in sorted(c, reverse=True)[:PER_WORD]] for z, c in candidates.items()}


def expand(tokens: list[str], lexicon: dict[str, list[str]]) -> list[str]:
    extra = [e for t in tokens if not t.isascii() for e in lexicon.get(t, [])]
    return tokens + [e for e in dict.fromkeys(extra) if e not in tokens]
