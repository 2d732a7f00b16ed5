"""What retrieval hands to the agents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Audience = Literal["public", "internal"]


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
    product_type: str = "general"  # the disclosures a reply citing it needs depend on it
    effective_date: str | None = None
    source: str | None = None  # path of the source document, relative to the corpus
