"""Prometheus metrics, exposed at /metrics."""

from prometheus_client import Counter, Histogram

CHAT_EVENTS = Counter("finagent_chat_events_total", "Events sent to chat clients", ["event"])
HTTP_LATENCY = Histogram(
    "finagent_http_request_seconds", "HTTP request latency", ["method", "route", "status"]
)
