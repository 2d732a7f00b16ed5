"""`finagent eval --suite policy` through the runner: outputs, the dev-only gate, no held-out texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import runner
from evals.suites.policy import DEV, HELDOUT, load
from finagent.settings import Settings


def _run(tmp_path: Path, **options: Path) -> tuple[bool, dict[str, object], str]:
    settings = Settings(data_dir=tmp_path / "app-data")
    out = tmp_path / "out"
    passed = runner.run(["policy"], out, settings, dict(options), progress=False)
    return passed, json.loads((out / "results.json").read_text()), (out / "report.md").read_text()


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_shipped_replies_pass_the_dev_gates_and_report_the_held_out_file_as_figures(tmp_path: Path) -> None:
    passed, data, report = _run(tmp_path)

    assert passed is data["passed"] is True
    assert {g["metric"] for g in data["gates"]} == {"dev_recall", "dev_precision"}  # type: ignore[union-attr]
    metrics = data["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["dev_replies"] == len(load(DEV)) and metrics["heldout_replies"] == len(load(HELDOUT))
    for cat in ("hype", "evasion", "internal_controls", "pii", "prohibited_claim", "missing_disclosure"):
        assert f"heldout_{cat}_recall" in metrics
    assert "heldout_false_alarm_rate_reported_speech" in metrics
    assert f"{int(metrics['heldout_missed_violations'])} missed violations" in report
    # Only dev rows are listed; no held-out text, id or matched excerpt is written anywhere.
    assert {i["id"] for i in data["items"]} == {r["id"] for r in load(DEV)}  # type: ignore[union-attr]
    written = json.dumps(data, ensure_ascii=False) + report
    dev_texts = " ".join(r["text"] for r in load(DEV))
    for row in load(HELDOUT):
        assert row["text"] not in written
        if row["text"][:30] not in dev_texts:  # a few replies open like a dev reply
            assert row["text"][:30] not in written
        assert f'"{row["id"]}"' not in written and f"`{row['id']}`" not in written


def test_the_gate_reads_the_dev_file_only(tmp_path: Path) -> None:
    blocked = {"id": "x1", "lang": "en", "text": "You cannot lose money with this fund.", "violation": True,
               "categories": ["prohibited_claim"]}  # fmt: skip
    missed = {"id": "x2", "lang": "en", "text": "Lovely weather for a walk.", "violation": True,
              "categories": ["hype"]}  # fmt: skip
    # A held-out file the check gets entirely wrong does not fail the run ...
    dev, heldout = _write(tmp_path / "dev.jsonl", [blocked]), _write(tmp_path / "h.jsonl", [missed])
    passed, data, _ = _run(tmp_path, replies=dev, heldout_replies=heldout)
    assert passed is True and data["metrics"]["heldout_recall"] == 0.0  # type: ignore[index]
    # ... a dev miss does, and is listed by id and text.
    passed, data, report = _run(tmp_path, replies=_write(tmp_path / "dev.jsonl", [blocked, missed]))
    assert passed is False
    assert data["failed_gates"] == [{"metric": "dev_recall", "minimum": 0.98}]
    assert "`x2`" in report and "Lovely weather" in report


@pytest.mark.parametrize("path", [DEV, HELDOUT])
def test_dataset_rows_are_well_formed(path: Path) -> None:
    rows = load(path)
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["lang"] in {"en", "zh"} and row["violation"] == bool(row["categories"])
        assert set(row["categories"]) <= {
            "prohibited_claim", "hype", "evasion", "internal_controls", "missing_disclosure", "pii"
        }  # fmt: skip
