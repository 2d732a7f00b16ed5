"""Sanctions and watch-list screening: fuzzy, transliteration-aware name matching.

Names are compared after folding scripts to Latin (Cyrillic/Greek/Arabic via unidecode, Chinese
via pinyin), dropping legal-form noise and sorting tokens, so "Kravtsov, Boris" matches
"Борис Кравцов" and "李伟民" matches "Li Weimin". A consonant skeleton catches spelling variants
such as Mohammed/Muhammad.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from unidecode import unidecode

from policies.schema import WatchlistEntry, WatchlistRule
from policies.verdict import Decision

_NOISE = {"ltd", "llc", "gmbh", "ag", "sa", "inc", "co", "corp", "plc", "fze", "the", "mr", "mrs", "ms", "dr"}
_CJK = re.compile(r"[\u3400-\u9fff]")


def fold_name(name: str, *, keep_order: bool = False) -> str:
    """Lower-case Latin tokens, sorted, without punctuation or legal-form words."""
    text = unicodedata.normalize("NFKC", name)
    if _CJK.search(text):
        text = " ".join(lazy_pinyin(text))
    text = unidecode(text).lower()
    tokens = [t for t in re.split(r"[^a-z0-9]+", text) if t and t not in _NOISE]
    return " ".join(tokens if keep_order else sorted(tokens))


def skeleton(folded: str) -> str:
    """Consonant skeleton per token: transliteration variants usually differ only in vowels."""
    out = []
    for token in folded.split():
        t = token.replace("ph", "f").replace("kh", "h").replace("ck", "k").replace("q", "k").replace("w", "v")
        t = t[0] + re.sub(r"[aeiouy]", "", t[1:])
        out.append(re.sub(r"(.)\1+", r"\1", t))
    return " ".join(sorted(out))


@dataclass(frozen=True)
class FoldedName:
    original: str
    sorted_tokens: str
    joined_in_order: str
    skeleton: str

    @classmethod
    @lru_cache(maxsize=65536)  # payee names repeat; folding (pinyin, unidecode) is the costly part
    def of(cls, name: str) -> FoldedName:
        folded = fold_name(name)
        return cls(name, folded, fold_name(name, keep_order=True).replace(" ", ""), skeleton(folded))


def folded_score(a: FoldedName, b: FoldedName) -> float:
    if not a.sorted_tokens or not b.sorted_tokens:
        return 0.0
    direct = max(
        fuzz.token_sort_ratio(a.sorted_tokens, b.sorted_tokens),
        fuzz.ratio(a.sorted_tokens.replace(" ", ""), b.sorted_tokens.replace(" ", "")),
        # In-order joined tokens catch "Wei Min" against "Weimin".
        fuzz.ratio(a.joined_in_order, b.joined_in_order),
    )
    # Skeletons catch vowel-only transliteration variants, at a small discount.
    return max(direct, 0.97 * fuzz.token_sort_ratio(a.skeleton, b.skeleton))


def name_score(a: str, b: str) -> float:
    return folded_score(FoldedName.of(a), FoldedName.of(b))


class WatchlistMatch(BaseModel):
    entry_name: str
    matched_name: str
    list_name: str
    score: float
    decision: Decision


@dataclass(frozen=True)
class _Indexed:
    entry: WatchlistEntry
    names: tuple[FoldedName, ...]


_indexes: dict[int, tuple[WatchlistRule, tuple[_Indexed, ...]]] = {}


def _index(rule: WatchlistRule) -> tuple[_Indexed, ...]:
    """Folded list names, computed once per loaded rule (rules are immutable)."""
    cached = _indexes.get(id(rule))
    if cached is None or cached[0] is not rule:
        if len(_indexes) > 32:  # old pack versions after many reloads
            _indexes.clear()
        index = tuple(
            _Indexed(e, tuple(FoldedName.of(n) for n in (e.name, *e.aliases))) for e in rule.entries
        )
        cached = _indexes[id(rule)] = (rule, index)
    return cached[1]


def screen_name(rule: WatchlistRule, name: str) -> WatchlistMatch | None:
    """The best watch-list match at or above the review score, or None."""
    best: WatchlistMatch | None = None
    candidate = FoldedName.of(name)
    for item in _index(rule):
        for listed in item.names:
            score = folded_score(candidate, listed)
            if score >= rule.review_score and (best is None or score > best.score):
                decision = rule.decision if score >= rule.block_score else Decision.REQUIRE_APPROVAL
                best = WatchlistMatch(
                    entry_name=item.entry.name,
                    matched_name=listed.original,
                    list_name=item.entry.list_name,
                    score=round(score, 1),
                    decision=decision,
                )
    return best
