"""Everything a node needs, handed to every node as the graph's runtime context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.router import EmbeddingRouter
from finagent.clock import Clock
from finagent.llm import ChatModel
from finagent.settings import Settings
from knowledge.types import Hit


class Retriever(Protocol):
    def search(
        self, query: str, *, k: int = 5, audience: Any = "public", language: str | None = None
    ) -> list[Hit]: ...


class Grounding(Protocol):
    grounded: bool


class GroundingCheck(Protocol):
    def __call__(self, reply: str, hits: Sequence[Hit]) -> Grounding: ...


@dataclass
class Deps:
    settings: Settings
    llm: ChatModel
    retriever: Retriever
    router: EmbeddingRouter
    sessions: async_sessionmaker[AsyncSession]
    check_grounding: GroundingCheck
    clock: Clock = field(default_factory=Clock)  # the work queue's time: SLA, expiry (tests move it)
