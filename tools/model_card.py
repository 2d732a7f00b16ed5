"""The Markdown model card written beside every trained scorecard file."""

from __future__ import annotations

from typing import Any

LIMITS = """\
- Figures are out-of-fold: binning, feature selection and the regression are refit on four folds
  and the fifth is scored through `tools/credit.py`. They describe this data set only; a different
  population, period or product needs its own validation before use.
- Trained on accepted applicants only (no reject inference): the card has not seen the applicants a
  previous policy declined, so its ranking below the old cut-off is unproven.
- Numeric columns must have no empty values; a category never seen in training scores the neutral
  `__other__` points.
- The card is a pre-assessment aid. It never makes a final credit decision: cut-offs live in the
  credit policy pack and referrals go to an underwriter.
- Columns in the spec's `exclude` list are not used; that does not remove proxies for them that
  other columns may carry. Check fairness with `finagent risk fairness` before deployment.
"""


def _table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_model_card(model: dict[str, Any]) -> str:
    features = [
        [name, spec["type"], f"{spec['iv']:.3f}", str(len(spec["points"]) - 1)]
        for name, spec in sorted(model["features"].items(), key=lambda kv: -kv[1]["iv"])
    ]
    calibration = [
        [
            str(row["decile"]),
            str(row["rows"]),
            f"{row['mean_predicted_pd']:.3f}",
            f"{row['observed_bad_rate']:.3f}",
        ]
        for row in model["calibration_by_decile"]
    ]
    folds = ", ".join(f"{a:.3f}" for a in model["cv_auc_folds"])
    excluded = ", ".join(model["excluded_columns"]) or "none"
    dropped = ", ".join(model["dropped_low_iv"]) or "none"
    return f"""# Model card: {model["model_version"]}

Trained by {model["trainer"]}.

## Data
- File: `{model["data_file"]}`, SHA-256 `{model["data_sha256"]}`
- Rows: {model["training_rows"]}; bad rate {model["bad_rate"]:.3f}
  (target `{model["target"]}`, good = `{model["good_value"]}`)
- Excluded by the spec: {excluded}
- Dropped for information value below the minimum: {dropped}

## Features (optbinning optimal bins, weight of evidence, logistic regression)
{_table(features, ["feature", "type", "IV", "bins or categories"])}

## Discrimination on held-out folds
- ROC-AUC: {model["cv_auc"]:.3f} (folds: {folds})
- KS: {model["cv_ks"]:.3f}

## Calibration by decile of predicted PD (held-out)
{_table(calibration, ["decile", "rows", "mean predicted PD", "observed bad rate"])}

## Scaling
{model["scaling"]["base_score"]:.0f} points at {model["scaling"]["base_odds"]:.0f}:1 good:bad odds,
{model["scaling"]["pdo"]:.0f} points to double the odds.

## Limits
{LIMITS}"""
