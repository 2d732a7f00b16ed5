"""`finagent risk train-scorecard`: any portfolio's CSV in, a versioned model file and model card out,
scored by the product's own `tools/credit.py`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from app.cli import app
from tests.unit.risk.synthetic import SPEC, write_loan_book
from tools.credit import credit_score, load_scorecard
from tools.scorecard_training import (
    FOLDS,
    TrainingSpec,
    cross_validate,
    fit_card,
    infer_type,
    load_portfolio,
    model_version,
    score_rows,
)

ROOT = Path(__file__).resolve().parents[3]
GERMAN = ROOT / "data" / "germancredit" / "germancredit.csv"
UCI = ROOT / "data" / "uci-credit-card"
runner = CliRunner()


def train_cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["risk", "train-scorecard", *args])
    return result.exit_code, result.output


def written(out: Path) -> dict:
    [model_file] = out.glob("scorecard-*.json")
    assert model_file.with_suffix(".md").is_file()
    return json.loads(model_file.read_text())


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("german")
    code, output = train_cli("--data", str(GERMAN), "--target", "creditability", "--out", str(out))
    assert code == 0, output
    return out, written(out)


def test_german_credit_end_to_end(german: tuple[Path, dict]) -> None:
    out, model = german
    assert model["data_sha256"] and model["training_rows"] == 1000 and model["good_value"] == "good"
    assert len(model["cv_auc_folds"]) == FOLDS
    assert model["cv_auc"] == pytest.approx(np.mean(model["cv_auc_folds"]), abs=1e-3)
    assert model["cv_auc"] > 0.75  # German Credit scorecards reach 0.75-0.80 out of sample
    assert 0.3 < model["cv_ks"] < 0.7
    assert [row["decile"] for row in model["calibration_by_decile"]] == list(range(1, 11))
    card = (out / f"{model['model_version']}.md").read_text()
    for heading in ("## Data", "ROC-AUC: ", "KS: ", "## Calibration by decile", "## Limits"):
        assert heading in card
    assert model["data_sha256"] in card


def test_model_file_is_scored_by_the_product_code(german: tuple[Path, dict]) -> None:
    out, model = german
    card = load_scorecard(model["model_version"], out)
    frame = pd.read_csv(GERMAN)
    y_bad = (frame.pop("creditability") == "bad").to_numpy()
    scores = [credit_score(card, row)[0] for row in frame.to_dict(orient="records")]
    # In-sample, through tools/credit.py: a bin mapping that disagreed with training would lose this.
    assert roc_auc_score(y_bad, -np.array(scores)) > model["cv_auc"]


def test_auc_is_held_out_not_in_sample(tmp_path: Path) -> None:
    # 40 meaningless categories: the bins fit noise, which only held-out folds expose.
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"branch": rng.choice([f"b{i}" for i in range(40)], 600), "y": rng.integers(0, 2, 600)}
    )
    frame.to_csv(tmp_path / "noise.csv", index=False)
    spec = TrainingSpec(min_iv=0.0)
    portfolio = load_portfolio(tmp_path / "noise.csv", "y", spec)
    held_out = float(np.mean(cross_validate(portfolio, portfolio.types, 0.0).fold_auc))
    card = fit_card(portfolio.frame, portfolio.y, portfolio.types, 0.0)
    in_sample = roc_auc_score(portfolio.y, -score_rows(card, portfolio.frame))
    assert held_out < 0.56 < in_sample


def test_other_portfolio_with_a_spec(tmp_path: Path) -> None:
    data = write_loan_book(tmp_path / "loans.csv")
    (tmp_path / "spec.yaml").write_text(SPEC)
    out = tmp_path / "models"
    args = ["--data", str(data), "--target", "defaulted", "--spec", str(tmp_path / "spec.yaml")]
    code, output = train_cli(*args, "--out", str(out))
    assert code == 0, output
    model = written(out)
    assert model["good_value"] == "no" and model["bad_rate"] == pytest.approx(0.39, abs=0.05)
    assert not {"applicant_id", "gender", "age"} & set(model["features"])  # excluded by the spec
    assert model["features"]["past_arrears"]["type"] == "numeric"  # the spec beats inference
    assert "region" in model["dropped_low_iv"]  # pure noise, below the minimum information value
    assert model["cv_auc"] > 0.65 and len(model["cv_auc_folds"]) == FOLDS
    assert f"held-out ROC-AUC {model['cv_auc']:.3f}" in output


def test_public_uci_credit_card_sample(tmp_path: Path) -> None:
    spec = ["--spec", str(UCI / "spec.yaml")]
    code, output = train_cli(
        "--data", str(UCI / "uci_credit_card.csv"), "--target", "default", *spec, "--out", str(tmp_path)
    )
    assert code == 0, output
    model = written(tmp_path)
    assert model["training_rows"] == 6000 and "MARRIAGE" not in model["features"]
    assert model["cv_auc"] > 0.58  # four columns, no payment history: a weak but real ranking


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "target column 'nope' is not in germancredit.csv; columns: "),
        (["--target", "purpose"], "target column 'purpose' must have two values, has 10"),
        (["--target", "creditability", "--good", "fine"], "good value 'fine' does not occur"),
    ],
)
def test_bad_target_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = train_cli("--data", str(GERMAN), *args, "--out", str(tmp_path))
    assert code == 2
    assert output.strip().startswith("error: ") and message in output
    assert len(output.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("exclude: [salary]\n", "spec names columns not in germancredit.csv: salary"),
        ("types: {purpose: text}\n", "types.purpose: Input should be 'numeric' or 'categorical'"),
        ("types: {purpose: numeric}\n", "column 'purpose' has 1000 empty or non-numeric values"),
    ],
)
def test_bad_spec_names_the_field(tmp_path: Path, spec: str, message: str) -> None:
    (tmp_path / "spec.yaml").write_text(spec)
    args = ["--data", str(GERMAN), "--target", "creditability", "--spec", str(tmp_path / "spec.yaml")]
    code, output = train_cli(*args, "--out", str(tmp_path / "out"))
    assert code == 2 and message in output and len(output.strip().splitlines()) == 1


def test_version_changes_with_the_spec_not_with_a_rerun(tmp_path: Path) -> None:
    data = write_loan_book(tmp_path / "loans.csv", rows=400)
    spec = TrainingSpec(exclude=["applicant_id"], good="no")
    first = model_version(data, load_portfolio(data, "defaulted", spec), spec)
    assert first == model_version(data, load_portfolio(data, "defaulted", spec), spec)
    other = TrainingSpec(exclude=["applicant_id", "region"], good="no")
    assert model_version(data, load_portfolio(data, "defaulted", other), other) != first


def test_type_inference() -> None:
    assert infer_type(pd.Series([str(v) for v in range(50)])) == "numeric"
    assert infer_type(pd.Series(["1", "2", "3", "4"] * 10)) == "categorical"  # codes, not amounts
    assert infer_type(pd.Series(["own", "rent"] * 20)) == "categorical"


def test_cli_is_registered() -> None:
    result = runner.invoke(app, ["risk", "--help"])
    assert "train-scorecard" in result.output and "fairness" in result.output


def test_empty_categories_score_as_their_own_bin(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    housing = rng.choice(["own", "rent", ""], 900, p=[0.45, 0.45, 0.1])
    bad = rng.random(900) < np.where(housing == "", 0.7, np.where(housing == "rent", 0.4, 0.15))
    pd.DataFrame({"housing": housing, "bad": bad.astype(int)}).to_csv(tmp_path / "h.csv", index=False)
    portfolio = load_portfolio(tmp_path / "h.csv", "bad")
    assert portfolio.good == "0"  # a 0/1 target: 0 is good unless told otherwise
    points = fit_card(portfolio.frame, portfolio.y, portfolio.types, 0.02)["features"]["housing"]["points"]
    assert points["__missing__"] < points["rent"] < points["own"]  # the riskiest answer scores least


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("x,y\n1,0\n2,\n3,1\n", "target column 'y' has 1 empty values"),
        ("x,y\n" + "".join(f"{i},{int(i < 5)}\n" for i in range(40)), "needs at least 10 goods and bads"),
    ],
)
def test_unusable_target_is_refused(tmp_path: Path, csv: str, message: str) -> None:
    (tmp_path / "d.csv").write_text(csv)
    code, output = train_cli("--data", str(tmp_path / "d.csv"), "--target", "y", "--out", str(tmp_path / "o"))
    assert code == 2 and message in output and len(output.strip().splitlines()) == 1
