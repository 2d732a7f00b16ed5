from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from policy_fixtures import PACKS
from typer.testing import CliRunner

from app.policy_cli import register
from policies.loader import PolicyLoadError, load_policy_set
from tools.policy_engine import get_engine


def copy_packs(tmp_path: Path) -> Path:
    target = tmp_path / "packs"
    shutil.copytree(PACKS, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_errors_name_file_rule_and_field(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    edit(packs / "approvals.yaml", "    min_amount: 10000\n", "    min_amount: ten thousand\n")
    with pytest.raises(PolicyLoadError) as err:
        load_policy_set(packs)
    problem = err.value.problems[0]
    assert (problem.file, problem.rule_id, problem.field) == ("approvals.yaml", "APR-TRF-01", "min_amount")


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    edit(packs / "transaction_monitoring.yaml", "    max_count: 8\n", "    max_count: 8\n    max_cnt: 3\n")
    with pytest.raises(PolicyLoadError, match="TM-VEL-01 field 'max_cnt'"):
        load_policy_set(packs)


def test_a_blocking_rule_without_customer_text_is_refused(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    text = (packs / "kyc.yaml").read_text()
    start = text.index("    customer_text:")
    end = text.index("\n", text.index("      zh:", start)) + 1
    (packs / "kyc.yaml").write_text(text[:start] + text[end:])
    with pytest.raises(PolicyLoadError, match=r"KYC-GATE-01 field .*customer_text"):
        load_policy_set(packs)


def test_duplicate_rule_ids_are_refused(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    edit(packs / "kyc.yaml", "id: KYC-GATE-01", "id: APR-TRF-01")
    with pytest.raises(PolicyLoadError, match="duplicate rule id"):
        load_policy_set(packs)


def test_hot_reload_changes_version_and_decision(tmp_path: Path) -> None:
    from policy_fixtures import transfer

    packs = copy_packs(tmp_path)
    before = get_engine(packs)
    assert before.check_action(transfer(9_000)).decision.value == "ALLOW"
    edit(packs / "approvals.yaml", "    min_amount: 10000\n", "    min_amount: 8000\n")
    after = get_engine(packs)
    verdict = after.check_action(transfer(9_000))
    assert after.version != before.version
    assert verdict.decision.value == "REQUIRE_APPROVAL" and verdict.policy_version == after.version


def test_broken_reload_keeps_last_good_version(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    good = get_engine(packs)
    edit(packs / "kyc.yaml", "decision: BLOCK", "decision: MAYBE")
    assert get_engine(packs) is good


runner = CliRunner()


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_lint_ok_and_failing(tmp_path: Path) -> None:
    ok = runner.invoke(cli(), ["policy", "lint", "--dir", str(PACKS)])
    assert ok.exit_code == 0 and "rules" in ok.output
    packs = copy_packs(tmp_path)
    edit(packs / "kyc.yaml", "decision: BLOCK", "decision: MAYBE")
    bad = runner.invoke(cli(), ["policy", "lint", "--dir", str(packs)])
    assert bad.exit_code == 1 and "kyc.yaml: rule KYC-GATE-01 field 'decision'" in bad.output


def test_simulate_reports_rule_and_queue_change(tmp_path: Path) -> None:
    packs = copy_packs(tmp_path)
    edit(packs / "approvals.yaml", "    min_amount: 10000\n", "    min_amount: 5000\n")
    start = datetime(2025, 5, 1, 9, tzinfo=UTC)
    path = tmp_path / "tx.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "at", "amount", "direction", "counterparty"])
        for i, amount in enumerate([120, 6_000, 7_500, 12_000, 300]):
            w.writerow([f"c{i}", (start + timedelta(days=i)).isoformat(), amount, "out", "Landlord GmbH"])
            w.writerow([f"c{i}", (start - timedelta(days=30)).isoformat(), 50, "out", "Landlord GmbH"])
    result = runner.invoke(
        cli(),
        [
            "policy",
            "simulate",
            "--proposed",
            str(packs),
            "--transactions",
            str(path),
            "--current",
            str(PACKS),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rule = next(r for r in report["rules"] if r["rule_id"] == "APR-TRF-01")
    assert (rule["current_hits"], rule["proposed_hits"], rule["change"]) == (1, 3, 2)
    assert report["approval_queue_change"] == 2
