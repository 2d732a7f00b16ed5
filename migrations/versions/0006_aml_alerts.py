"""aml_alerts: transaction-monitoring alerts, one per transaction id

Revision ID: 0006_aml_alerts
Revises: 0003_action_recheck
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_aml_alerts"
down_revision: str | None = "0005_advisory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aml_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tx_id", sa.String(128), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("counterparty", sa.String(64), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rules_hit", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tx_id", name="uq_aml_alerts_tx_id"),
    )
    op.create_index("ix_aml_alerts_account", "aml_alerts", ["account"])
    op.create_index("ix_aml_alerts_score", "aml_alerts", ["score"])
    op.create_index("ix_aml_alerts_status", "aml_alerts", ["status"])
    op.create_index("ix_aml_alerts_created_at", "aml_alerts", ["created_at"])


def downgrade() -> None:
    op.drop_table("aml_alerts")
