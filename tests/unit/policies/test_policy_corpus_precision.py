"""Precision guard: the bank's own published documents must not trip the outgoing-text check.

Every public sentence the knowledge base can quote is checked, in every format it indexes
(Markdown, text, HTML, JSON records), against every claim and personal-data rule. A rule change
that starts flagging honest product information, or a scam warning, shows up here before
customers see answers replaced.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.documents import iter_corpus_files, load_file
from tools.text_check import check_outgoing_text

CORPUS = Path(__file__).resolve().parents[3] / "knowledge" / "corpus"
# Table cells naming a customer's own preference ("C1 保守型 | 保本优先": capital preservation first)
# are descriptions, not claims; the corpus states this row once.
KNOWN = {"C1 | 保守型 | 保本优先，只能接受很小的波动"}


def _public_sentences() -> list[tuple[str, str]]:
    out = []
    for path in iter_corpus_files(CORPUS):
        for doc in load_file(path, CORPUS):
            if doc.meta.audience != "public":
                continue
            for sentence in re.split(r"(?<=[.!?。！？])\s+|\n+", doc.body):
                sentence = sentence.strip(" -*#|")
                if len(sentence) >= 15 and sentence not in KNOWN:
                    out.append((doc.source, sentence))
    return out


def test_published_documents_trip_no_rule() -> None:
    sentences = _public_sentences()
    assert len(sentences) > 2000
    formats = {source.split("#")[0].rsplit(".", 1)[-1] for source, _ in sentences}
    assert formats >= {"md", "html", "json", "txt"}
    flagged = [
        (source, sentence, [f.rule_id for f in check_outgoing_text(sentence).findings])
        for source, sentence in sentences
    ]
    assert [f for f in flagged if f[2]] == []
