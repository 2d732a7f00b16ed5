"""Precision guard: the bank's own published documents must not trip the prohibited-claim rules.

Every public sentence the knowledge base can quote is checked. A rule change that starts flagging
honest product information shows up here before customers see answers replaced.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.text_check import check_outgoing_text

CORPUS = Path(__file__).resolve().parents[3] / "knowledge" / "corpus"
# Table cells naming a customer's own preference ("C1 保守型 | 保本优先": capital preservation first)
# are descriptions, not claims; the corpus states this row once.
KNOWN = {"C1 | 保守型 | 保本优先，只能接受很小的波动"}


def _public_sentences() -> list[str]:
    out = []
    for path in sorted(CORPUS.rglob("*.md")):
        text = path.read_text()
        if path.name == "README.md" or "audience: internal" in text:
            continue
        for sentence in re.split(r"(?<=[.!?。！？])\s+|\n+", text.split("---", 2)[-1]):
            sentence = sentence.strip(" -*#|")
            if len(sentence) >= 15 and sentence not in KNOWN:
                out.append(sentence)
    return out


def test_published_documents_carry_no_prohibited_claims() -> None:
    sentences = _public_sentences()
    assert len(sentences) > 1500
    flagged = [
        (s, [f.rule_id for f in check_outgoing_text(s).findings if f.rule_id.startswith("TXT-CLM")])
        for s in sentences
    ]
    assert [f for f in flagged if f[1]] == []
