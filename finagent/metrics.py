"""Prometheus metrics, exposed at /metrics."""

from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from finagent.streams import Backlog

CHAT_EVENTS = Counter("finagent_chat_events_total", "Events sent to chat clients", ["event"])
HTTP_LATENCY = Histogram(
    "finagent_http_request_seconds", "HTTP request latency", ["method", "route", "status"]
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
