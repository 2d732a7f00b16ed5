"""`finagent bench telemetry --out DIR`: what the instrumentation costs per span, with tracing off (the
default: no SDK, non-recording spans) and on (the SDK recording into memory, no network). Writes
DIR/results.json. A turn makes roughly 10-20 spans (nodes, model calls, retrieval, tools)."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from finagent.telemetry import GraphSpans, span

CALLS = 20_000
REPEATS = 5


def _per_call_us(work: Any) -> float:
    """Median over REPEATS of the mean wall time of one call, in microseconds."""
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        for _ in range(CALLS):
            work()
        samples.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(samples)


def _measure() -> dict[str, float]:
    handler = GraphSpans()
    root = uuid.uuid4()
    handler.on_chain_start({}, {}, run_id=root, name="LangGraph")

    def tool_span() -> None:
        with span("tool bench"):
            pass

    def node_span() -> None:
        run_id = uuid.uuid4()
        handler.on_chain_start(
            {}, {}, run_id=run_id, parent_run_id=root, name="bench", metadata={"langgraph_node": "bench"}
        )
        handler.on_chain_end({}, run_id=run_id)

    result = {"tool_span_us": _per_call_us(tool_span), "graph_node_span_us": _per_call_us(node_span)}
    handler.on_chain_end({}, run_id=root)
    return result


def main(out: Path) -> dict[str, Any]:
    off = _measure()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    on = _measure()
    exporter.clear()
    results = {
        "calls_per_sample": CALLS,
        "repeats": REPEATS,
        "tracing_off": off,
        "tracing_on_in_memory": on,
        "note": "per span, microseconds, median of repeats; a turn makes roughly 10-20 spans",
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results
