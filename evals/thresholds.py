"""Thresholds (evals/thresholds.yaml) and the comparison with a baseline run.

A threshold is a floor (``min``), a ceiling (``max``) or the most a metric may worsen against the
baseline (``max_regression``, read only with ``--baseline``). Any of them failing makes
`finagent eval` exit 1, so CI can gate on it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.yaml"


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    max_regression: float | None = Field(default=None, ge=0)
    lower_is_better: bool | None = None  # overrides the suite's own direction


class ThresholdError(ValueError):
    """thresholds.yaml cannot be used: the message names the file, suite and metric."""


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, dict[str, Threshold]]:
    if not path.exists():
        raise ThresholdError(f"{path}: no such thresholds file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ThresholdError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ThresholdError(f"{path}: expected a mapping of suite -> metric -> threshold")
    out: dict[str, dict[str, Threshold]] = {}
    for suite, metrics in raw.items():
        if not isinstance(metrics, dict):
            raise ThresholdError(f"{path}: suite {suite!r}: expected a mapping of metric -> threshold")
        out[str(suite)] = {}
        for metric, spec in metrics.items():
            try:
                out[str(suite)][str(metric)] = Threshold.model_validate(spec)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ThresholdError(f"{path}: {suite}.{metric}.{where}: {first['msg']}") from exc
    return out


def threshold_failures(metrics: dict[str, float], thresholds: dict[str, Threshold]) -> list[dict[str, Any]]:
    """The floors and ceilings this suite's metrics break. A threshold on a metric the suite did not
    report fails too: a gate that silently reads nothing is no gate."""
    failures: list[dict[str, Any]] = []
    for metric, t in thresholds.items():
        if t.min is None and t.max is None:
            continue
        value = metrics.get(metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            failures.append({"metric": metric, "value": None, "why": "metric missing from the run"})
        elif t.min is not None and value < t.min:
            failures.append({"metric": metric, "value": value, "why": f"below min {t.min}"})
        elif t.max is not None and value > t.max:
            failures.append({"metric": metric, "value": value, "why": f"above max {t.max}"})
    return failures


def load_baseline(folder: Path) -> dict[str, dict[str, float]]:
    """Suite -> metrics from an earlier run's results.json (either layout: one suite or several)."""
    path = folder / "results.json" if folder.is_dir() else folder
    if not path.exists():
        raise ThresholdError(f"{path}: no results.json for the baseline")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ThresholdError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ThresholdError(f"{path}: not a finagent eval results.json")
    suites = data.get("suites")
    if isinstance(suites, dict) and suites:
        return {name: dict(s.get("metrics") or {}) for name, s in suites.items()}
    if "suite" in data and "metrics" in data:
        return {data["suite"]: dict(data["metrics"])}
    raise ThresholdError(f"{path}: not a finagent eval results.json")


def compare(
    current: dict[str, float],
    baseline: dict[str, float],
    lower_is_better: set[str],
    thresholds: dict[str, Threshold],
) -> list[dict[str, Any]]:
    """Per metric in both runs: the change, whether it is a regression, and whether it breaks the
    metric's ``max_regression``."""
    rows = []
    for metric in sorted(current.keys() & baseline.keys()):
        now, before = current[metric], baseline[metric]
        if not isinstance(now, int | float) or not isinstance(before, int | float):
            continue
        t = thresholds.get(metric)
        lower = t.lower_is_better if t and t.lower_is_better is not None else metric in lower_is_better
        worse_by = (now - before) if lower else (before - now)
        regression = worse_by > 1e-9
        rows.append({
            "metric": metric, "baseline": before, "current": now, "delta": round(now - before, 6),
            "regression": regression, "lower_is_better": lower,
            "gating": bool(regression and t is not None and t.max_regression is not None
                           and worse_by > t.max_regression + 1e-12),
        })  # fmt: skip
    return rows
