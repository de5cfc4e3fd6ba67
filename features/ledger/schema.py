"""The canonical ledger: its tables as pandera models, every contract rule a named check.

Every ledger, whatever its source, is converted to these tables before anything else reads it;
``data/README.md`` describes them for users. A check's ``name`` is the rule id the quarantine
report shows (``invoices.amount.positive``) and its ``description`` is the message. Rules that
need something from outside the table -- the extraction date, the ids of the other tables, which
present values could not be parsed -- read it from the :class:`Context` that the caller
sets for the validation with ``with checking(context):``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

Kind = Literal["string", "date", "number", "bool"]

DATE_DTYPE = "datetime64[us]"
"""Dates are day-resolution timestamps (midnight) stored at microsecond precision, pandas 3's default."""

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


@dataclass(frozen=True)
class Context:
    """What a table's rules need from outside the table itself."""

    extracted_at: pd.Timestamp
    unparseable: Mapping[str, pd.Series] = field(default_factory=dict)
    """Per column, the rows whose present value could not be converted (see ``coerce``)."""
    known_customers: pd.Series | None = None
    known_invoices: pd.Series | None = None


_CONTEXT: ContextVar[Context | None] = ContextVar("ledger_context", default=None)


@contextmanager
def checking(context: Context) -> Iterator[None]:
    """The context the rules read while a table is validated inside this block."""
    token = _CONTEXT.set(context)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def rule(column: str, rule_id: str, message: str) -> Callable[..., Any]:
    """A contract rule on one column: a pandera check named by its rule id."""
    return lambda fn: pa.check(column, description=message, ignore_na=False)(_named(fn, rule_id))


def row_rule(rule_id: str, message: str) -> Callable[..., Any]:
    """A contract rule comparing columns of the same row."""
    return lambda fn: pa.dataframe_check(description=message, ignore_na=False)(_named(fn, rule_id))


def _named(fn: Callable[..., Any], rule_id: str) -> Callable[..., Any]:
    # pandera names a check after its function (a ``name=`` argument is consumed by the first
    # schema built from the model and lost in any later one)
    fn.__name__ = rule_id
    return fn


def _present(s: pd.Series) -> pd.Series:
    return s.notna()


def _unique(s: pd.Series) -> pd.Series:
    """A repeated id is bad from its second row on."""
    return s.isna() | ~s.duplicated(keep="first")


def _member(s: pd.Series, allowed: pd.Series | frozenset[str] | None) -> pd.Series:
    """In ``allowed`` (or missing); every value passes when there is nothing to check against."""
    if allowed is None:
        return pd.Series(True, index=s.index)
    values = allowed if isinstance(allowed, pd.Series) else pd.Series(sorted(allowed))
    return s.isna() | s.isin(values)


def _greater(s: pd.Series, bound: float, inclusive: bool = False) -> pd.Series:
    return s.isna() | ((s >= bound) if inclusive else (s > bound))


def _not_before(df: pd.DataFrame, later: str, earlier: str) -> pd.Series:
    if later not in df or earlier not in df:
        return pd.Series(True, index=df.index)
    return ~(df[later] < df[earlier])


class LedgerTable(pa.DataFrameModel):
    """Columns a ledger table may have (a missing optional column is simply absent)."""

    class Config:
        strict = False  # extra columns marked as features ride along
        coerce = False  # ``coerce`` types the values and flags what does not convert

    @classmethod
    def context(cls) -> Context:
        context = _CONTEXT.get()
        if context is None:
            raise TypeError(f"validate {cls.__name__} inside `with checking(context):`")
        return context

    @classmethod
    def parsed(cls, s: pd.Series, required: bool) -> pd.Series:
        """Present where required, and never a present value that failed to convert."""
        ok = s.notna() if required else pd.Series(True, index=s.index)
        bad = cls.context().unparseable.get(str(s.name))
        return ok if bad is None else ok & ~bad

    @classmethod
    def not_after_extraction(cls, s: pd.Series) -> pd.Series:
        return ~(s > cls.context().extracted_at)


