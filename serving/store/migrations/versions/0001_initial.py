"""Initial score store: batches, invoice and account scores, reasons, worklist, contacts, flags.

Revision ID: 0001

The schema as it was at this revision, frozen here: later revisions change it step by step,
whatever ``serving.store.tables`` declares today.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()
BATCH_KEY = ("as_of", "model_version")


def _batch_key() -> list[sa.Column]:
    return [
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
    ]


batches = sa.Table(
    "batches",
    metadata,
    *_batch_key(),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("invoices", sa.Integer, nullable=False),
    sa.Column("accounts", sa.Integer, nullable=False),
    sa.Column("p_base", sa.Float, nullable=False),
)

invoice_scores = sa.Table(
    "invoice_scores",
    metadata,
    *_batch_key(),
    sa.Column("invoice_id", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("p_late", sa.Float, nullable=False),
    sa.Column("risk_band", sa.String(16), nullable=False),
    sa.Column("open_amount", sa.Float, nullable=False),
    sa.Column("amount_at_risk", sa.Float, nullable=False),
    sa.Column("raw_score", sa.Float),
    sa.Column("amount", sa.Float),
    sa.Column("days_until_due", sa.Float),
    sa.Column("disputed", sa.Float),
    sa.Column("segment", sa.String(64)),
    sa.Column("late_share_trend", sa.Float),
    sa.Column("late_share_365d", sa.Float),
    sa.Column("overdue_amount", sa.Float),
    sa.Column("top_reason", sa.Text),
    sa.Column("reasons", sa.Text),
    sa.Index("ix_invoice_scores_invoice", "invoice_id"),
)

account_scores = sa.Table(
    "account_scores",
    metadata,
    *_batch_key(),
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("risk", sa.Float),
    sa.Column("risk_band", sa.String(16), nullable=False),
    sa.Column("open_amount", sa.Float, nullable=False),
    sa.Column("overdue_open_amount", sa.Float, nullable=False),
    sa.Column("amount_at_risk", sa.Float, nullable=False),
    sa.Column("amount_at_risk_total", sa.Float, nullable=False),
    sa.Column("open_invoices", sa.Integer, nullable=False),
    sa.Column("top_reason", sa.Text),
    sa.Column("reasons", sa.Text),
    sa.Column("effects", sa.Text),
    sa.Index("ix_account_scores_customer", "customer_id"),
)

reasons = sa.Table(
    "reasons",
    metadata,
    *_batch_key(),
    sa.Column("level", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("group", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("feature", sa.String(64)),
    sa.Column("value", sa.Text),
    sa.Column("contribution", sa.Float),
    sa.Column("effect", sa.Float),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

worklist = sa.Table(
    "worklist",
    metadata,
    *_batch_key(),
    sa.Column("rank", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("invoice_id", sa.String(64)),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("treatment", sa.String(32), nullable=False),
    sa.Column("treatment_reason", sa.Text, nullable=False),
    sa.Column("amount_at_risk", sa.Float, nullable=False),
    sa.Column("risk", sa.Float),
    sa.Column("risk_band", sa.String(16)),
    sa.Column("open_amount", sa.Float),
    sa.Column("top_reason", sa.Text),
    sa.Column("contact", sa.Boolean, nullable=False),
    sa.Column("skip_reason", sa.Text),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("contact_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer_id", sa.String(64), nullable=False, index=True),
    sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("invoice_id", sa.String(64)),
    sa.Column("outcome", sa.Text),
    sa.Column("recorded_by", sa.String(64)),
)

customer_flags = sa.Table(
    "customer_flags",
    metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("do_not_contact", sa.Boolean, nullable=False, default=False),
    sa.Column("queue", sa.String(64)),
)


def upgrade() -> None:
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    metadata.drop_all(bind=op.get_bind())
