"""The canonical ledger: table names, columns and their types.

Every ledger, whatever its source, is converted to these tables before anything else reads it.
See ``data/README.md`` for the user-facing description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "date", "number", "bool"]

DATE_DTYPE = "datetime64[us]"
"""Dates are day-resolution timestamps (midnight) stored at microsecond precision, pandas 3's default."""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Kind
    required: bool
    description: str


INVOICE_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("invoice_id", "string", True, "unique invoice number"),
    ColumnSpec("customer_id", "string", True, "the billed customer (account)"),
    ColumnSpec("issue_date", "date", True, "date the invoice was issued"),
    ColumnSpec("due_date", "date", True, "date payment is due"),
    ColumnSpec("amount", "number", True, "invoice amount, > 0"),
    ColumnSpec("currency", "string", False, "ISO 4217 code"),
    ColumnSpec(
        "paid_date", "date", False, "date the invoice was settled in full; empty while open"
    ),
    ColumnSpec("disputed", "bool", False, "the customer disputed the invoice"),
    ColumnSpec("channel", "string", False, "how the invoice was sent, e.g. paper or electronic"),
)

CUSTOMER_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("customer_id", "string", True, "account id"),
    ColumnSpec("country", "string", False, "country or region code"),
    ColumnSpec("segment", "string", False, "business segment, e.g. enterprise / smb"),
    ColumnSpec("credit_limit", "number", False, "credit limit, >= 0"),
    ColumnSpec("customer_since", "date", False, "start of the relationship"),
)

PAYMENT_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec("payment_id", "string", True, "unique payment id"),
    ColumnSpec("invoice_id", "string", True, "the invoice this payment settles (in part)"),
    ColumnSpec("payment_date", "date", True, "date the payment was received"),
    ColumnSpec("amount", "number", True, "amount received, > 0"),
)

TABLES: dict[str, tuple[ColumnSpec, ...]] = {
    "customers": CUSTOMER_COLUMNS,
    "invoices": INVOICE_COLUMNS,
    "payments": PAYMENT_COLUMNS,
}
"""Tables in validation order: invoices refer to customers, payments to invoices."""

REQUIRED_TABLES = ("invoices",)

KNOWN_CURRENCIES = frozenset(
    [
        "AED",
        "ARS",
        "AUD",
        "BGN",
        "BRL",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CZK",
        "DKK",
        "EGP",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "ISK",
        "JPY",
        "KES",
        "KRW",
        "MAD",
        "MXN",
        "MYR",
        "NGN",
        "NOK",
        "NZD",
        "PEN",
        "PHP",
        "PKR",
        "PLN",
        "QAR",
        "RON",
        "RSD",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "TWD",
        "UAH",
        "USD",
        "VND",
        "ZAR",
    ]
)


def columns_of(table: str, kind: Kind | None = None) -> list[str]:
    """Canonical column names of ``table``, optionally only those of one kind."""
    return [c.name for c in TABLES[table] if kind is None or c.kind == kind]


def required_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table] if c.required]