class Customers(LedgerTable):
    customer_id: Series[pd.StringDtype] = pa.Field(nullable=True, description="account id")
    country: Series[pd.StringDtype] | None = pa.Field(
        nullable=True, description="country or region code"
    )
    segment: Series[pd.StringDtype] | None = pa.Field(
        nullable=True, description="business segment, e.g. enterprise / smb"
    )
    credit_limit: Series[float] | None = pa.Field(nullable=True, description="credit limit, >= 0")
    customer_since: Series[pa.DateTime] | None = pa.Field(
        nullable=True, description="start of the relationship"
    )

    @rule("customer_id", "customers.customer_id.present", "customer_id is empty")
    def _id_present(cls, s: pd.Series) -> pd.Series:
        return _present(s)

    @rule("customer_id", "customers.customer_id.unique", "customer_id repeats an earlier row")
    def _id_unique(cls, s: pd.Series) -> pd.Series:
        return _unique(s)

    @rule("credit_limit", "customers.credit_limit.valid", "credit_limit is not a number")
    def _credit_limit_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=False)

    @rule("credit_limit", "customers.credit_limit.non_negative", "credit_limit is negative")
    def _credit_limit_non_negative(cls, s: pd.Series) -> pd.Series:
        return _greater(s, 0, inclusive=True)

    @rule("customer_since", "customers.customer_since.valid", "customer_since is not a date")
    def _since_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=False)

    @rule(
        "customer_since",
        "customers.customer_since.not_after_extraction",
        "customer_since is after the extraction date",
    )
    def _since_not_after_extraction(cls, s: pd.Series) -> pd.Series:
        return cls.not_after_extraction(s)


class Invoices(LedgerTable):
    invoice_id: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="unique invoice number"
    )
    customer_id: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="the billed customer (account)"
    )
    issue_date: Series[pa.DateTime] = pa.Field(
        nullable=True, description="date the invoice was issued"
    )
    due_date: Series[pa.DateTime] = pa.Field(nullable=True, description="date payment is due")
    amount: Series[float] = pa.Field(nullable=True, description="invoice amount, > 0")
    currency: Series[pd.StringDtype] | None = pa.Field(nullable=True, description="ISO 4217 code")
    paid_date: Series[pa.DateTime] | None = pa.Field(
        nullable=True, description="date the invoice was settled in full; empty while open"
    )
    disputed: Series[pd.BooleanDtype] | None = pa.Field(
        nullable=True, description="the customer disputed the invoice"
    )
    channel: Series[pd.StringDtype] | None = pa.Field(
        nullable=True, description="how the invoice was sent, e.g. paper or electronic"
    )

    @rule("invoice_id", "invoices.invoice_id.present", "invoice_id is empty")
    def _id_present(cls, s: pd.Series) -> pd.Series:
        return _present(s)

    @rule("invoice_id", "invoices.invoice_id.unique", "invoice_id repeats an earlier row")
    def _id_unique(cls, s: pd.Series) -> pd.Series:
        return _unique(s)

    @rule("customer_id", "invoices.customer_id.present", "customer_id is empty")
    def _customer_present(cls, s: pd.Series) -> pd.Series:
        return _present(s)

    @rule("customer_id", "invoices.customer_id.known", "customer_id is not in the customers table")
    def _customer_known(cls, s: pd.Series) -> pd.Series:
        return _member(s, cls.context().known_customers)

    @rule("issue_date", "invoices.issue_date.valid", "issue_date is missing or not a date")
    def _issue_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=True)

    @rule(
        "issue_date",
        "invoices.issue_date.not_after_extraction",
        "issue_date is after the extraction date",
    )
    def _issue_not_after_extraction(cls, s: pd.Series) -> pd.Series:
        return cls.not_after_extraction(s)

    @rule("due_date", "invoices.due_date.valid", "due_date is missing or not a date")
    def _due_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=True)

    @row_rule("invoices.due_date.not_before_issue", "due_date is before issue_date")
    def _due_not_before_issue(cls, df: pd.DataFrame) -> pd.Series:
        return _not_before(df, "due_date", "issue_date")

    @rule("paid_date", "invoices.paid_date.valid", "paid_date is not a date")
    def _paid_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=False)

    @row_rule("invoices.paid_date.not_before_issue", "paid_date is before issue_date")
    def _paid_not_before_issue(cls, df: pd.DataFrame) -> pd.Series:
        return _not_before(df, "paid_date", "issue_date")

    @rule(
        "paid_date",
        "invoices.paid_date.not_after_extraction",
        "paid_date is after the extraction date",
    )
    def _paid_not_after_extraction(cls, s: pd.Series) -> pd.Series:
        return cls.not_after_extraction(s)

    @rule("amount", "invoices.amount.valid", "amount is missing or not a finite number")
    def _amount_valid(cls, s: pd.Series) -> pd.Series:
        return finite(s)

    @rule("amount", "invoices.amount.positive", "amount is not greater than 0")
    def _amount_positive(cls, s: pd.Series) -> pd.Series:
        return _greater(s, 0)

    @rule("currency", "invoices.currency.known", "currency is not a known ISO 4217 code")
    def _currency_known(cls, s: pd.Series) -> pd.Series:
        return _member(s, KNOWN_CURRENCIES)

    @rule("disputed", "invoices.disputed.valid", "disputed is not a yes/no value")
    def _disputed_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=False)


