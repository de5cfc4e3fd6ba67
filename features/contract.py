"""The ledger contract, checked with pandera; rows that break it are quarantined with reasons.

Validation is lazy: every rule is checked on every row and all failures are reported at once.
Nothing is dropped silently: for each table, ``rows_in == rows_valid + rows_quarantined``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from features.coerce import Coerced, finite
from features.schema import KNOWN_CURRENCIES

RULES: dict[str, str] = {
    "customers.customer_id.present": "customer_id is empty",
    "customers.customer_id.unique": "customer_id repeats an earlier row",
    "customers.credit_limit.valid": "credit_limit is not a number",
    "customers.credit_limit.non_negative": "credit_limit is negative",
    "customers.customer_since.valid": "customer_since is not a date",
    "customers.customer_since.not_after_extraction": "customer_since is after the extraction date",
    "invoices.invoice_id.present": "invoice_id is empty",
    "invoices.invoice_id.unique": "invoice_id repeats an earlier row",
    "invoices.customer_id.present": "customer_id is empty",
    "invoices.customer_id.known": "customer_id is not in the customers table",
    "invoices.issue_date.valid": "issue_date is missing or not a date",
    "invoices.issue_date.not_after_extraction": "issue_date is after the extraction date",
    "invoices.due_date.valid": "due_date is missing or not a date",
    "invoices.due_date.not_before_issue": "due_date is before issue_date",
    "invoices.paid_date.valid": "paid_date is not a date",
    "invoices.paid_date.not_before_issue": "paid_date is before issue_date",
    "invoices.paid_date.not_after_extraction": "paid_date is after the extraction date",
    "invoices.amount.valid": "amount is missing or not a finite number",
    "invoices.amount.positive": "amount is not greater than 0",
    "invoices.currency.known": "currency is not a known ISO 4217 code",
    "invoices.disputed.valid": "disputed is not a yes/no value",
    "payments.payment_id.present": "payment_id is empty",
    "payments.payment_id.unique": "payment_id repeats an earlier row",
    "payments.invoice_id.known": "invoice_id is not a valid invoice of this ledger",
    "payments.payment_date.valid": "payment_date is missing or not a date",
    "payments.payment_date.not_after_extraction": "payment_date is after the extraction date",
    "payments.amount.valid": "amount is missing or not a finite number",
    "payments.amount.positive": "amount is not greater than 0",
}

OkMask = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Context:
    """What a table's rules need from outside the table itself."""

    extracted_at: pd.Timestamp
    known_customers: pd.Series | None = None
    known_invoices: pd.Series | None = None


def _present(column: str) -> OkMask:
    return lambda df: df[column].notna()


def _unique(column: str) -> OkMask:
    return lambda df: df[column].isna() | ~df[column].duplicated(keep="first")


def _parsed(column: str, coerced: Coerced, required: bool) -> OkMask:
    bad = coerced.unparseable.get(column)

    def ok(df: pd.DataFrame) -> pd.Series:
        good = df[column].notna() if required else pd.Series(True, index=df.index)
        return good if bad is None else good & ~bad

    return ok


def _not_after(column: str, limit: pd.Timestamp) -> OkMask:
    return lambda df: ~(df[column] > limit)


def _not_before(column: str, other: str) -> OkMask:
    return lambda df: ~(df[column] < df[other])


def _finite(column: str) -> OkMask:
    return lambda df: finite(df[column])


def _greater(column: str, bound: float, inclusive: bool = False) -> OkMask:
    def ok(df: pd.DataFrame) -> pd.Series:
        values = df[column]
        return values.isna() | ((values >= bound) if inclusive else (values > bound))

    return ok


def _member(column: str, allowed: pd.Series | frozenset[str]) -> OkMask:
    values = allowed if isinstance(allowed, pd.Series) else pd.Series(sorted(allowed))
    return lambda df: df[column].isna() | df[column].isin(values)


