"""login counters: sign-in attempts per user name and per client address, for lock-outs

Revision ID: 0002_login_counters
Revises: 0001
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_login_counters"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_counters_window_start"), ["window_start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_counters_window_start"))
    op.drop_table("login_counters")
