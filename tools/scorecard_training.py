"""Train a points scorecard on any portfolio's CSV: `finagent risk train-scorecard`.

Each feature is binned with optbinning's `OptimalBinning` (numeric or categorical, chosen by a
spec or inferred), features with little information value are dropped, and a logistic regression
on the weight-of-evidence values is scaled to points (600 points at 50:1 good:bad odds, 20 points
to double the odds), as `scripts/train_scorecard.py` does for the shipped v1 card.

The model file has the shape `tools.credit.Scorecard` reads, so the product scores it with the
same code as v1 (`credit_score`, `assess_credit`). Binning and selection are refit inside every
cross-validation fold and the held-out rows are scored through `tools.credit.credit_score`, so the
reported AUC and KS are those of the code that runs, on rows the card never saw.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from optbinning import OptimalBinning
from pydantic import BaseModel, ConfigDict, ValidationError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

from tools.credit import Scorecard, credit_score

SEED = 20240601
FOLDS = 5
PDO, BASE_SCORE, BASE_ODDS = 20.0, 600.0, 50.0
# A numeric column with at most this many distinct values is treated as categorical (codes such
# as an installment-rate class 1-4 carry no order a bank would vouch for).
MAX_CODES = 10

FeatureType = Literal["numeric", "categorical"]


class TrainingError(ValueError):
    """The data or spec cannot train a scorecard; the message says which column or field."""


class TrainingSpec(BaseModel):
    """The optional YAML spec: column types, columns never to use, and the target's good value."""

    model_config = ConfigDict(extra="forbid")

    types: dict[str, FeatureType] = {}
    exclude: list[str] = []
    good: str | None = None
    min_iv: float = 0.02  # below this a feature's bins carry too little signal to be worth points

    @classmethod
    def from_yaml(cls, path: Path) -> TrainingSpec:
        try:
            return cls.model_validate(yaml.safe_load(path.read_text()) or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TrainingError(f"{path}: {where}: {first['msg']}") from exc


@dataclass
class Portfolio:
    """The training table: features as read (strings for categoricals), y = 1 for a bad outcome."""

    frame: pd.DataFrame
    y: np.ndarray
    types: dict[str, FeatureType]
    target: str
    good: str
    data_sha256: str


@dataclass
class Evaluation:
    fold_auc: list[float]
    ks: float
    calibration: list[dict[str, float]]
    oof_scores: np.ndarray = field(repr=False)


def _good_value(values: set[str], target: str, good: str | None) -> str:
    if good is not None:
        if good not in values:
            raise TrainingError(f"good value {good!r} does not occur in {target!r} ({sorted(values)})")
        return good
    for candidate in ("good", "0"):
        if candidate in values:
            return candidate
    raise TrainingError(f"cannot tell which of {sorted(values)} in {target!r} is good: pass --good")


def infer_type(column: pd.Series) -> FeatureType:
    numbers = pd.to_numeric(column.dropna(), errors="coerce")
    if numbers.isna().any() or column.nunique(dropna=True) <= MAX_CODES:
        return "categorical"
    return "numeric"


def load_portfolio(
    data: Path, target: str, spec: TrainingSpec | None = None, good: str | None = None
) -> Portfolio:
    spec = spec or TrainingSpec()
    if not data.is_file():
        raise TrainingError(f"no such data file: {data}")
    raw = pd.read_csv(data, dtype=str, keep_default_na=False, na_values=[""])
    if target not in raw.columns:
        raise TrainingError(
            f"target column {target!r} is not in {data.name}; columns: {', '.join(raw.columns)}"
        )
    labels = raw.pop(target)
    if labels.isna().any():
        raise TrainingError(f"target column {target!r} has {int(labels.isna().sum())} empty values")
    values = set(labels)
    if len(values) != 2:
        raise TrainingError(f"target column {target!r} must have two values, has {len(values)}")
    good_value = _good_value(values, target, good if good is not None else spec.good)
    unknown = sorted((set(spec.types) | set(spec.exclude)) - set(raw.columns))
    if unknown:
        raise TrainingError(f"spec names columns not in {data.name}: {', '.join(unknown)}")
    frame = raw.drop(columns=spec.exclude)
    types = {name: spec.types.get(name) or infer_type(frame[name]) for name in frame.columns}
    for name, kind in types.items():
        if kind == "numeric":
            numbers = pd.to_numeric(frame[name], errors="coerce")
            if numbers.isna().any():
                raise TrainingError(
                    f"column {name!r} has {int(numbers.isna().sum())} empty or non-numeric values; "
                    "fill them or declare it categorical in the spec"
                )
            frame[name] = numbers.astype(float)
        else:
            frame[name] = frame[name].fillna("__missing__")
    y = (labels != good_value).to_numpy(dtype=int)
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    return Portfolio(frame, y, types, target, good_value, digest)


def _bin_feature(name: str, kind: FeatureType, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """optbinning's optimal bins, as edges (numeric) or category groups, with each bin's WoE."""
    binning = OptimalBinning(name=name, dtype="numerical" if kind == "numeric" else "categorical")
    binning.fit(x, y)
    table = binning.binning_table
    table.build()
    iv = float(table.iv)
    indices = binning.transform(x, metric="indices")
    woe = binning.transform(x, metric="woe")
    if kind == "numeric":
        by_bin = {f"bin{int(i)}": float(woe[indices == i][0]) for i in np.unique(indices)}
        return {"type": kind, "edges": [float(e) for e in binning.splits], "woe": by_bin, "iv": iv}
    by_category = {str(c): float(woe[x == c][0]) for c in np.unique(x)}
    return {"type": kind, "woe": by_category, "iv": iv}


def _woe_matrix(frame: pd.DataFrame, bins: dict[str, dict[str, Any]]) -> np.ndarray:
    # Bin labels come from tools.credit, so training and scoring cannot disagree on a bin.
    features = {name: {**spec, "points": spec["woe"]} for name, spec in bins.items()}
    card = Scorecard(model_version="fit", cv_auc=0.0, factor=1.0, offset=0.0, features=features)
    columns = [
        [spec["woe"].get(card.bin_label(name, v), 0.0) for v in frame[name]] for name, spec in bins.items()
    ]
    return np.array(columns, dtype=float).T


def fit_card(
    frame: pd.DataFrame, y: np.ndarray, types: dict[str, FeatureType], min_iv: float
) -> dict[str, Any]:
    """Bins, selection and logistic regression on one training set; returns the points table."""
    bins: dict[str, dict[str, Any]] = {}
    for name, kind in types.items():
        binned = _bin_feature(name, kind, frame[name].to_numpy(), y)
        if binned["iv"] >= min_iv:
            bins[name] = binned
    if not bins:
        raise TrainingError(f"no feature reaches the minimum information value {min_iv}")
    model = LogisticRegression(C=0.1, max_iter=2000)
    model.fit(_woe_matrix(frame, bins), y)
    factor = PDO / math.log(2)
    offset = BASE_SCORE - factor * math.log(BASE_ODDS)
    n, beta0 = len(bins), float(model.intercept_[0])
    features: dict[str, Any] = {}
    for (name, spec), beta in zip(bins.items(), model.coef_[0], strict=True):
        # log-odds of bad = b0 + sum(beta * woe); points rise with the log-odds of good.
        def points(woe: float, b: float = float(beta)) -> float:
            return round(-(b * woe + beta0 / n) * factor + offset / n, 1)

        table = {label: points(w) for label, w in spec["woe"].items()} | {"__other__": points(0.0)}
        features[name] = {k: v for k, v in spec.items() if k not in ("woe", "iv")} | {
            "iv": round(spec["iv"], 4),
            "points": table,
        }
    return {"factor": factor, "offset": offset, "features": features}


def score_rows(card: dict[str, Any], frame: pd.DataFrame) -> np.ndarray:
    """Scores through tools.credit, the code the product runs (higher is better)."""
    scorecard = Scorecard.model_validate({"model_version": "eval", "cv_auc": 0.0, **card})
    rows = frame[list(scorecard.features)].to_dict(orient="records")
    return np.array([credit_score(scorecard, row)[0] for row in rows])


def probability_of_default(scores: np.ndarray, card: dict[str, Any]) -> np.ndarray:
    return 1 / (1 + np.exp((scores - card["offset"]) / card["factor"]))


def ks_statistic(y: np.ndarray, risk: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, risk)
    return float(np.max(tpr - fpr))


def calibration_by_decile(y: np.ndarray, pd_hat: np.ndarray) -> list[dict[str, float]]:
    order = np.argsort(pd_hat, kind="stable")
    out = []
    for decile, idx in enumerate(np.array_split(order, 10), start=1):
        out.append(
            {
                "decile": decile,
                "rows": len(idx),
                "mean_predicted_pd": round(float(pd_hat[idx].mean()), 4),
                "observed_bad_rate": round(float(y[idx].mean()), 4),
            }
        )
    return out


def cross_validate(portfolio: Portfolio, types: dict[str, FeatureType], min_iv: float) -> Evaluation:
    """Out-of-fold scores: every row is scored by a card fitted without it."""
    y, frame = portfolio.y, portfolio.frame
    oof_scores, oof_pd = np.zeros(len(y)), np.zeros(len(y))
    aucs = []
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for train, test in folds.split(np.zeros(len(y)), y):
        card = fit_card(frame.iloc[train], y[train], types, min_iv)
        scores = score_rows(card, frame.iloc[test])
        oof_scores[test], oof_pd[test] = scores, probability_of_default(scores, card)
        aucs.append(float(roc_auc_score(y[test], -scores)))
    return Evaluation(aucs, ks_statistic(y, -oof_scores), calibration_by_decile(y, oof_pd), oof_scores)


def model_version(data: Path, portfolio: Portfolio, spec: TrainingSpec) -> str:
    """Named after the data and everything that shapes the card: same inputs, same version."""
    recipe = json.dumps(
        [portfolio.data_sha256, portfolio.target, portfolio.good, spec.model_dump(), SEED], sort_keys=True
    )
    slug = re.sub(r"[^a-z0-9]+", "-", data.stem.lower()).strip("-") or "portfolio"
    return f"scorecard-{slug}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"


def train(
    data: Path, target: str, out: Path, spec: TrainingSpec | None = None, good: str | None = None
) -> dict[str, Any]:
    """Train, evaluate on held-out folds, write `<version>.json` and `<version>.md` into `out`."""
    from tools.model_card import render_model_card

    spec = spec or TrainingSpec()
    portfolio = load_portfolio(data, target, spec, good)
    if min(int(portfolio.y.sum()), int(len(portfolio.y) - portfolio.y.sum())) < 2 * FOLDS:
        raise TrainingError(f"{target!r} needs at least {2 * FOLDS} goods and bads for {FOLDS} folds")
    evaluation = cross_validate(portfolio, portfolio.types, spec.min_iv)
    card = fit_card(portfolio.frame, portfolio.y, portfolio.types, spec.min_iv)
    version = model_version(data, portfolio, spec)
    payload = {
        "model_version": version,
        "trainer": f"finagent risk train-scorecard (optbinning {package_version('optbinning')})",
        "data_file": data.name,
        "data_sha256": portfolio.data_sha256,
        "training_rows": len(portfolio.y),
        "bad_rate": round(float(portfolio.y.mean()), 4),
        "target": target,
        "good_value": portfolio.good,
        "column_types": portfolio.types,
        "excluded_columns": spec.exclude,
        "dropped_low_iv": sorted(set(portfolio.types) - set(card["features"])),
        "cv_auc_folds": [round(a, 4) for a in evaluation.fold_auc],
        "cv_auc": round(float(np.mean(evaluation.fold_auc)), 4),
        "cv_ks": round(evaluation.ks, 4),
        "calibration_by_decile": evaluation.calibration,
        "scaling": {"pdo": PDO, "base_score": BASE_SCORE, "base_odds": BASE_ODDS},
        **card,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{version}.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    (out / f"{version}.md").write_text(render_model_card(payload))
    return payload