class Payments(LedgerTable):
    payment_id: Series[pd.StringDtype] = pa.Field(nullable=True, description="unique payment id")
    invoice_id: Series[pd.StringDtype] = pa.Field(
        nullable=True, description="the invoice this payment settles (in part)"
    )
    payment_date: Series[pa.DateTime] = pa.Field(
        nullable=True, description="date the payment was received"
    )
    amount: Series[float] = pa.Field(nullable=True, description="amount received, > 0")

    @rule("payment_id", "payments.payment_id.present", "payment_id is empty")
    def _id_present(cls, s: pd.Series) -> pd.Series:
        return _present(s)

    @rule("payment_id", "payments.payment_id.unique", "payment_id repeats an earlier row")
    def _id_unique(cls, s: pd.Series) -> pd.Series:
        return _unique(s)

    @rule(
        "invoice_id",
        "payments.invoice_id.known",
        "invoice_id is not a valid invoice of this ledger",
    )
    def _invoice_known(cls, s: pd.Series) -> pd.Series:
        known = cls.context().known_invoices
        return s.notna() & s.isin(known if known is not None else pd.Series([], dtype="string"))

    @rule("payment_date", "payments.payment_date.valid", "payment_date is missing or not a date")
    def _date_valid(cls, s: pd.Series) -> pd.Series:
        return cls.parsed(s, required=True)

    @rule(
        "payment_date",
        "payments.payment_date.not_after_extraction",
        "payment_date is after the extraction date",
    )
    def _date_not_after_extraction(cls, s: pd.Series) -> pd.Series:
        return cls.not_after_extraction(s)

    @rule("amount", "payments.amount.valid", "amount is missing or not a finite number")
    def _amount_valid(cls, s: pd.Series) -> pd.Series:
        return finite(s)

    @rule("amount", "payments.amount.positive", "amount is not greater than 0")
    def _amount_positive(cls, s: pd.Series) -> pd.Series:
        return _greater(s, 0)


def finite(values: pd.Series) -> pd.Series:
    """True where a float value is present and finite."""
    return pd.Series(
        np.isfinite(values.to_numpy(dtype="float64", na_value=np.nan)), index=values.index
    )


TABLES: dict[str, type[LedgerTable]] = {
    "customers": Customers,
    "invoices": Invoices,
    "payments": Payments,
}
"""Tables in validation order: invoices refer to customers, payments to invoices."""

REQUIRED_TABLES = ("invoices",)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table, as the mapping and the coercion see it."""

    name: str
    kind: Kind
    required: bool
    description: str


def _kind(dtype: object) -> Kind:
    text = str(dtype)
    if text.startswith("datetime64"):
        return "date"
    if text == "boolean":
        return "bool"
    if text.startswith("str"):
        return "string"
    return "number"


@cache
def specs(table: str) -> tuple[ColumnSpec, ...]:
    """The columns of ``table``, in declaration order, from its model."""
    schema = TABLES[table].to_schema()
    return tuple(
        ColumnSpec(name, _kind(column.dtype), column.required, column.description or "")
        for name, column in schema.columns.items()
    )


def columns_of(table: str, kind: Kind | None = None) -> list[str]:
    """Canonical column names of ``table``, optionally only those of one kind."""
    return [c.name for c in specs(table) if kind is None or c.kind == kind]


@cache
def rules() -> dict[str, str]:
    """Every contract rule id with its message, in table order."""
    found: dict[str, str] = {}
    for model in TABLES.values():
        schema = model.to_schema()
        checks = [c for column in schema.columns.values() for c in column.checks] + list(
            schema.checks
        )
        found.update({str(c.name): str(c.description) for c in checks})
    return found
