"""Observability of whole journeys over HTTP: the span tree of each turn, JSON logs with request and turn
ids and no personal data, and the Prometheus metrics a dashboard reads."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from app.observability import REDACTOR, JsonFormatter, NoParameterDumps
from finagent.settings import Settings
from tests.unit.conftest import AppFactory, confirm, login, say

TRANSFER_20K = {
    "amount": 20000,
    "currency": "EUR",
    "payee_name": "Acme Trading GmbH",
    "payee_iban": "DE75512108001245126199",
    "reference": None,
}
ANSWER = "You can block a lost card instantly in the chat assistant or the app."
_EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory. OpenTelemetry takes one global provider per process: set it once."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        trace.set_tracer_provider(provider)
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def _tree(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[str]:
    """The names under `root`, indented by depth, children in start order."""
    children: dict[int, list[ReadableSpan]] = {}
    for s in spans:
        if s.parent is not None:
            children.setdefault(s.parent.span_id, []).append(s)
    lines: list[str] = []

    def walk(span: ReadableSpan, depth: int) -> None:
        lines.append("  " * depth + span.name)
        for child in sorted(children.get(span.context.span_id, []), key=lambda c: c.start_time or 0):
            walk(child, depth + 1)

    walk(root, 0)
    return lines


def _turns(exporter: InMemorySpanExporter) -> list[list[str]]:
    finished = exporter.get_finished_spans()
    roots = sorted((s for s in finished if s.name.startswith("turn ")), key=lambda s: s.start_time or 0)
    return [_tree(finished, r) for r in roots]


def _approve(client: TestClient, officer: str, item_id: int) -> None:
    headers = login(client, officer)
    assert client.post(f"/api/approvals/{item_id}/claim", headers=headers).status_code == 200
    r = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER", "note": "called back"},
        headers=headers,
    )
    assert r.status_code == 200, r.text


def test_each_turn_is_a_span_tree_of_nodes_model_calls_retrievals_and_tools(
    make_client: AppFactory, spans: InMemorySpanExporter
) -> None:
    client = make_client(ANSWER, TRANSFER_20K)
    alice = login(client, "alice")
    say(client, alice, "How do I block a lost card?")
    _, proposal = say(client, alice, "send 20,000 EUR to Acme Trading GmbH DE75512108001245126199")
    pending = confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    assert pending["status"] == "pending_approval"
    item_id = client.get("/api/approvals", headers=login(client, "ana")).json()[0]["id"]
    _approve(client, "ana", item_id)

    answer, propose, confirmed, decision = _turns(spans)
    assert answer[:3] == ["turn message", "  graph LangGraph", "    node route"]
    assert "      node answer" in answer or any(line.strip() == "retrieval search" for line in answer)
    agent = answer.index("    node service")
    inside_agent = answer[agent + 1 : answer.index("    node compliance")]
    assert any(line.strip() == "retrieval search" for line in inside_agent)
    assert any(line.strip() == "llm stream" for line in inside_agent)
    assert answer[-1] == "      tool text_check.check_outgoing_text"

    assert propose == [
        "turn message",
        "  graph LangGraph",
        "    node route",
        "    node service",
        "      node propose_action",
        "        llm structured",
        "        tool policy.check_action",
        "    node compliance",
        "      tool text_check.check_outgoing_text",
        "    node confirm",
    ]
    # Confirmed, the transfer needs an officer: reviewed, then held.
    assert confirmed[:3] == ["turn resume", "  graph LangGraph", "    node confirm"]
    assert confirmed[-1] == "    node await_approval"
    # The officer's decision resumes the run: executed once, re-judged right before, reviewed.
    assert decision == [
        "turn decision",
        "  graph LangGraph",
        "    node await_approval",
        "    node execute",
        "      tool banking.execute_action",
        "        tool policy.check_action",
        "    node compliance",
        "      tool text_check.check_outgoing_text",
    ]
    from finagent.telemetry import _open

    assert _open == {}  # every node's span was ended and forgotten: nothing grows per turn
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert by_name["turn decision"].attributes is not None
    assert by_name["turn decision"].attributes["finagent.turn.outcome"] == "executed"
    assert by_name["llm structured"].attributes["finagent.llm.schema"]  # type: ignore[index]


def test_tracing_is_off_by_default() -> None:
    from finagent.telemetry import configure_tracing

    assert configure_tracing(Settings(environment="test")) is None


@pytest.fixture
def captured_logs() -> Iterator[list[str]]:
    """Every log line of the process, as the server writes them (JSON, redacted), at DEBUG."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(NoParameterDumps())  # as logging_config() sets the server's handler
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(previous)


# The customer's own data, in her words, and the names in her profile (seeded: finagent/seed.py).
PII = {
    "iban": "DE75512108001245126199",
    "payee_iban": "DE12500105170648489890",
    "card": "4111 1111 1111 1111",
    "phone": "+49 151 23456789",
    "email": "alice.martin@example.com",
    "name": "Alice Martin",
    "surname": "Martin",
    "payee": "Anna Weber",
}


