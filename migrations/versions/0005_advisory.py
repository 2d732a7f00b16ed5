"""advisory: risk profiles, the demo holdings ledger, suitability reports

Revision ID: 0005_advisory
Revises: 0003_action_recheck
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_advisory"
down_revision: str | None = "0004_work_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("questionnaire_version", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("current_question", sa.String(64), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("risk_class", sa.String(2), nullable=True),
        sa.Column("score", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_risk_profiles_customer_id", "risk_profiles", ["customer_id"])
    op.create_index("ix_risk_profiles_status", "risk_profiles", ["status"])
    op.create_table(
        "holdings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("product_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("portfolio_id", sa.String(32), nullable=True),
        sa.Column("action_id", sa.String(64), sa.ForeignKey("actions.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("action_id", "product_id"),
    )
    op.create_index("ix_holdings_customer_id", "holdings", ["customer_id"])
    op.create_table(
        "suitability_reports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("thread_id", sa.String(64), sa.ForeignKey("threads.id"), nullable=False),
        sa.Column("action_id", sa.String(64), nullable=True),
        sa.Column("profile_id", sa.Integer(), sa.ForeignKey("risk_profiles.id"), nullable=False),
        sa.Column("questionnaire_version", sa.String(32), nullable=False),
        sa.Column("market_data_snapshot", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_suitability_reports_customer_id", "suitability_reports", ["customer_id"])
    op.create_index("ix_suitability_reports_thread_id", "suitability_reports", ["thread_id"])


def downgrade() -> None:
    op.drop_table("suitability_reports")
    op.drop_table("holdings")
    op.drop_table("risk_profiles")
