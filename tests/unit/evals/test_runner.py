"""The runner's thresholds, baseline comparison and command-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from evals.thresholds import Threshold, ThresholdError, compare, load_baseline, load_thresholds


def test_a_worse_metric_is_a_regression_in_its_own_direction() -> None:
    rows = compare(
        {"recall": 0.8, "leaks": 2.0, "same": 1.0},
        {"recall": 0.9, "leaks": 0.0, "same": 1.0},
        {"leaks"},
        {"recall": Threshold(max_regression=0.05)},
    )
    by = {r["metric"]: r for r in rows}
    assert by["recall"]["regression"] and by["recall"]["gating"]  # fell 0.1, allowed 0.05
    assert by["leaks"]["regression"] and not by["leaks"]["gating"]  # marked, no limit set
    assert not by["same"]["regression"]
    assert not compare({"recall": 0.88}, {"recall": 0.9}, set(), {"recall": Threshold(max_regression=0.05)})[
        0
    ]["gating"]


def test_thresholds_file_errors_name_the_suite_and_metric(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("redteam:\n  leaks: {maximum: 0}\n")
    with pytest.raises(ThresholdError, match=r"redteam\.leaks\.maximum"):
        load_thresholds(bad)
    assert load_thresholds()["approval-gating"]["unapproved_executions"].max == 0


def test_baseline_reads_both_layouts(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "results.json").write_text(json.dumps({"suite": "x", "metrics": {"a": 1.0}}))
    assert load_baseline(tmp_path / "one") == {"x": {"a": 1.0}}
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "results.json").write_text(json.dumps({"suites": {"y": {"metrics": {"b": 2.0}}}}))
    assert load_baseline(tmp_path / "two") == {"y": {"b": 2.0}}
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(ThresholdError, match="not a finagent eval"):
        load_baseline(tmp_path / "bad.json")


def test_the_command_refuses_unknown_suites_and_missing_baselines(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--suite", "nosuch", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "unknown suite(s): nosuch" in result.output
    result = runner.invoke(
        app, ["eval", "--suite", "policy", "--baseline", str(tmp_path / "none"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "no results.json" in result.output


def test_a_baseline_marks_regressions_in_results_and_report(tmp_path: Path) -> None:
    """The policy suite needs no model: run it against a baseline that was better on one metric."""
    from evals import runner
    from finagent.settings import Settings

    settings = Settings(data_dir=tmp_path / "d", environment="test")
    first = tmp_path / "first"
    assert runner.run(["policy"], first, settings, {}, progress=False)
    base = json.loads((first / "results.json").read_text())
    base["suites"]["policy"]["metrics"]["dev_recall"] = 1.5  # a baseline no run can match
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "results.json").write_text(json.dumps(base))

    second = tmp_path / "second"
    passed = runner.run(["policy"], second, settings, {}, progress=False,
                        run_options=runner.RunOptions(baseline=tmp_path / "base"))  # fmt: skip
    data = json.loads((second / "results.json").read_text())
    assert passed is True  # marked, but the policy suite has no max_regression on it
    assert data["regressions"] == ["dev_recall"]
    assert data["run"]["baseline"] == str(tmp_path / "base")
    html = (second / "report.html").read_text()
    assert "Against the baseline: 1 regression(s)" in html and 'class="reg"' in html
