"""The only way the application talks to a model: the OpenAI-compatible API of a vLLM endpoint.

Three calls cover what agents need: streamed prose, JSON-schema structured output (guided decoding),
and a named tool call. Failures come out as two exception families so nodes can degrade clearly:
`LLMUnavailable` (connection, timeout, 5xx) and `LLMBadOutput` (a reply that does not fit the schema).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from finagent.metrics import LLM_CALLS, LLM_SECONDS, LLM_TOKENS
from finagent.settings import Settings
from finagent.telemetry import span

T = TypeVar("T", bound=BaseModel)
ChatMessage = dict[str, str]


class LLMError(Exception):
    def __init__(self, message: str, *, model_name: str = "", status_code: int | None = None) -> None:
        super().__init__(message)
        self.model_name = model_name
        self.status_code = status_code


class LLMUnavailable(LLMError):
    """The endpoint could not be reached, timed out, or answered with a server error."""


class LLMBadOutput(LLMError):
    """The endpoint answered, but not with something the schema accepts."""


class ChatModel(Protocol):
    name: str

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]: ...

    async def structured(self, messages: Sequence[ChatMessage], schema: type[T]) -> T: ...

    async def tool_call(self, messages: Sequence[ChatMessage], tool: type[T], *, description: str) -> T: ...


@dataclass(frozen=True)
class LLMCall:
    """One request to the endpoint, as the client saw it. Token counts are the endpoint's own
    (``usage``); None when it reported none (a fake, or a call that failed before its reply)."""

    kind: str  # stream | structured | tool_call
    model: str
    latency_s: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None


@dataclass
class LLMMeter:
    """Collects the calls of one client (the eval runner gives each case its own meter)."""

    calls: list[LLMCall] = field(default_factory=list)

    def record(self, call: LLMCall) -> None:
        self.calls.append(call)

    def summary(self) -> dict[str, Any]:
        return {
            "calls": len(self.calls),
            "prompt_tokens": sum(c.prompt_tokens or 0 for c in self.calls),
            "completion_tokens": sum(c.completion_tokens or 0 for c in self.calls),
            "latency_s": round(sum(c.latency_s for c in self.calls), 4),
            "errors": sum(1 for c in self.calls if c.error),
        }


def _tokens(usage: Any) -> tuple[int | None, int | None]:
    if usage is None:
        return None, None
    return getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)


def _schema_name(schema: type[BaseModel]) -> str:
    return schema.__name__[:64]


def _count_usage(usage: Any) -> None:
    """Tokens as the endpoint reports them (vLLM does, also at the end of a stream)."""
    if usage is None:
        return
    LLM_TOKENS.labels("prompt").inc(getattr(usage, "prompt_tokens", 0) or 0)
    LLM_TOKENS.labels("completion").inc(getattr(usage, "completion_tokens", 0) or 0)


class OpenAIChatModel:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        settings: Settings,
        meter: LLMMeter | None = None,
    ) -> None:
        self.name = model
        self._settings = settings
        self.meter = meter  # every request is recorded here when set (calls, tokens, latency)
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "unset",
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        # The SDK's overloads type every message and schema as TypedDicts; ours are plain dicts.
        self._completions: Any = self._client.chat.completions

    def _wrap(self, exc: Exception) -> LLMError:
        if isinstance(exc, openai.APIStatusError):
            cls = (
                LLMUnavailable
                if exc.status_code >= 500 or exc.status_code in (401, 403, 404, 429)
                else LLMBadOutput
            )
            return cls(
                f"model endpoint answered {exc.status_code}",
                model_name=self.name,
                status_code=exc.status_code,
            )
        if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError):
            return LLMUnavailable(f"model endpoint unreachable: {exc}", model_name=self.name)
        return LLMBadOutput(f"unexpected model reply: {exc}", model_name=self.name)

    def _record(self, kind: str, started: float, usage: Any = None, error: Exception | None = None) -> None:
        if self.meter is None:
            return
        prompt, completion = _tokens(usage)
        self.meter.record(
            LLMCall(
                kind=kind,
                model=self.name,
                latency_s=round(time.perf_counter() - started, 4),
                prompt_tokens=prompt,
                completion_tokens=completion,
                error=type(error).__name__ if error else None,
            )
        )

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        started, usage, error = time.perf_counter(), None, None
        try:
            stream = await self._completions.create(
                model=self.name,
                messages=list(messages),
                temperature=self._settings.llm_temperature,
                max_tokens=max_tokens or self._settings.llm_max_tokens,
                stream=True,
                stream_options={"include_usage": True},  # the last chunk carries the token counts
            )
            async for chunk in stream:
                _count_usage(getattr(chunk, "usage", None))
                usage = getattr(chunk, "usage", None) or usage
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except openai.OpenAIError as exc:
            error = exc
            raise self._wrap(exc) from exc
        finally:  # also when the reader stops early
            self._record("stream", started, usage, error)

    async def structured(self, messages: Sequence[ChatMessage], schema: type[T]) -> T:
        started = time.perf_counter()
        try:
            resp = await self._completions.create(
                model=self.name,
                messages=list(messages),
                temperature=0.0,
                max_tokens=self._settings.llm_max_tokens,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": _schema_name(schema), "schema": schema.model_json_schema()},
                },
            )
        except openai.OpenAIError as exc:
            self._record("structured", started, error=exc)
            raise self._wrap(exc) from exc
        _count_usage(getattr(resp, "usage", None))
        self._record("structured", started, getattr(resp, "usage", None))
        content = (resp.choices[0].message.content or "") if resp.choices else ""
        try:
            return schema.model_validate_json(content)
        except ValidationError as exc:
            raise LLMBadOutput(
                f"reply does not fit {schema.__name__}: {content[:200]!r}", model_name=self.name
            ) from exc

    async def tool_call(self, messages: Sequence[ChatMessage], tool: type[T], *, description: str) -> T:
        name, started = _schema_name(tool), time.perf_counter()
        try:
            resp = await self._completions.create(
                model=self.name,
                messages=list(messages),
                temperature=0.0,
                max_tokens=self._settings.llm_max_tokens,
                tools=[
                    {
                        "type": "function",
                        "function": {
                            "name": name,
                            "description": description,
                            "parameters": tool.model_json_schema(),
                        },
                    }
                ],
                tool_choice={"type": "function", "function": {"name": name}},
            )
        except openai.OpenAIError as exc:
            self._record("tool_call", started, error=exc)
            raise self._wrap(exc) from exc
        _count_usage(getattr(resp, "usage", None))
        self._record("tool_call", started, getattr(resp, "usage", None))
        calls = resp.choices[0].message.tool_calls if resp.choices else None
        if not calls:
            raise LLMBadOutput("no tool call in reply", model_name=self.name)
        arguments: Any = getattr(calls[0], "function", None)
        try:
            return tool.model_validate(json.loads(arguments.arguments if arguments else ""))
        except (ValueError, ValidationError) as exc:
            raise LLMBadOutput(f"tool arguments do not fit {name}", model_name=self.name) from exc

    async def aclose(self) -> None:
        """Close the connection pool (on the event loop that used it)."""
        await self._client.close()

    async def health(self) -> bool:
        try:
            await self._client.models.list()
        except openai.OpenAIError:
            return False
        return True


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    return "unavailable" if isinstance(exc, LLMUnavailable) else "bad_output"


class InstrumentedChatModel:
    """Any ChatModel with a span, a latency and an outcome count per call (finagent.metrics). The
    runtime wraps the model it is given, the real client or a test's scripted one alike."""

    def __init__(self, model: ChatModel) -> None:
        self.inner = model
        self.name = model.name

    def __getattr__(self, attr: str) -> Any:  # health() and whatever else the model offers
        return getattr(self.inner, attr)

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        started, error, chunks = time.perf_counter(), None, 0
        with span("llm stream", **{"gen_ai.request.model": self.name}) as current:
            try:
                async for piece in self.inner.stream(messages, max_tokens=max_tokens):
                    chunks += 1
                    yield piece
            except Exception as exc:
                error = exc
                raise
            finally:
                current.set_attribute("finagent.llm.chunks", chunks)
                current.set_attribute("finagent.llm.outcome", _outcome(error))
                LLM_CALLS.labels("stream", _outcome(error)).inc()
                LLM_SECONDS.labels("stream").observe(time.perf_counter() - started)

    async def structured(self, messages: Sequence[ChatMessage], schema: type[T]) -> T:
        with span(
            "llm structured", **{"gen_ai.request.model": self.name, "finagent.llm.schema": schema.__name__}
        ):
            return await self._timed("structured", self.inner.structured(messages, schema))

    async def tool_call(self, messages: Sequence[ChatMessage], tool: type[T], *, description: str) -> T:
        with span(
            "llm tool_call", **{"gen_ai.request.model": self.name, "finagent.llm.schema": tool.__name__}
        ):
            return await self._timed(
                "tool_call", self.inner.tool_call(messages, tool, description=description)
            )

    async def _timed(self, call: str, work: Any) -> Any:
        started, error = time.perf_counter(), None
        try:
            return await work
        except Exception as exc:
            error = exc
            raise
        finally:
            LLM_CALLS.labels(call, _outcome(error)).inc()
            LLM_SECONDS.labels(call).observe(time.perf_counter() - started)


def chat_model_from_settings(settings: Settings, meter: LLMMeter | None = None) -> OpenAIChatModel:
    from finagent.embedded_llm import resolve_endpoint

    endpoint = resolve_endpoint(settings)
    return OpenAIChatModel(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        model=endpoint.model,
        settings=settings,
        meter=meter,
    )
