"""Tables of the score store (SQLAlchemy Core); Alembic migrations create them.

The tables of a scored batch are derived from the frame models of
:mod:`models.decisions.frames`: a column's type follows its dtype, a text column with a
``str_length`` bound becomes ``VARCHAR(n)``, and nullability is the model's. A test checks that
the migrations build exactly these tables.
"""

from __future__ import annotations

from typing import Any

import pandera.pandas as pa
import sqlalchemy as sa

from models.decisions.frames import (
    AccountScores,
    ForecastWeeks,
    Frame,
    PayDates,
    Reasons,
    ScoredInvoices,
    WorklistRows,
)

metadata = sa.MetaData()
BATCH_KEY = ("as_of", "model_version")


def _batch_key() -> list[sa.Column[Any]]:
    return [
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("model_version", sa.String(32), primary_key=True),
    ]


def _sql_type(column: pa.Column) -> sa.types.TypeEngine[Any]:
    kind = str(column.dtype)
    if kind.startswith("str"):
        lengths = [c.statistics.get("max_value") for c in column.checks if c.name == "str_length"]
        return sa.String(lengths[0]) if lengths and lengths[0] else sa.Text()
    if kind == "float64":
        return sa.Float()
    if kind == "int64":
        return sa.Integer()
    if kind == "bool":
        return sa.Boolean()
    if kind.startswith("datetime64"):
        return sa.Date()
    return sa.Text()  # free values (a reason's value) are stored as text


def columns_from(
    model: type[Frame], *, primary_key: tuple[str, ...], skip: tuple[str, ...] = BATCH_KEY
) -> list[sa.Column[Any]]:
    """Columns of a frame model (less the batch key), in declaration order."""
    out = []
    for name, column in model.to_schema().columns.items():
        if column.regex or name in skip:
            continue
        key = name in primary_key
        out.append(
            sa.Column(
                name, _sql_type(column), primary_key=key, nullable=not key and column.nullable
            )
        )
    return out


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
    *columns_from(ScoredInvoices, primary_key=("invoice_id",)),
    sa.Column("reasons", sa.Text),
    sa.Index("ix_invoice_scores_customer_id", "customer_id"),
    sa.Index("ix_invoice_scores_invoice", "invoice_id"),
)

account_scores = sa.Table(
    "account_scores",
    metadata,
    *_batch_key(),
    *columns_from(AccountScores, primary_key=("customer_id",)),
    sa.Column("reasons", sa.Text),
    sa.Column("effects", sa.Text),
    sa.Index("ix_account_scores_customer", "customer_id"),
)

reasons = sa.Table(
    "reasons",
    metadata,
    *_batch_key(),
    *columns_from(Reasons, primary_key=("level", "key", "rank")),
)

pay_dates = sa.Table(
    "pay_dates",
    metadata,
    *_batch_key(),
    *columns_from(PayDates, primary_key=("invoice_id",)),
    sa.Column("reasons", sa.Text),
    sa.Index("ix_pay_dates_customer_id", "customer_id"),
)

forecast_weeks = sa.Table(
    "forecast_weeks",
    metadata,
    *_batch_key(),
    *columns_from(ForecastWeeks, primary_key=("week_start",)),
)

worklist = sa.Table(
    "worklist",
    metadata,
    *_batch_key(),
    *columns_from(WorklistRows, primary_key=("rank",)),
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
    sa.Column("promised_date", sa.Date),
    sa.Column("promised_amount", sa.Float),
    sa.Column("note", sa.Text),
    sa.Column("idempotency_key", sa.String(128)),
    sa.Index("ux_contacts_idempotency_key", "idempotency_key", unique=True),
)
"""One row per outreach contact. ``outcome`` is one of :data:`models.decisions.promises.OUTCOMES`
(or empty); a ``promise_to_pay`` carries its date and amount; ``note`` is free text. The
idempotency key makes a contact posted or imported twice one row (rows from before revision
0004 got a key derived from their content)."""

customer_flags = sa.Table(
    "customer_flags",
    metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("do_not_contact", sa.Boolean, nullable=False, default=False),
    sa.Column("queue", sa.String(64)),
)

erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("erasure_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("erased_by", sa.String(64), nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("tables", sa.Text, nullable=False),
)
"""The audit trail of erasures: who, when, how many rows of which table; never whose."""

monitoring_runs = sa.Table(
    "monitoring_runs",
    metadata,
    *_batch_key(),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("report", sa.Text, nullable=False),
)
"""One monitor run per day and model version: its JSON report, less the account list."""

monitoring_accounts = sa.Table(
    "monitoring_accounts",
    metadata,
    *_batch_key(),
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("measure", sa.String(16), primary_key=True),
    sa.Column("before", sa.Float, nullable=False),
    sa.Column("recent", sa.Float, nullable=False),
    sa.Column("change", sa.Float, nullable=False),
    sa.Column("severity", sa.Float, nullable=False),
    sa.Column("recent_invoices", sa.Integer, nullable=False),
    sa.Column("before_invoices", sa.Integer, nullable=False),
    sa.Index("ix_monitoring_accounts_customer", "customer_id"),
)
"""The deteriorating-account list of each monitor run (erased with the customer)."""

session_epochs = sa.Table(
    "session_epochs",
    metadata,
    sa.Column("key_name", sa.String(64), primary_key=True),
    sa.Column("epoch", sa.Integer, nullable=False),
)
"""Per API key, the epoch its pages' sessions were opened in: a logout moves it on, which ends
every session of that key on every worker."""

BATCH_TABLES = (invoice_scores, account_scores, reasons, pay_dates, forecast_weeks)
WITHOUT_CUSTOMER_DATA = (batches, erasures, forecast_weeks, monitoring_runs, session_epochs)
"""Tables that hold no customer's data (the forecast holds weekly totals only); every other
table is erased by its ``customer_id`` column, and ``reasons`` by the ``key`` of the customer's
account and invoices."""
