"""Worklist queues, payer segments, pre-due expected value and the experiment arm.

Revision ID: 0003

The worklist gains ``collector``, ``segment``, ``arm``, ``expected_value`` and
``value_reason``; account scores gain ``payer_segment``; scored invoices carry
``mean_days_late_365d`` (the EV's fallback days late). Rows stored before this revision get
arm ``none`` and no segment or EV.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WORKLIST_COLUMNS = (
    ("collector", sa.String(64)),
    ("segment", sa.String(16)),
    ("expected_value", sa.Float()),
    ("value_reason", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("worklist") as batch:
        for name, kind in WORKLIST_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
        batch.add_column(
            sa.Column("arm", sa.String(16), nullable=False, server_default=sa.text("'none'"))
        )
    with op.batch_alter_table("account_scores") as batch:
        batch.add_column(sa.Column("payer_segment", sa.String(16), nullable=True))
    with op.batch_alter_table("invoice_scores") as batch:
        batch.add_column(sa.Column("mean_days_late_365d", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoice_scores") as batch:
        batch.drop_column("mean_days_late_365d")
    with op.batch_alter_table("account_scores") as batch:
        batch.drop_column("payer_segment")
    with op.batch_alter_table("worklist") as batch:
        for name in ("arm", *(n for n, _ in WORKLIST_COLUMNS)):
            batch.drop_column(name)
