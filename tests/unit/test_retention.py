"""`finagent retention run` on SQLite and PostgreSQL: finished runs' checkpoints and idle conversations go,
paused runs and conversations with an open action stay (and can still be approved), the audit chain
verifies afterwards and records the run."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from app.retention import run_retention
from finagent.models import utcnow
from finagent.settings import Settings
from tests.unit.conftest import AppFactory, confirm, login, say

ROOT = Path(__file__).resolve().parents[2]
ANSWER = "You can block a lost card instantly in the chat assistant or the app."
TRANSFER_20K = {
    "amount": 20000,
    "currency": "EUR",
    "payee_name": "Acme Trading GmbH",
    "payee_iban": "DE75512108001245126199",
    "reference": None,
}


def _messages(client: TestClient, headers: dict[str, str], thread_id: str) -> list[str]:
    r = client.get(f"/api/threads/{thread_id}", headers=headers)
    assert r.status_code == 200
    return [m["status"] or m["role"] for m in r.json()["messages"]]


def test_retention_prunes_what_is_finished_and_keeps_what_waits(
    make_client: AppFactory, settings: Settings
) -> None:
    client = make_client(ANSWER, TRANSFER_20K)
    alice, ana = login(client, "alice"), login(client, "ana")
    _, answered = say(client, alice, "How do I block a lost card?")
    _, proposal = say(client, alice, "send 20,000 EUR to Acme Trading GmbH DE75512108001245126199")
    assert confirm(client, alice, proposal["thread_id"], proposal["action"]["action_id"])["status"] == (
        "pending_approval"
    )
    held = _messages(client, alice, proposal["thread_id"])

    # Nothing is old yet: a run now removes nothing.
    today = asyncio.run(run_retention(settings))
    assert (today.runs_pruned, today.threads_pruned, today.messages_deleted) == (0, 0, 0)
    assert today.runs_seen == 2 and today.runs_kept_paused == 1 and today.audit_ok

    later = utcnow() + timedelta(days=settings.retention_conversation_days + 1)
    dry = asyncio.run(run_retention(settings, now=later, dry_run=True))
    assert (dry.runs_pruned, dry.threads_pruned, dry.messages_deleted) == (1, 1, 2)
    assert _messages(client, alice, answered["thread_id"]) == ["user", "answered"]  # dry: nothing went

    report = asyncio.run(run_retention(settings, now=later))
    assert (report.runs_seen, report.runs_pruned, report.runs_kept_paused) == (2, 1, 1)
    assert (report.threads_pruned, report.messages_deleted) == (1, 2)
    assert report.audit_ok
    assert _messages(client, alice, answered["thread_id"]) == []
    assert _messages(client, alice, proposal["thread_id"]) == held  # an open action keeps its conversation

    # The paused run kept its checkpoints: the officer's approval still executes it.
    item_id = client.get("/api/approvals", headers=ana).json()[0]["id"]
    assert client.post(f"/api/approvals/{item_id}/claim", headers=ana).status_code == 200
    decided = client.post(
        f"/api/approvals/{item_id}/decision",
        json={"decision": "approve", "reason_code": "VERIFIED_WITH_CUSTOMER", "note": "called back"},
        headers=ana,
    )
    assert decided.status_code == 200, decided.text
    assert _messages(client, alice, proposal["thread_id"])[-1] == "executed"

    # Now finished too: the next run takes it, and the chain still verifies, with both runs recorded.
    again = asyncio.run(run_retention(settings, now=later))
    assert (again.runs_seen, again.runs_pruned, again.runs_kept_paused, again.threads_pruned) == (1, 1, 0, 1)
    verify = client.get("/api/audit/verify", headers=ana).json()
    assert verify["ok"]
    entries = client.get("/api/audit?limit=1000", headers=ana).json()
    runs = [e for e in entries if e["kind"] == "retention.run"]
    assert len(runs) == 3 and all(e["actor"] == "system:retention" for e in runs)
    # The audit trail keeps what the customer said: it is the bank's record, not pruned here.
    assert any(e["kind"] == "message.received" and e["subject"] == answered["thread_id"] for e in entries)


def test_retention_command_prints_its_report(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
        "RETENTION_CHECKPOINT_DAYS": "7",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "retention", "run", "--dry-run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["dry_run"] is True and report["audit_ok"] is True and report["runs_pruned"] == 0
    bad = subprocess.run(
        [sys.executable, "-m", "app.cli", "retention", "run"],
        env={**env, "RETENTION_CHECKPOINT_DAYS": "0"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert bad.returncode == 2 and "RETENTION_CHECKPOINT_DAYS" in bad.stderr
