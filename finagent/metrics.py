"""Prometheus metrics, exposed at /metrics. deploy/grafana/finagent.json charts them.

Every metric here is fed by real code; docs/observability.md says which, and how to read each one.
"""

from prometheus_client import Counter, Gauge, Histogram

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
