"""Prometheus metrics, exposed at /metrics. deploy/grafana/finagent.json charts them.

Every metric here is fed by real code; docs/observability.md says which, and how to read each one.
"""

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from finagent.streams import Backlog

CHAT_EVENTS = Counter("finagent_chat_events_total", "Events sent to chat clients", ["event"])
HTTP_LATENCY = Histogram(
    "finagent_http_request_seconds", "HTTP request latency", ["method", "route", "status"]
)

# A turn: one run of the conversation graph for a customer message, a confirmation, or an officer's
# decision resuming a held action. `outcome` is the status the turn ended in (answered, confirm,
# pending_approval, executed, ...) or "error".
_TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
TURNS = Counter("finagent_turns_total", "Graph turns, by kind and outcome", ["kind", "outcome"])
TURN_SECONDS = Histogram(
    "finagent_turn_seconds", "Wall time of a graph turn", ["kind"], buckets=_TURN_BUCKETS
)
GRAPH_NODE_SECONDS = Histogram(
    "finagent_graph_node_seconds", "Wall time of a graph node (agents' nodes included)", ["node"]
)

# Model calls: `call` is stream | structured | tool_call; `outcome` ok | unavailable | bad_output.
LLM_CALLS = Counter("finagent_llm_calls_total", "Model calls", ["call", "outcome"])
LLM_SECONDS = Histogram(
    "finagent_llm_call_seconds", "Wall time of a model call", ["call"], buckets=_TURN_BUCKETS
)
# Reported by the endpoint (OpenAI `usage`): prompt | completion.
LLM_TOKENS = Counter("finagent_llm_tokens_total", "Tokens the model endpoint reported", ["kind"])

RETRIEVAL_SECONDS = Histogram(
    "finagent_retrieval_seconds", "Wall time of a knowledge-base search", ["outcome"]
)
TOOL_CALLS = Counter("finagent_tool_calls_total", "Tool entry points called", ["tool", "outcome"])

# Policy verdicts given by the rule engine: ALLOW | REQUIRE_APPROVAL | BLOCK.
VERDICTS = Counter("finagent_verdicts_total", "Policy verdicts", ["action", "decision"])

# Read from the database when /metrics is scraped: the same value on every replica (chart max, not sum).
QUEUE_ITEMS = Gauge(
    "finagent_queue_items",
    "Open work items (finagent.work_queue), by kind: unclaimed or claimed",
    ["kind", "state"],
)
QUEUE_OLDEST_SECONDS = Gauge(
    "finagent_queue_oldest_pending_seconds", "Age of the oldest open work item, by kind", ["kind"]
)
# An item that waited past its SLA: counted by the sweep that escalates it (app/queue_sweep.py), once.
QUEUE_SLA_BREACHES = Counter(
    "finagent_queue_sla_breaches_total", "Work items that passed their SLA and escalated", ["kind"]
)
# Transaction monitoring. Per worker process (each worker can serve them: `monitor run --metrics-port`):
MONITOR_PROCESSED = Counter(
    "finagent_monitor_worker_transactions_total", "Transactions screened by this worker"
)
MONITOR_ALERTS = Counter("finagent_monitor_worker_alerts_total", "Alerts created by this worker")
MONITOR_LATENCY = Histogram(
    "finagent_monitor_enqueue_to_alert_seconds",
    "From a transaction's enqueue to its alert's commit",
    buckets=(0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class StreamBacklogCollector:
    """The monitoring stream as the whole cluster sees it, refreshed by the server before each scrape."""

    def __init__(self) -> None:
        self.backlog: Backlog | None = None
        self.up = False

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "finagent_monitor_stream_up", "1 when the stream was readable", value=int(self.up)
        )
        b = self.backlog
        if b is None or not self.up:
            return
        for name, doc, value in (
            ("lag", "Entries not yet delivered to a worker", b.lag),
            ("pending", "Entries delivered to a worker, not yet acknowledged", b.pending),
            ("length", "Entries in the stream", b.length),
            ("consumers", "Workers known to the consumer group", b.consumers),
        ):
            yield GaugeMetricFamily(f"finagent_monitor_{name}", doc, value=value)
        for name, doc, value in (
            ("transactions", "Transactions screened and acknowledged (rate() is throughput)", b.processed),
            ("alerts", "Alerts created", b.alerts),
            ("dead_letters", "Unreadable messages set aside", b.dead_letters),
        ):
            yield CounterMetricFamily(f"finagent_monitor_{name}", doc, value=value)


STREAM_BACKLOG = StreamBacklogCollector()
REGISTRY.register(STREAM_BACKLOG)
