"""Monitor runs: each day's report, and its deteriorating-account list.

Revision ID: 0005

The tables as they were at this revision, frozen here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _batch_key() -> list[sa.Column]:
    return [
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "monitoring_runs",
        *_batch_key(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("report", sa.Text, nullable=False),
    )
    op.create_table(
        "monitoring_accounts",
        *_batch_key(),
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("before", sa.Float, nullable=False),
        sa.Column("recent", sa.Float, nullable=False),
        sa.Column("change", sa.Float, nullable=False),
        sa.Column("severity", sa.Float, nullable=False),
        sa.Column("recent_invoices", sa.Integer, nullable=False),
        sa.Column("before_invoices", sa.Integer, nullable=False),
    )
    op.create_index("ix_monitoring_accounts_customer", "monitoring_accounts", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_accounts_customer", "monitoring_accounts")
    op.drop_table("monitoring_accounts")
    op.drop_table("monitoring_runs")
