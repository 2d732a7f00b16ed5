"""What retrieval hands to the agents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Audience = Literal["public", "internal"]
# What a document is about, from a closed list. The first five key the required disclosures of the
# outgoing-text policy pack (policies/packs/outgoing_text.yaml); docs/knowledge-base.md lists them all.
ProductType = Literal[
    "fund",
    "structured_note",
    "deposit",
    "loan",
    "portfolio",
    "investment",
    "account",
    "overdraft",
    "card",
    "credit_card",
    "transfer",
    "general",
]


class KnowledgeUnavailable(RuntimeError):
    """The knowledge base cannot answer now (store or embedding model unreachable): not a bug."""


class Hit(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float  # fused score, higher is better
    relevance: float  # 0..1 cosine similarity of the best dense match, used for "I don't know"
    audience: Audience = "public"
    language: str = "en"
    version: str = "1"
    effective_date: str | None = None
    source: str | None = None  # path of the source document, relative to the corpus
    product_type: str = "general"  # the document's product type (ProductType), for disclosures