def test_logs_of_a_full_journey_are_json_with_ids_and_no_personal_data(
    make_client: AppFactory, captured_logs: list[str]
) -> None:
    client = make_client(ANSWER, TRANSFER_20K)
    alice = login(client, "alice")
    question = (
        f"I'm {PII['name']} ({PII['email']}, {PII['phone']}); my card {PII['card']} is lost. "
        f"I pay rent to {PII['payee']} on {PII['payee_iban']}. How do I block a lost card?"
    )
    say(client, alice, question)
    _, proposal = say(client, alice, f"send 20,000 EUR to Acme Trading GmbH {PII['iban']}")
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    item_id = client.get("/api/approvals", headers=login(client, "ana")).json()[0]["id"]
    _approve(client, "ana", item_id)

    text = "\n".join(captured_logs)
    leaks = {kind: value for kind, value in PII.items() if value.lower() in text.lower()}
    assert leaks == {}
    compact = re.sub(r"\s", "", text)
    assert PII["card"].replace(" ", "") not in compact and "15123456789" not in compact

    records = [json.loads(line) for line in captured_logs]  # every line is one JSON object
    inputs = [r for r in records if r["message"].startswith("turn input:")]
    assert len(inputs) == 3  # the question, the transfer, the confirmation
    assert all(r["request_id"] and r["turn_id"] for r in inputs)
    assert "****6199" in inputs[1]["message"] and "[name]" in inputs[0]["message"]
    ended = [r for r in records if r["logger"] == "app.turns"]
    assert [r["message"].split(" in ")[0] for r in ended] == [
        "turn message ended answered",
        "turn message ended confirm",
        "turn resume ended pending_approval",
        "turn decision ended executed",
    ]
    assert len({r["turn_id"] for r in ended}) == 4


def test_request_id_is_echoed_or_made() -> None:
    from app.observability import request_id

    assert request_id("lb-7f3a.42") == "lb-7f3a.42"
    made = request_id("<script>")
    assert made != "<script>" and re.fullmatch(r"[0-9a-f]{32}", made)


def test_redactor_masks_each_kind_and_keeps_the_rest() -> None:
    REDACTOR.learn(["Zoë Quintero-Ample"])
    line = (
        "payment of EUR 20000.00 on 2026-11-30 from zoë quintero-ample to DE75512108001245126199, "
        "call 030 1234567 or mail z.q@bank.example"
    )
    masked = REDACTOR.redact(line)
    assert masked == (
        "payment of EUR 20000.00 on 2026-11-30 from [name] to ****6199, call [phone] or mail [redacted]"
    )


def _metrics(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def _value(metrics: dict[Any, float], name: str, **labels: str) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_turns_model_calls_verdicts_and_the_queue(make_client: AppFactory) -> None:
    client = make_client(ANSWER, TRANSFER_20K)
    assert (
        client.get("/health", headers={"X-Request-ID": "lb-7f3a.42"}).headers["X-Request-ID"] == "lb-7f3a.42"
    )
    made = client.get("/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    before = _metrics(client)
    alice = login(client, "alice")
    say(client, alice, "How do I block a lost card?")
    _, proposal = say(client, alice, "send 20,000 EUR to Acme Trading GmbH DE75512108001245126199")
    confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])
    held = _metrics(client)
    assert _value(held, "finagent_queue_items", kind="approval", state="unclaimed") == 1
    assert _value(held, "finagent_queue_oldest_pending_seconds", kind="approval") >= 0

    item_id = client.get("/api/approvals", headers=login(client, "ana")).json()[0]["id"]
    _approve(client, "ana", item_id)
    after = _metrics(client)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("finagent_turns_total", kind="message", outcome="answered") == 1
    assert grew("finagent_turns_total", kind="message", outcome="confirm") == 1
    assert grew("finagent_turns_total", kind="resume", outcome="pending_approval") == 1
    assert grew("finagent_turns_total", kind="decision", outcome="executed") == 1
    assert grew("finagent_turn_seconds_count", kind="decision") == 1
    assert grew("finagent_llm_calls_total", call="stream", outcome="ok") == 1
    assert grew("finagent_llm_calls_total", call="structured", outcome="ok") == 1
    assert grew("finagent_verdicts_total", action="transfer", decision="REQUIRE_APPROVAL") == 2
    assert grew("finagent_tool_calls_total", tool="banking.execute_action", outcome="ok") == 1
    assert grew("finagent_graph_node_seconds_count", node="execute") == 1
    assert grew("finagent_retrieval_seconds_count", outcome="ok") >= 1
    assert _value(after, "finagent_queue_items", kind="approval", state="unclaimed") == 0
    assert _value(after, "finagent_queue_items", kind="approval", state="claimed") == 0


def test_spans_are_exported_over_otlp_when_configured() -> None:
    """A loopback OTLP/HTTP receiver gets the spans, as a collector would."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from finagent.telemetry import build_provider
    from tests.conftest import free_port

    received: list[ExportTraceServiceRequest] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = ExportTraceServiceRequest()
            request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(request if self.path == "/v1/traces" else ExportTraceServiceRequest())
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = Settings(
            environment="test",
            otlp_endpoint=f"http://127.0.0.1:{server.server_port}",
            otlp_protocol="http",
            otel_service_name="finagent-test",
        )
        provider = build_provider(settings)
        assert provider is not None
        with provider.get_tracer("finagent").start_as_current_span("turn message"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        server.shutdown()
    spans = [
        (span.name, {a.key: a.value.string_value for a in resource.resource.attributes})
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [name for name, _ in spans] == ["turn message"]
    assert spans[0][1]["service.name"] == "finagent-test"
