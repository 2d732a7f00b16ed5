"""`finagent risk fairness`: fairlearn's differences across protected groups, gated by thresholds
that live in YAML, for a card trained with and without the protected columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from app.cli import app
from tests.unit.risk.synthetic import write_loan_book
from tools.fairness import FAIRNESS_CONFIG, FairnessConfig, GroupSpec, check, group_metrics
from tools.scorecard_training import TrainingError

runner = CliRunner()

SYNTHETIC_CONFIG = """\
data: {data}
target: defaulted
good: "no"
protected_columns: [gender, age]
groups:
  gender: {{column: gender, pattern: "F|M"}}
  age_band: {{column: age, bands: [30, 50]}}
max_demographic_parity_difference: {dpd}
max_equalized_odds_difference: {eod}
"""


def synthetic_config(tmp_path: Path, dpd: float, eod: float) -> Path:
    data = write_loan_book(tmp_path / "loans.csv", rows=800)
    config = tmp_path / "fairness.yaml"
    config.write_text(SYNTHETIC_CONFIG.format(data=data, dpd=dpd, eod=eod))
    return config


def run(tmp_path: Path, dpd: float, eod: float) -> tuple[int, str, dict]:
    config = synthetic_config(tmp_path, dpd, eod)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["risk", "fairness", "--config", str(config), "--min-score", "480", "--out", str(out)]
    )
    return result.exit_code, result.output, json.loads((out / "results.json").read_text())


def test_within_thresholds_passes(tmp_path: Path) -> None:
    code, output, results = run(tmp_path, dpd=1.0, eod=1.0)
    assert code == 0 and results["passed"] and "fairness: PASS" in output
    assert set(results["demographic_parity_difference"]) == {"gender", "age_band"}
    assert set(results["equalized_odds_difference"]) == {"gender", "age_band"}
    without = results["variants"]["without_protected"]
    assert without["excluded_columns"] == ["gender", "age"]
    assert results["demographic_parity_difference"] == without["demographic_parity_difference"]
    assert set(without["approval_rate_by_group"]["age_band"]) == {"<30", "[30, 50)", "50+"}


def test_a_threshold_exceeded_fails_with_exit_1(tmp_path: Path) -> None:
    code, output, results = run(tmp_path, dpd=0.0, eod=1.0)
    assert code == 1 and not results["passed"] and "fairness: FAIL" in output
    failed = {(c["metric"], c["group"]) for c in results["checks"] if not c["passed"]}
    observed = results["demographic_parity_difference"]
    assert failed == {("demographic_parity_difference", g) for g, v in observed.items() if v > 0}
    assert failed  # random groups still differ a little at 800 rows


@pytest.mark.parametrize(("eod", "passes"), [(1.0, True), (0.0, False)])
def test_risk_eval_suite_gates_on_the_thresholds(tmp_path: Path, eod: float, passes: bool) -> None:
    from evals.base import SuiteContext
    from evals.suites import risk
    from finagent.settings import Settings

    options = {"fairness_config": synthetic_config(tmp_path, dpd=1.0, eod=eod)}
    ctx = SuiteContext(
        tmp_path, Settings(data_dir=tmp_path, environment="test"), options, show_progress=False
    )
    result = risk.run(ctx)
    assert (result.failed_gates() == []) is passes
    assert result.metrics["fairness_within_thresholds"] == float(passes)
    assert "equalized_odds_difference.age_band.without_protected" in result.metrics
    assert ("**over** equalized_odds_difference" in result.report_md) is not passes


def test_check_compares_each_group_with_its_limit() -> None:
    config = FairnessConfig.model_validate(
        {
            "data": "x.csv",
            "target": "t",
            "good": "g",
            "protected_columns": [],
            "groups": {},
            "max_demographic_parity_difference": 0.10,
            "max_equalized_odds_difference": 0.20,
        }
    )
    metrics = {
        "demographic_parity_difference": {"sex": 0.10, "age_band": 0.11},
        "equalized_odds_difference": {"sex": 0.21, "age_band": 0.05},
    }
    verdicts = {(c["metric"], c["group"]): c["passed"] for c in check(metrics, config)}
    assert verdicts == {
        ("demographic_parity_difference", "sex"): True,  # at the limit is within it
        ("demographic_parity_difference", "age_band"): False,
        ("equalized_odds_difference", "sex"): False,
        ("equalized_odds_difference", "age_band"): True,
    }


def test_group_metrics_match_hand_computed_rates() -> None:
    y_bad = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    approved = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    groups = {"sex": np.array(["f"] * 4 + ["m"] * 4)}
    metrics = group_metrics(y_bad, approved, groups)
    # approval: f 3/4, m 1/4; among goods f 2/2 vs m 1/2; among bads f 1/2 vs m 0/2
    assert metrics["approval_rate_by_group"]["sex"] == {"f": 0.75, "m": 0.25}
    assert metrics["demographic_parity_difference"]["sex"] == 0.5
    assert metrics["equalized_odds_difference"]["sex"] == 0.5


def test_group_labels() -> None:
    sex = GroupSpec(column="s", pattern="female|male")
    labels = sex.labels(pd.Series(["male : single", "female : divorced/separated/married"]))
    assert list(labels) == ["male", "female"]
    age = GroupSpec(column="a", bands=[25, 35, 50])
    assert list(age.labels(pd.Series(["19", "25", "34", "35", "50", "75"]))) == [
        "<25",
        "[25, 35)",
        "[25, 35)",
        "[35, 50)",
        "50+",
        "50+",
    ]
    with pytest.raises(TrainingError, match="1 values of 's' do not match"):
        sex.labels(pd.Series(["male", "unknown"]))
    with pytest.raises(ValueError, match="exactly one of pattern or bands"):
        GroupSpec(column="a", pattern="x", bands=[1])
    with pytest.raises(ValueError, match="strictly increasing"):
        GroupSpec(column="a", bands=[50, 25])


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config = synthetic_config(tmp_path, dpd=0.1, eod=0.1)
    config.write_text(config.read_text().replace("column: gender", "column: sex"))
    result = runner.invoke(app, ["risk", "fairness", "--config", str(config), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: group columns not in loans.csv: sex"
    config.write_text(config.read_text().replace("max_equalized_odds_difference: 0.1", ""))
    result = runner.invoke(app, ["risk", "fairness", "--config", str(config), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "max_equalized_odds_difference: Field required" in result.output


def test_shipped_config_is_valid_and_gates_german_credit() -> None:
    config = FairnessConfig.from_yaml(FAIRNESS_CONFIG)
    assert config.data.is_file()
    assert {"personal_status_and_sex", "age_in_years"} <= set(config.protected_columns)
    assert set(config.groups) == {"sex", "age_band"}
    assert 0 < config.max_demographic_parity_difference <= 0.2
    assert 0 < config.max_equalized_odds_difference <= 0.2


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict]:
    out = tmp_path_factory.mktemp("fairness")
    result = runner.invoke(app, ["risk", "fairness", "--out", str(out)])
    return result.exit_code, json.loads((out / "results.json").read_text())


def test_german_credit_with_and_without_protected_columns(german: tuple[int, dict]) -> None:
    code, results = german
    assert code == (0 if results["passed"] else 1)
    assert "score >= 480" in results["decision"]  # the credit pack's decline cut-off
    with_, without = results["variants"]["with_protected"], results["variants"]["without_protected"]
    assert with_["excluded_columns"] == []
    assert without["excluded_columns"] == ["personal_status_and_sex", "age_in_years", "foreign_worker"]
    for variant in (with_, without):
        assert variant["cv_auc"] > 0.75
        assert set(variant["demographic_parity_difference"]) == {"sex", "age_band"}
    # Removing age as an input narrows the approval gap between age bands.
    assert (
        without["demographic_parity_difference"]["age_band"]
        < with_["demographic_parity_difference"]["age_band"]
    )
    assert results["shipped_model"]["uses_protected_columns"]  # scorecard-v1 reads sex and age
