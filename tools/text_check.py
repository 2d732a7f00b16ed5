"""Outgoing-text check: prohibited claims, missing disclosures and personal-data leaks.

Runs on every reply before the customer sees it. Claims are matched on normalised text with
patterns over meaning ("cannot lose", "no way it drops", "稳赚不赔"), and a claim is void when a
negation sits right before it ("not risk-free", "不保本") or, where the rule allows, when it is
reported in a warning ("adverts that promise guaranteed returns are scams"), so honest risk and
scam warnings pass. ``required_disclosures`` gives the pack's disclosure sentences a reply lacks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel

from finagent.telemetry import tool_entry
from policies.schema import DisclosureItem, PiiRule, ProhibitedClaimRule, RequiredDisclosureRule
from policies.verdict import Decision, Verdict
from tools.pii import DETECTORS, PiiSpan
from tools.policy_engine import PolicyEngine
from tools.reported_speech import is_reported
from tools.screening import reason

_CONTRACTIONS = [
    (r"\bcan'?t\b", "cannot"), (r"\bwon'?t\b", "will not"), (r"\bshan'?t\b", "shall not"),
    (r"\bain'?t\b", "is not"), (r"n't\b", " not"), (r"'re\b", " are"), (r"'s\b", " is"),
    (r"'ll\b", " will"), (r"'ve\b", " have"), (r"'d\b", " would"), (r"\bcan not\b", "cannot"),
]  # fmt: skip
_CJK_GAP = re.compile(
    r"(?<=[\u3400-\u9fff，。！？；：、])\s+(?=[\u3400-\u9fff，。！？；：、\d])|(?<=\d)\s+(?=[\u3400-\u9fff])"
)


def normalise(text: str) -> str:
    """Lower case, folded width, expanded contractions, hyphens as spaces, no gaps inside Chinese."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    text = re.sub(r"(?<=\w)[-‐‑–](?=\w)", " ", text)
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"[ \t]+", " ", text)
    return _CJK_GAP.sub("", text)


class Finding(BaseModel):
    kind: Literal["prohibited_claim", "missing_disclosure", "pii"]
    rule_id: str
    detail: str
    excerpt: str = ""


class TextCheck(BaseModel):
    verdict: Verdict
    findings: list[Finding]
    redacted_text: str


@dataclass(frozen=True)
class _Compiled:
    patterns: tuple[re.Pattern[str], ...]
    negations: tuple[re.Pattern[str], ...]


@lru_cache(maxsize=256)
def _compile(patterns: tuple[str, ...], negations: tuple[str, ...] = ()) -> _Compiled:
    return _Compiled(tuple(re.compile(p) for p in patterns), tuple(re.compile(n) for n in negations))


_CLAUSE_END = re.compile(r"[,:;.!?，。！？；：、()\n]")


def _negated(text: str, start: int, negations: Sequence[re.Pattern[str]]) -> bool:
    """A negation in the same clause, within four words (six Chinese characters) before the claim."""
    before = _CLAUSE_END.split(text[max(0, start - 60) : start])[-1]
    # Chinese negations are anchored ($) at the claim, so six characters are enough.
    chinese = bool(before) and "\u3400" <= before[-1] <= "\u9fff"
    window = before[-6:] if chinese else " ".join(before.split()[-4:])
    return any(n.search(window) for n in negations)


def find_claims(rule: ProhibitedClaimRule, text: str) -> list[str]:
    compiled = _compile(tuple(rule.patterns), tuple(rule.negations))
    hits = []
    for pattern in compiled.patterns:
        pos = 0
        while m := pattern.search(text, pos):
            pos = max(m.end(), m.start() + 1)
            inner = m.group()
            if rule.negation_inside_voids and any(n.search(inner) for n in compiled.negations):
                continue  # "payouts are not guaranteed", "returns are no guarantee of ..."
            if _negated(text, m.start(), compiled.negations):
                continue  # the negation covers the rest of the match too
            if rule.reported_speech_voids and is_reported(text, m.start(), m.end()):
                # "scammers promise guaranteed returns", "谁承诺保本就是骗子"; a claim of ours may
                # start inside the reported one ("..., we guarantee 5%"), so look again from here.
                pos = m.start() + 1
                continue
            hits.append(inner)
    return hits


