"""OpenTelemetry tracing: a span for each turn, graph node, model call, retrieval and tool call.

Off by default: without OTLP_ENDPOINT no SDK is installed and OpenTelemetry's API hands out
non-recording spans, so the instrumentation costs a few attribute look-ups. With it, spans go to the
bank's collector over OTLP (gRPC or HTTP/protobuf, OTLP_PROTOCOL).

Graph nodes are traced by a LangGraph callback (`GraphSpans`), so agents' nodes need no code of their
own. LangGraph runs each node in its own task, so a node's span is not "current" inside the node: a
model call, retrieval or tool call finds its node's span through the run id that LangGraph keeps in
the node's config (`span` below), and becomes its child.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import var_child_runnable_config
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from finagent.metrics import GRAPH_NODE_SECONDS, TOOL_CALLS

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from finagent.settings import Settings

TRACER_NAME = "finagent"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Run:
    span: Span
    started: float
    node: str | None  # the node's name, for the latency histogram; None for a graph run
    owned: bool  # False: a run with no span of its own (an edge function, a writer) lends its parent's


# LangGraph run id -> its span (or its nearest traced ancestor's), while it runs.
_open: dict[UUID, _Run] = {}
_open_lock = threading.Lock()


# A proxy: it follows the provider installed later (configure_tracing), so it can be made once.
_TRACER = trace.get_tracer(TRACER_NAME)


def tracer() -> trace.Tracer:
    return _TRACER


def build_provider(settings: Settings) -> TracerProvider | None:
    """A tracer provider exporting over OTLP to OTLP_ENDPOINT, or None when tracing is off."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    exporter: SpanExporter
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        exporter = GrpcExporter(endpoint=settings.otlp_endpoint, insecure=settings.otlp_insecure)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        exporter = HttpExporter(endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces")
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(settings: Settings) -> TracerProvider | None:
    """Install the OTLP exporter process-wide when OTLP_ENDPOINT is set; otherwise leave tracing off."""
    provider = build_provider(settings)
    if provider is not None:
        trace.set_tracer_provider(provider)
    return provider


def _node_parent() -> otel_context.Context | None:
    """The context of the graph node (or graph) this code runs in, if any."""
    config = var_child_runnable_config.get()
    if not config:
        return None
    manager = config.get("callbacks")
    run_id = getattr(manager, "parent_run_id", None)
    if run_id is None:
        return None
    with _open_lock:
        found = _open.get(run_id)
    return trace.set_span_in_context(found.span) if found else None


# The span() this code runs in: a tool that calls another tool nests under it, not beside it.
_inner: ContextVar[Span | None] = ContextVar("finagent_inner_span", default=None)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span under the enclosing span() if any, else under the current graph node, else under the
    current span (a turn's)."""
    enclosing = _inner.get()
    parent = trace.set_span_in_context(enclosing) if enclosing is not None else _node_parent()
    with tracer().start_as_current_span(name, context=parent, attributes=attributes) as current:
        token = _inner.set(current)
        try:
            yield current
        finally:
            _inner.reset(token)


@contextmanager
def _tool_call(name: str) -> Iterator[None]:
    outcome = "error"
    try:
        with span(f"tool {name}", **{"finagent.tool": name}):
            yield
        outcome = "ok"
    finally:
        TOOL_CALLS.labels(name, outcome).inc()


def tool_entry(name: str) -> Callable[[F], F]:
    """Decorate a tool's entry point (sync or async): a span `tool <name>` and a call count."""

    def wrap(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with _tool_call(name):
                    return await fn(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _tool_call(name):
                return fn(*args, **kwargs)

        return cast(F, run)

    return wrap


class GraphSpans(BaseCallbackHandler):
    """LangGraph callback: one span per graph run and per node (agents' subgraph nodes included),
    and the node latency histogram. Conditional edges and LangGraph's internal writers are skipped."""

    run_inline = True  # called in the node's own task, not a thread pool

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or (serialized or {}).get("name") or ""
        node = (metadata or {}).get("langgraph_node")
        with _open_lock:
            parent = _open.get(parent_run_id) if parent_run_id is not None else None
        if parent_run_id is not None and (node != name or name.startswith("__")):
            # An edge function, a writer, a subgraph's own run, a runnable inside a node: no span, but
            # what runs under it belongs to the nearest traced ancestor.
            if parent is not None:
                with _open_lock:
                    _open[run_id] = _Run(parent.span, parent.started, None, owned=False)
            return
        ctx = trace.set_span_in_context(parent.span) if parent else None
        if parent_run_id is None:
            kind, attrs = "graph", {"langgraph.graph": name}
        else:
            kind, attrs = (
                "node",
                {"langgraph.node": name, "langgraph.step": (metadata or {}).get("langgraph_step", -1)},
            )
        started = tracer().start_span(f"{kind} {name}", context=ctx, attributes=attrs)
        with _open_lock:
            _open[run_id] = _Run(started, time.perf_counter(), node if kind == "node" else None, owned=True)

    def _finish(self, run_id: UUID, error: BaseException | None) -> None:
        with _open_lock:
            entry = _open.pop(run_id, None)
        if entry is None or not entry.owned:
            return
        if entry.node is not None:
            GRAPH_NODE_SECONDS.labels(entry.node).observe(time.perf_counter() - entry.started)
        if error is not None and not _is_interrupt(error):
            entry.span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            entry.span.record_exception(error)
        entry.span.end()

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._finish(run_id, error)


def _is_interrupt(error: BaseException) -> bool:
    """LangGraph stops a node for a human (interrupt) by raising: that is not a failure."""
    from langgraph.errors import GraphBubbleUp

    return isinstance(error, GraphBubbleUp)
