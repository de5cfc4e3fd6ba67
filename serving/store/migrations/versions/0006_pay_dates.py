"""Pay dates per scored invoice and the weekly cash-in forecast, both part of a batch.

Revision ID: 0006

The tables as they were at this revision, frozen here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _batch_key() -> list[sa.Column]:
    return [
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "pay_dates",
        *_batch_key(),
        sa.Column("invoice_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("pay_model_version", sa.String(32), nullable=False),
        sa.Column("pay_date_p10", sa.Date),
        sa.Column("pay_date_p50", sa.Date),
        sa.Column("pay_date_p90", sa.Date),
        sa.Column("expected_pay_date", sa.Date),
        sa.Column("p_paid_30d_after_due", sa.Float, nullable=False),
        sa.Column("p_paid_60d_after_due", sa.Float, nullable=False),
        sa.Column("p_paid_90d_after_due", sa.Float, nullable=False),
        sa.Column("p_unpaid_180d_after_due", sa.Float, nullable=False),
    )
    op.create_index("ix_pay_dates_customer_id", "pay_dates", ["customer_id"])
    op.create_table(
        "forecast_weeks",
        *_batch_key(),
        sa.Column("week_start", sa.Date, primary_key=True),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("p10", sa.Float, nullable=False),
        sa.Column("p50", sa.Float, nullable=False),
        sa.Column("p90", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("forecast_weeks")
    op.drop_index("ix_pay_dates_customer_id", "pay_dates")
    op.drop_table("pay_dates")