def table_rules(table: str, coerced: Coerced, ctx: Context) -> dict[str, tuple[str, OkMask]]:
    """Rule id -> (column it concerns, function giving True where a row passes)."""
    cols = set(coerced.frame.columns)
    rules: dict[str, tuple[str, OkMask]] = {}

    def add(rule: str, column: str, ok: OkMask) -> None:
        if column in cols:
            rules[f"{table}.{rule}"] = (column, ok)

    if table == "customers":
        add("customer_id.present", "customer_id", _present("customer_id"))
        add("customer_id.unique", "customer_id", _unique("customer_id"))
        add("credit_limit.valid", "credit_limit", _parsed("credit_limit", coerced, False))
        add("credit_limit.non_negative", "credit_limit", _greater("credit_limit", 0, True))
        add("customer_since.valid", "customer_since", _parsed("customer_since", coerced, False))
        add(
            "customer_since.not_after_extraction",
            "customer_since",
            _not_after("customer_since", ctx.extracted_at),
        )
    elif table == "invoices":
        add("invoice_id.present", "invoice_id", _present("invoice_id"))
        add("invoice_id.unique", "invoice_id", _unique("invoice_id"))
        add("customer_id.present", "customer_id", _present("customer_id"))
        if ctx.known_customers is not None:
            add("customer_id.known", "customer_id", _member("customer_id", ctx.known_customers))
        add("issue_date.valid", "issue_date", _parsed("issue_date", coerced, True))
        add(
            "issue_date.not_after_extraction",
            "issue_date",
            _not_after("issue_date", ctx.extracted_at),
        )
        add("due_date.valid", "due_date", _parsed("due_date", coerced, True))
        add("due_date.not_before_issue", "due_date", _not_before("due_date", "issue_date"))
        add("paid_date.valid", "paid_date", _parsed("paid_date", coerced, False))
        add("paid_date.not_before_issue", "paid_date", _not_before("paid_date", "issue_date"))
        add(
            "paid_date.not_after_extraction", "paid_date", _not_after("paid_date", ctx.extracted_at)
        )
        add("amount.valid", "amount", _finite("amount"))
        add("amount.positive", "amount", _greater("amount", 0))
        add("currency.known", "currency", _member("currency", KNOWN_CURRENCIES))
        add("disputed.valid", "disputed", _parsed("disputed", coerced, False))
    elif table == "payments":
        add("payment_id.present", "payment_id", _present("payment_id"))
        add("payment_id.unique", "payment_id", _unique("payment_id"))
        known = ctx.known_invoices if ctx.known_invoices is not None else pd.Series([], dtype=str)
        add(
            "invoice_id.known",
            "invoice_id",
            lambda df: df["invoice_id"].notna() & df["invoice_id"].isin(known),
        )
        add("payment_date.valid", "payment_date", _parsed("payment_date", coerced, True))
        add(
            "payment_date.not_after_extraction",
            "payment_date",
            _not_after("payment_date", ctx.extracted_at),
        )
        add("amount.valid", "amount", _finite("amount"))
        add("amount.positive", "amount", _greater("amount", 0))
    return rules


def build_schema(table: str, coerced: Coerced, ctx: Context) -> pa.DataFrameSchema:
    """The pandera schema of one table; each check is named by its rule id."""
    frame = coerced.frame
    by_column: dict[str, list[pa.Check]] = {}
    for rule, (column, ok) in table_rules(table, coerced, ctx).items():
        check = pa.Check(lambda _s, ok=ok: ok(frame), name=rule, ignore_na=False)
        by_column.setdefault(column, []).append(check)
    columns = {
        column: pa.Column(checks=by_column.get(column, []), nullable=True, required=False)
        for column in frame.columns
    }
    return pa.DataFrameSchema(columns, name=table, strict=False, coerce=False)


def rule_failures(table: str, coerced: Coerced, ctx: Context) -> pd.DataFrame:
    """Run the contract lazily; one row per (row index, broken rule)."""
    schema = build_schema(table, coerced, ctx)
    try:
        schema.validate(coerced.frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        cases = cases[cases["index"].notna()]
        return (
            cases[["index", "check"]]
            .rename(columns={"check": "rule"})
            .astype({"index": "int64", "rule": "string"})
            .drop_duplicates()
            .sort_values(["index", "rule"])
            .reset_index(drop=True)
        )
    return pd.DataFrame(
        {"index": pd.Series([], dtype="int64"), "rule": pd.Series([], dtype="string")}
    )
