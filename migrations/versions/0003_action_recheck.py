"""actions.recheck_verdict: the verdict of the re-check run just before an action's side effect

Revision ID: 0003_action_recheck
Revises: 0002_login_counters
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_action_recheck"
down_revision: str | None = "0002_login_counters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recheck_verdict", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_column("recheck_verdict")
