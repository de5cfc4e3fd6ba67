"""Contact outcomes: promise date and amount, a free-text note, an idempotency key.

Revision ID: 0004

Rows stored before this revision keep their instant, channel and invoice; an ``outcome`` that
is not one of the outcomes (free text, as the API used to take it) moves to ``note``; each row
gets the key its content derives (as :func:`serving.store.store.derived_key` computes it, frozen
here), so importing the same contact again is recognised. Independent of revision 0003.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OUTCOMES = ("reached", "no_answer", "promise_to_pay", "dispute_raised", "paid", "refused")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(customer_id: str, contacted_at: datetime, channel: str, invoice_id: str | None) -> str:
    text = "\x1f".join([customer_id, _utc(contacted_at).isoformat(), channel, invoice_id or ""])
    return "auto-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def upgrade() -> None:
    op.add_column("contacts", sa.Column("promised_date", sa.Date))
    op.add_column("contacts", sa.Column("promised_amount", sa.Float))
    op.add_column("contacts", sa.Column("note", sa.Text))
    op.add_column("contacts", sa.Column("idempotency_key", sa.String(128)))
    contacts = sa.table(
        "contacts",
        sa.column("contact_id", sa.Integer),
        sa.column("customer_id", sa.String),
        sa.column("contacted_at", sa.DateTime(timezone=True)),
        sa.column("channel", sa.String),
        sa.column("invoice_id", sa.String),
        sa.column("outcome", sa.Text),
        sa.column("note", sa.Text),
        sa.column("idempotency_key", sa.String),
    )
    bind = op.get_bind()
    bind.execute(
        contacts.update()
        .where(contacts.c.outcome.is_not(None), contacts.c.outcome.not_in(OUTCOMES))
        .values(note=contacts.c.outcome, outcome=None)
    )
    rows = bind.execute(
        sa.select(
            contacts.c.contact_id,
            contacts.c.customer_id,
            contacts.c.contacted_at,
            contacts.c.channel,
            contacts.c.invoice_id,
        ).order_by(contacts.c.contact_id)
    ).all()
    seen: set[str] = set()
    for contact_id, customer_id, contacted_at, channel, invoice_id in rows:
        key = _key(customer_id, contacted_at, channel, invoice_id)
        if key in seen:  # the same contact stored twice before keys existed: keep both rows
            key = f"legacy-{contact_id}"
        seen.add(key)
        bind.execute(
            contacts.update().where(contacts.c.contact_id == contact_id).values(idempotency_key=key)
        )
    op.create_index("ux_contacts_idempotency_key", "contacts", ["idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_contacts_idempotency_key", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        for name in ("idempotency_key", "note", "promised_amount", "promised_date"):
            batch.drop_column(name)
