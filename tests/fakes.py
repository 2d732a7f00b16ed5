"""Test doubles. ScriptedChatModel stands in for the vLLM endpoint in unit tests only; it fails the
test when the code calls the model more, or fewer, times than the script says (the unit fixtures call
`assert_done` at teardown)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from finagent.llm import ChatMessage, LLMCall, LLMError, LLMMeter
from knowledge.types import Hit

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class StreamCut:
    """A streamed reply that breaks off: the words of ``text`` arrive, then ``error`` is raised."""

    text: str
    error: Exception


class ScriptedChatModel:
    """Each call takes the next scripted reply: a str (streamed in words), a StreamCut (streamed, then
    failing mid-way), a dict (structured output or tool call), or an exception instance (raised)."""

    name = "scripted"

    def __init__(
        self, *script: str | StreamCut | dict[str, Any] | Exception, meter: LLMMeter | None = None
    ) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, list[ChatMessage]]] = []
        self.meter = meter  # records each call as the real client does (no token counts)

    def _next(self, kind: str, messages: Sequence[ChatMessage]) -> str | StreamCut | dict[str, Any]:
        self.calls.append((kind, list(messages)))
        if self.meter is not None:
            self.meter.record(LLMCall(kind=kind, model=self.name, latency_s=0.0))
        if not self.script:
            raise AssertionError(f"unexpected model call #{len(self.calls)} ({kind}): the script is used up")
        reply = self.script.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        reply = self._next("stream", messages)
        assert isinstance(reply, str | StreamCut), f"script gave {reply!r} for a streamed call"
        for piece in re.findall(r"\S+\s*", reply if isinstance(reply, str) else reply.text):
            yield piece
        if isinstance(reply, StreamCut):
            raise reply.error

    async def structured(self, messages: Sequence[ChatMessage], schema: type[T]) -> T:
        reply = self._next("structured", messages)
        assert isinstance(reply, dict), f"script gave {reply!r} for a structured call"
        return schema.model_validate(reply)

    async def tool_call(self, messages: Sequence[ChatMessage], tool: type[T], *, description: str) -> T:
        reply = self._next("tool_call", messages)
        assert isinstance(reply, dict)
        return tool.model_validate(reply)

    async def health(self) -> bool:
        return True

    def assert_done(self) -> None:
        assert not self.script, f"{len(self.script)} scripted model replies were never requested"


class ModelDown(LLMError):
    pass


class KeywordRetriever:
    """A few fixed passages, ranked by shared words: keeps graph unit tests independent of the index."""

    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.queries: list[tuple[str, str]] = []

    def search(
        self, query: str, *, k: int = 5, audience: Any = "public", language: str | None = None
    ) -> list[Hit]:
        self.queries.append((query, audience))
        words = {w for w in re.findall(r"\w+", query.lower()) if len(w) > 3}
        scored = []
        for h in self.hits:
            if audience == "public" and h.audience != "public":
                continue
            overlap = len(words & set(re.findall(r"\w+", f"{h.title} {h.text}".lower())))
            if overlap:
                scored.append(h.model_copy(update={"score": overlap, "relevance": min(1.0, overlap / 4)}))
        return sorted(scored, key=lambda h: -h.score)[:k]


class FunctionChatModel:
    """A fake whose reply is computed by ``respond(kind, messages, schema)`` (pydantic-ai's
    FunctionModel): for eval-suite tests, where each case needs its own answer and the suite, not the
    test, decides the order of the calls. Records each call into ``meter`` as the real client does."""

    name = "function"

    def __init__(self, respond: Any, meter: LLMMeter | None = None) -> None:
        self.respond = respond
        self.meter = meter
        self.calls: list[tuple[str, list[ChatMessage]]] = []

    def _reply(self, kind: str, messages: Sequence[ChatMessage], schema: Any = None) -> Any:
        self.calls.append((kind, list(messages)))
        if self.meter is not None:
            self.meter.record(LLMCall(kind=kind, model=self.name, latency_s=0.0))
        reply = self.respond(kind, list(messages), schema)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        reply = self._reply("stream", messages)
        for piece in re.findall(r"\S+\s*", reply):
            yield piece

    async def structured(self, messages: Sequence[ChatMessage], schema: type[T]) -> T:
        return schema.model_validate(self._reply("structured", messages, schema))

    async def tool_call(self, messages: Sequence[ChatMessage], tool: type[T], *, description: str) -> T:
        return tool.model_validate(self._reply("tool_call", messages, tool))

    async def health(self) -> bool:
        return True
