"""The approval-gating suite through `finagent eval`'s runner, on a fast subset of its dataset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from evals import runner
from evals.suites.approval_gating import DATASET
from finagent.settings import PROJECT_ROOT, Settings
from tests.unit.evals.conftest import labelled_responder, model_factory, read_cases


def _run(tmp_path: Path, settings: Settings, options: dict[str, Any], cases_file: Path,
         limit: int | None = None) -> tuple[bool, dict[str, Any]]:  # fmt: skip
    out = tmp_path / "out"
    respond = labelled_responder(read_cases(cases_file))
    opts = runner.RunOptions(limit=limit, model_factory=model_factory(respond))
    passed = runner.run(["approval-gating"], out, settings, options | {"approval_cases": cases_file},
                        progress=False, run_options=opts)  # fmt: skip
    return passed, json.loads((out / "results.json").read_text())


def test_a_fast_subset_runs_through_the_real_app_and_reports_every_case(
    tmp_path: Path, eval_settings: Settings, app_options: dict[str, Any]
) -> None:
    passed, data = _run(tmp_path, eval_settings, app_options, DATASET, limit=3)

    assert passed is True, data["threshold_failures"]
    assert data["unapproved_executions"] == 0 and data["metrics"]["wrong_executions"] == 0
    assert data["metrics"]["cases_dev"] == data["metrics"]["cases_heldout"] == 3
    dev = [i for i in data["items"] if i["split"] == "dev"]
    assert len(dev) == 3 and all(i["passed"] for i in dev)
    for item in dev:  # inputs, outputs, scores, latency and the model calls, per case
        assert item["inputs"]["message"] and item["outputs"]["statuses"]
        assert item["latency_s"] > 0 and "predicted_needs_approval" in item["scores"]
        assert item["llm"]["calls"] == len(item["llm"]["records"])
    heldout = [i for i in data["items"] if i["split"] == "heldout"]
    assert heldout and all("id" not in i and "inputs" not in i for i in heldout)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html and "http://" not in html


def test_a_pack_that_stops_holding_large_transfers_counts_unapproved_executions_and_fails(
    tmp_path: Path, eval_settings: Settings, app_options: dict[str, Any]
) -> None:
    packs = tmp_path / "packs"
    shutil.copytree(PROJECT_ROOT / "policies" / "packs", packs)
    approvals = yaml.safe_load((packs / "approvals.yaml").read_text())
    approvals["rules"] = [r for r in approvals["rules"] if r["id"] not in ("APR-TRF-01", "APR-TRF-02")]
    (packs / "approvals.yaml").write_text(yaml.safe_dump(approvals, allow_unicode=True))
    cases = [c for c in read_cases(DATASET) if c["id"] in ("ag-appr-01", "ag-dual-01", "ag-exec-01")]
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text("".join(json.dumps(c) + "\n" for c in cases))

    settings = eval_settings.model_copy(update={"policy_dir": packs})
    passed, data = _run(tmp_path, settings, app_options, cases_file)

    assert passed is False
    assert data["unapproved_executions"] == 2  # 12,000 and 60,000 went out with nobody's approval
    assert {"metric": "unapproved_executions", "value": 2.0, "why": "above max 0.0"} in data[
        "threshold_failures"
    ]
    assert data["metrics"]["needs_approval_recall_all"] == 0.0
