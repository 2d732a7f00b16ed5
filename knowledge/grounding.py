"""Does a drafted reply say only what the retrieved documents say?

Deterministic, so a compliance officer can re-run it and get the same answer:

1. Facts. Every amount, percentage, time of day and other number in the reply must also appear
   in the retrieved text (after normalising "CNY 1,000" / "1k" / "1千", "4 pm" / "16:00", "2.5 %").
   One invented fee, rate or limit makes the reply ungrounded, whatever else it says.
2. Sentences. Each sentence that makes a claim is scored by the share of its content words
   (stemmed English, jieba-segmented Chinese) found in the retrieved text, or, when an embedder
   is given, by its best cosine similarity to a retrieved chunk, whichever is higher.

Known limits: Chinese numerals written as characters (五个工作日) are not read as numbers, and a
sentence can reuse the source's words while reversing its meaning. The check is a floor, not a
proof; the compliance review still reads the reply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge.embeddings import Embedder
from knowledge.lexical import tokenize
from knowledge.types import Hit

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|％|percent\b|per\s+cent\b)", re.IGNORECASE)
_CLOCK = re.compile(r"(?<![\d.])(\d{1,2})[:：](\d{2})(?!\d)\s*(am|pm|a\.m\.|p\.m\.)?", re.IGNORECASE)
_MERIDIEM = re.compile(r"(?<![\d.:])(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(k\b|m\b|million\b|thousand\b|万|千|亿)?", re.I
)
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s+", re.MULTILINE)
_SENTENCE = re.compile(r"(?<=[.!?。！？;；])\s+|(?<=[。！？；])|\n+")
_MULTIPLIER = {"k": 1e3, "thousand": 1e3, "千": 1e3, "m": 1e6, "million": 1e6, "万": 1e4, "亿": 1e8}


@dataclass(frozen=True)
class Claim:
    sentence: str
    support: float  # 0..1 share of the sentence found in the sources
    missing_facts: tuple[str, ...] = ()  # numbers in the sentence that no source contains

    @property
    def supported(self) -> bool:
        return not self.missing_facts


@dataclass
class Grounding:
    grounded: bool
    support: float  # share of claim sentences whose support reaches the threshold
    claims: list[Claim] = field(default_factory=list)
    unsupported: list[Claim] = field(default_factory=list)
    missing_facts: list[str] = field(default_factory=list)

    def explain(self) -> str:
        if self.grounded:
            return "every fact and claim is found in the cited documents"
        parts = [f"not in the sources: {', '.join(self.missing_facts)}"] if self.missing_facts else []
        parts += [f"unsupported: {c.sentence!r} ({c.support:.2f})" for c in self.unsupported if c.supported]
        return "; ".join(parts)


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def extract_facts(text: str) -> set[str]:
    """Normalised numeric facts: 'pct:2.5', 'time:16:00', 'num:50000'."""
    text = _LIST_MARKER.sub(" ", text)
    facts: set[str] = set()
    consumed: list[tuple[int, int]] = []
    for match in _PERCENT.finditer(text):
        facts.add(f"pct:{_fmt(float(match.group(1)))}")
        consumed.append(match.span())
    for match in _CLOCK.finditer(text):
        hour, minute = int(match.group(1)), int(match.group(2))
        facts.add(f"time:{_to_24h(hour, match.group(3))}:{minute:02d}")
        consumed.append(match.span())
    for match in _MERIDIEM.finditer(text):
        facts.add(f"time:{_to_24h(int(match.group(1)), match.group(2))}:00")
        consumed.append(match.span())
    for match in _NUMBER.finditer(text):
        if any(start <= match.start() < end for start, end in consumed):
            continue
        whole = match.group(1).replace(",", "")
        value = float(f"{whole}.{match.group(2)}" if match.group(2) else whole)
        unit = (match.group(3) or "").lower()
        facts.add(f"num:{_fmt(value * _MULTIPLIER.get(unit, 1.0))}")
    return facts


def _to_24h(hour: int, meridiem: str | None) -> int:
    if not meridiem:
        return hour
    pm = meridiem.lower().startswith("p")
    return (hour % 12) + (12 if pm else 0)


def fact_supported(fact: str, sources: set[str]) -> bool:
    if fact in sources:
        return True
    # A plain number is supported by the same value stated as a percentage (and vice versa is not:
    # "2.5%" needs a percentage in the source, so a rate is never borrowed from a fee).
    kind, value = fact.split(":", 1)
    return kind == "num" and f"pct:{value}" in sources


def split_sentences(text: str) -> list[str]:
    return [s.strip(" -*•\t") for s in _SENTENCE.split(text) if s and s.strip(" -*•\t")]


def check_grounding(
    reply: str,
    hits: Sequence[Hit],
    *,
    min_support: float = 0.5,
    min_supported_share: float = 0.6,
    embedder: Embedder | None = None,
) -> Grounding:
    """Grounded when no number is invented and enough claim sentences are backed by the hits."""
    source_text = "\n".join(f"{h.title}\n{h.section}\n{h.text}" for h in hits)
    source_facts = extract_facts(source_text)
    source_tokens = set(tokenize(source_text))
    sentences = [s for s in split_sentences(reply) if _is_claim(s)]
    similarity = _similarities(sentences, hits, embedder)

    claims = []
    for i, sentence in enumerate(sentences):
        missing = tuple(sorted(f for f in extract_facts(sentence) if not fact_supported(f, source_facts)))
        tokens = set(tokenize(sentence))
        overlap = len(tokens & source_tokens) / len(tokens) if tokens else 1.0
        claims.append(Claim(sentence, max(overlap, similarity[i]), missing))

    missing_facts = sorted({f for c in claims for f in c.missing_facts})
    unsupported = [c for c in claims if c.missing_facts or c.support < min_support]
    share = 1.0 if not claims else sum(1 for c in claims if c.support >= min_support) / len(claims)
    grounded = not missing_facts and share >= min_supported_share
    return Grounding(grounded, share, claims, unsupported, missing_facts)


def _is_claim(sentence: str) -> bool:
    # Questions back to the customer ("Shall I connect you to an adviser?") assert nothing.
    if sentence.endswith(("?", "？")):
        return False
    return bool(extract_facts(sentence)) or len(tokenize(sentence)) >= 3


def _similarities(sentences: list[str], hits: Sequence[Hit], embedder: Embedder | None) -> list[float]:
    if embedder is None or not sentences or not hits:
        return [0.0] * len(sentences)
    left = embedder.embed(sentences)
    right = embedder.embed([h.text for h in hits])
    return [float(x) for x in np.clip((left @ right.T).max(axis=1), 0.0, 1.0)]
