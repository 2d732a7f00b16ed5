"""Fairness of a scorecard's decisions across protected groups: `finagent risk fairness`.

The scorecard is trained twice with `tools.scorecard_training`: with every column, and without the
protected columns named in the config. Each is cross-validated, so every applicant's decision comes
from a card that never saw them. A decision is favourable when the score reaches the credit
pack's decline cut-off (the referral band counts as not declined). fairlearn measures the
demographic-parity and equalised-odds differences of those decisions across each group; only the
card without protected columns (the one fit for use) is gated against the thresholds.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
)
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sklearn.metrics import roc_auc_score

from tools.credit import load_scorecard
from tools.scorecard_training import TrainingError, TrainingSpec, cross_validate, ks_statistic, load_portfolio

ROOT = Path(__file__).resolve().parent.parent
FAIRNESS_CONFIG = Path(__file__).resolve().parent / "models" / "fairness.yaml"


class GroupSpec(BaseModel):
    """A protected group read from one column: a regex capture (`pattern`) or numeric `bands`."""

    model_config = ConfigDict(extra="forbid")

    column: str
    pattern: str | None = None
    bands: list[float] | None = None

    @model_validator(mode="after")
    def one_way(self) -> GroupSpec:
        if (self.pattern is None) == (self.bands is None):
            raise ValueError("give exactly one of pattern or bands")
        if self.bands is not None and self.bands != sorted(set(self.bands)):
            raise ValueError("bands must be strictly increasing")
        return self

    def labels(self, column: pd.Series) -> np.ndarray:
        if self.pattern is not None:
            found = column.str.extract(f"({self.pattern})", flags=re.IGNORECASE, expand=False)
            if found.isna().any():
                count = int(found.isna().sum())
                raise TrainingError(f"{count} values of {self.column!r} do not match {self.pattern!r}")
            return found.str.lower().to_numpy()
        edges = self.bands or []
        names = [f"<{edges[0]:g}"]  # a band [lo, hi) includes lo: age 25 is in [25, 35)
        names += [f"[{lo:g}, {hi:g})" for lo, hi in itertools.pairwise(edges)]
        names += [f"{edges[-1]:g}+"]
        return np.array(names)[np.searchsorted(edges, column.astype(float).to_numpy(), side="right")]


class FairnessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Path
    target: str
    good: str
    protected_columns: list[str]
    groups: dict[str, GroupSpec]
    max_demographic_parity_difference: float
    max_equalized_odds_difference: float
    shipped_model: str | None = None

    @classmethod
    def from_yaml(cls, path: Path) -> FairnessConfig:
        try:
            config = cls.model_validate(yaml.safe_load(path.read_text()) or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise TrainingError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
        if not config.data.is_absolute():
            config.data = ROOT / config.data
        return config


def group_metrics(y_bad: np.ndarray, approved: np.ndarray, groups: dict[str, np.ndarray]) -> dict[str, Any]:
    """fairlearn's differences, with approval (and a good outcome) as the positive label."""
    y_good = 1 - y_bad
    out: dict[str, Any] = {"demographic_parity_difference": {}, "equalized_odds_difference": {}}
    out["approval_rate_by_group"] = {}
    for name, labels in groups.items():
        dpd = demographic_parity_difference(y_good, approved, sensitive_features=labels)
        eod = equalized_odds_difference(y_good, approved, sensitive_features=labels)
        rates = MetricFrame(metrics=selection_rate, y_true=y_good, y_pred=approved, sensitive_features=labels)
        out["demographic_parity_difference"][name] = round(float(dpd), 4)
        out["equalized_odds_difference"][name] = round(float(eod), 4)
        out["approval_rate_by_group"][name] = {str(k): round(float(v), 4) for k, v in rates.by_group.items()}
    return out


def _variant(
    config: FairnessConfig, exclude: list[str], min_score: float, groups: dict[str, np.ndarray]
) -> dict[str, Any]:
    spec = TrainingSpec(exclude=exclude, good=config.good)
    portfolio = load_portfolio(config.data, config.target, spec)
    evaluation = cross_validate(portfolio, portfolio.types, spec.min_iv)
    approved = (evaluation.oof_scores >= min_score).astype(int)
    return {
        "excluded_columns": exclude,
        "cv_auc": round(float(np.mean(evaluation.fold_auc)), 4),
        "cv_ks": round(evaluation.ks, 4),
        "approval_rate": round(float(approved.mean()), 4),
        **group_metrics(portfolio.y, approved, groups),
    }


def _shipped(
    config: FairnessConfig, model: str, min_score: float, groups: dict[str, np.ndarray]
) -> dict[str, Any]:
    from tools.credit import credit_score

    card = load_scorecard(model)
    portfolio = load_portfolio(config.data, config.target, TrainingSpec(good=config.good))
    rows = portfolio.frame[list(card.features)].to_dict(orient="records")
    scores = np.array([credit_score(card, row)[0] for row in rows])
    approved = (scores >= min_score).astype(int)
    return {
        "model_version": card.model_version,
        "note": "in-sample: the shipped card was fitted on all rows",
        "uses_protected_columns": sorted(set(card.features) & set(config.protected_columns)),
        "auc": round(float(roc_auc_score(portfolio.y, -scores)), 4),
        "ks": round(ks_statistic(portfolio.y, -scores), 4),
        "approval_rate": round(float(approved.mean()), 4),
        **group_metrics(portfolio.y, approved, groups),
    }


def credit_pack_cutoff(policy_dir: Path) -> float:
    """The score below which the credit pack declines: decisions are measured at that cut-off."""
    from policies.loader import load_policy_set
    from policies.schema import ScorecardCutoffRule

    return float(load_policy_set(policy_dir).of_kind(ScorecardCutoffRule)[0].min_score)


def check(metrics: dict[str, Any], config: FairnessConfig) -> list[dict[str, Any]]:
    limits = {
        "demographic_parity_difference": config.max_demographic_parity_difference,
        "equalized_odds_difference": config.max_equalized_odds_difference,
    }
    return [
        {"metric": metric, "group": group, "value": value, "max": limit, "passed": value <= limit}
        for metric, limit in limits.items()
        for group, value in metrics[metric].items()
    ]


def fairness_report(config: FairnessConfig, min_score: float) -> dict[str, Any]:
    raw = pd.read_csv(config.data, dtype=str)
    missing = sorted({g.column for g in config.groups.values()} - set(raw.columns))
    if missing:
        raise TrainingError(f"group columns not in {config.data.name}: {', '.join(missing)}")
    groups = {name: spec.labels(raw[spec.column]) for name, spec in config.groups.items()}
    with_protected = _variant(config, [], min_score, groups)
    without = _variant(config, config.protected_columns, min_score, groups)
    checks = check(without, config)
    report = {
        "data": config.data.name,
        "decision": f"approve (not declined) when the out-of-fold score >= {min_score:g}",
        "thresholds": {
            "max_demographic_parity_difference": config.max_demographic_parity_difference,
            "max_equalized_odds_difference": config.max_equalized_odds_difference,
        },
        "gated_variant": "without_protected",
        "demographic_parity_difference": without["demographic_parity_difference"],
        "equalized_odds_difference": without["equalized_odds_difference"],
        "variants": {"with_protected": with_protected, "without_protected": without},
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }
    if config.shipped_model:
        report["shipped_model"] = _shipped(config, config.shipped_model, min_score, groups)
    return report
