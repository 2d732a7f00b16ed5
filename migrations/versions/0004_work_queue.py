"""Staff roles, revocable sessions, and one work queue for every item a person decides

- users.role: "officer" becomes "compliance_officer" (the other staff roles are new users);
- revoked_tokens: session tokens revoked at sign-out, for every server process;
- work_items + work_item_events: the queue and each item's history; approval_items move into it with
  their ids, and approval_decisions now refer to work_items.

Revision ID: 0004_work_queue
Revises: 0003_action_recheck
Create Date: 2026-11-30
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0004_work_queue"
down_revision: str | None = "0003_action_recheck"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a held action was given before queues had SLAs and expiry: the defaults of finagent's Settings.
LEGACY_SLA = timedelta(hours=4)
LEGACY_EXPIRY = timedelta(hours=72)


def _decisions_table(name: str, target: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], [f"{target}.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "approver"),
    )


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("role", type_=sa.String(length=32), existing_type=sa.String(length=16))
    op.execute("UPDATE users SET role = 'compliance_officer' WHERE role = 'officer'")

    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])

    work_items = op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "subject_id"),
    )
    op.create_index("ix_work_items_queue", "work_items", ["status", "role", "priority", "sla_due_at"])
    op.create_index("ix_work_items_thread_id", "work_items", ["thread_id"])
    op.create_index("ix_work_items_customer_id", "work_items", ["customer_id"])
    op.create_table(
        "work_item_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["work_items.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_item_events_item_id", "work_item_events", ["item_id"])

    # Held actions move into the queue with their ids, so links and audit entries still point right.
    conn = op.get_bind()
    items = sa.table(
        "approval_items",
        *(
            sa.column(c)
            for c in ("id", "action_id", "thread_id", "customer_id", "status", "approvals_needed")
        ),
        sa.column("claimed_by"),
        sa.column("claimed_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("decided_at", sa.DateTime(timezone=True)),
    )
    actions = sa.table("actions", sa.column("id"), sa.column("summary"), sa.column("type"))
    rows = conn.execute(
        sa.select(items, actions.c.summary, actions.c.type).join(actions, actions.c.id == items.c.action_id)
    ).mappings()
    moved = []
    for r in rows:
        created = r["created_at"]
        moved.append(
            {
                "id": r["id"],
                "kind": "approval",
                "status": r["status"],
                "priority": 2,
                "role": "compliance_officer",
                "title": r["summary"][:300],
                "subject_type": "action",
                "subject_id": r["action_id"],
                "thread_id": r["thread_id"],
                "customer_id": r["customer_id"],
                "payload": {"action_type": r["type"], "summary": r["summary"]},
                "approvals_needed": r["approvals_needed"],
                "claimed_by": r["claimed_by"],
                "claimed_at": r["claimed_at"],
                "claim_expires_at": None,
                "sla_due_at": created + LEGACY_SLA,
                "expires_at": created + LEGACY_EXPIRY,
                "escalated_at": None,
                "created_at": created,
                "updated_at": created,
                "decided_at": r["decided_at"],
            }
        )
    if moved:
        op.bulk_insert(work_items, moved)
    if conn.dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('work_items', 'id'), COALESCE(MAX(id), 0) + 1, false) "
            "FROM work_items"
        )

    # approval_decisions now refer to work_items: copied into a new table (the one way that works the same
    # on SQLite, whose foreign keys cannot be altered), then renamed.
    _decisions_table("approval_decisions_new", "work_items")
    op.execute(
        "INSERT INTO approval_decisions_new (id, item_id, approver, decision, reason_code, note, at) "
        "SELECT id, item_id, approver, decision, reason_code, note, at FROM approval_decisions"
    )
    op.drop_index("ix_approval_decisions_item_id", table_name="approval_decisions")
    op.drop_table("approval_decisions")
    op.drop_table("approval_items")
    op.rename_table("approval_decisions_new", "approval_decisions")
    op.create_index("ix_approval_decisions_item_id", "approval_decisions", ["item_id"])
    if conn.dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('approval_decisions', 'id'), "
            "COALESCE(MAX(id), 0) + 1, false) FROM approval_decisions"
        )


def downgrade() -> None:
    raise NotImplementedError("0004_work_queue moves approvals into the work queue; restore a backup instead")
