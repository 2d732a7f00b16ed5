"""Upgrading a database that already has held actions: they move into the work queue with their ids and
decisions, officers become compliance officers, and new items get fresh ids (SQLite and Postgres)."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from finagent.db import make_engine
from finagent.settings import PROJECT_ROOT, Settings

ROWS = [
    "INSERT INTO customers (id, name, country, kyc_status, account_opened) "
    "VALUES ('cust-9', 'Dora Vogel', 'DE', 'verified', '2020-01-01')",
    "INSERT INTO users (username, password_hash, role, subject, display_name) "
    "VALUES ('olga', 'scrypt$00$00', 'officer', 'officer-olga', 'Olga')",
    "INSERT INTO threads (id, customer_id, title, status, created_at, updated_at) "
    "VALUES ('t-9', 'cust-9', 'pay', 'pending_approval', '2026-11-01 10:00:00', '2026-11-01 10:00:00')",
    "INSERT INTO actions (id, thread_id, run_id, customer_id, type, args, summary, rationale, verdict, "
    "status, created_at) VALUES ('a-9', 't-9', 'r-9', 'cust-9', 'transfer', '{}', "
    "'Transfer EUR 30,000 to Acme', '', '{}', 'pending_approval', '2026-11-01 10:00:00')",
    "INSERT INTO approval_items (id, action_id, thread_id, customer_id, status, approvals_needed, "
    "claimed_by, created_at) VALUES (7, 'a-9', 't-9', 'cust-9', 'pending', 2, NULL, '2026-11-01 10:00:00')",
    "INSERT INTO approval_decisions (id, item_id, approver, decision, reason_code, note, at) "
    "VALUES (3, 7, 'officer-olga', 'approve', 'VERIFIED_WITH_CUSTOMER', 'called', '2026-11-01 11:00:00')",
]


def _config(settings: Settings) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = settings.database
    return cfg


async def _run(settings: Settings, statements: list[str]) -> list[list[tuple[object, ...]]]:
    engine = make_engine(settings.database)
    out = []
    try:
        async with engine.begin() as conn:
            for sql in statements:
                result = await conn.execute(text(sql))
                out.append([tuple(r) for r in result.all()] if result.returns_rows else [])
    finally:
        await engine.dispose()
    return out


def test_held_actions_move_into_the_work_queue(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(_config(settings), "0003_action_recheck")
    asyncio.run(_run(settings, ROWS))
    command.upgrade(_config(settings), "head")
    item, decision, role, fresh = asyncio.run(
        _run(
            settings,
            [
                "SELECT id, kind, status, role, subject_type, subject_id, approvals_needed, title "
                "FROM work_items",
                "SELECT id, item_id, approver, reason_code FROM approval_decisions",
                "SELECT role FROM users WHERE username = 'olga'",
                "INSERT INTO work_items (kind, status, priority, role, title, subject_type, subject_id, "
                "payload, approvals_needed, sla_due_at, created_at, updated_at) VALUES ('complaint', "
                "'pending', 3, 'service_agent', 'x', 'thread', 't-9', '{}', 1, '2026-11-02 10:00:00', "
                "'2026-11-01 10:00:00', '2026-11-01 10:00:00') RETURNING id",
            ],
        )
    )
    assert item == [
        (7, "approval", "pending", "compliance_officer", "action", "a-9", 2, "Transfer EUR 30,000 to Acme")
    ]
    assert decision == [(3, 7, "officer-olga", "VERIFIED_WITH_CUSTOMER")]
    assert role == [("compliance_officer",)]
    assert fresh[0][0] > 7  # the id sequence continues after the moved items