def _says(item: DisclosureItem, norm: str) -> bool:
    return any(p.search(norm) for p in _compile(tuple(item.patterns)).patterns)


def _mentions(rule: RequiredDisclosureRule, text: str) -> list[str]:
    return [item.name for item in rule.disclosures if not _says(item, text)]


def _default_engine() -> PolicyEngine:
    from finagent.settings import get_settings
    from tools.policy_engine import get_engine

    return get_engine(get_settings().policy_dir)


def required_disclosures(
    text: str, product_types: Sequence[str], language: str, *, engine: PolicyEngine | None = None
) -> list[str]:
    """The pack's disclosure sentences, in the reply language, that ``text`` does not already make
    for these product types: for the compliance step to append, so the model never writes them.

    Each sentence appears once, even when two product types need it (fund and portfolio both want
    the past-performance warning), in the order of the pack, whatever the order of product_types.
    """
    engine = engine or _default_engine()
    norm = normalise(text)
    wanted = {p.casefold() for p in product_types}
    sentences: list[str] = []
    for rule in engine.policies.of_kind(RequiredDisclosureRule):
        if rule.product_type.casefold() not in wanted:
            continue
        for item in rule.disclosures:
            sentence = item.text.get(language)
            if not _says(item, norm) and sentence not in sentences:
                sentences.append(sentence)
    return sentences


def _redact(text: str, spans: list[PiiSpan]) -> str:
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[: span.start] + span.masked() + text[span.end :]
    return text


@tool_entry("text_check.check_outgoing_text")
def check_outgoing_text(
    text: str, *, product_types: Sequence[str] = (), engine: PolicyEngine | None = None
) -> TextCheck:
    """Check a reply before it is sent. BLOCK means: do not send this text as it is."""
    engine = engine or _default_engine()
    policies = engine.policies
    norm = normalise(text)
    reasons, findings = [], []
    for rule in policies.of_kind(ProhibitedClaimRule):
        claims = find_claims(rule, norm)
        if claims:
            pack = policies.pack_of(rule.id)
            reasons.append(reason(rule, pack, {"category": rule.category, "matched": claims[:5]}))
            findings += [
                Finding(kind="prohibited_claim", rule_id=rule.id, detail=rule.category, excerpt=c)
                for c in claims
            ]
    wanted = {p.casefold() for p in product_types}
    for d_rule in policies.of_kind(RequiredDisclosureRule):
        if d_rule.product_type.casefold() not in wanted:
            continue
        missing = _mentions(d_rule, norm)
        if missing:
            reasons.append(
                reason(
                    d_rule,
                    policies.pack_of(d_rule.id),
                    {"product_type": d_rule.product_type, "missing": missing},
                )
            )
            findings += [Finding(kind="missing_disclosure", rule_id=d_rule.id, detail=m) for m in missing]
    spans: list[PiiSpan] = []
    for p_rule in policies.of_kind(PiiRule):
        found = DETECTORS[p_rule.detector](text, p_rule.allow)
        if found:
            spans += found
            masked = [s.masked() for s in found]
            reasons.append(
                reason(p_rule, policies.pack_of(p_rule.id), {"detector": p_rule.detector, "masked": masked})
            )
            findings += [
                Finding(kind="pii", rule_id=p_rule.id, detail=p_rule.detector, excerpt=s.masked())
                for s in found
            ]
    verdict = Verdict.combine(
        [Verdict(decision=r.decision, reasons=[r], policy_version=engine.version) for r in reasons],
        engine.version,
    )
    if not reasons:
        verdict = Verdict(decision=Decision.ALLOW, policy_version=engine.version)
    return TextCheck(verdict=verdict, findings=findings, redacted_text=_redact(text, _dedupe(spans)))


def _dedupe(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Keep the earliest-starting, longest span where detectors overlap (IBAN digits vs card)."""
    kept: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept
