"""The frames a scoring run hands on: scored invoices, account scores, reasons, worklist rows.

Each is a pandera model, so its columns are declared once: the score store's tables are derived
from them (:mod:`serving.store.tables`), the API's response models are checked against them in
a test, and the scoring core copies into a scored invoice exactly the catalogue features the
model marks (:data:`CONTEXT_FEATURES`).
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from models.decisions.bands import BANDS, OVERDUE

ID = {"max_value": 64}
"""Ids are at most 64 characters, as the API accepts them."""
SHORT = {"max_value": 16}
FEATURE = {"feature": True}
"""Marks a column copied from the feature row (a catalogue feature of the same name)."""


class Frame(pa.DataFrameModel):
    class Config:
        strict = False


class ScoredInvoices(Frame):
    """One row per scored open invoice."""

    invoice_id: Series[str] = pa.Field(str_length=ID)
    customer_id: Series[str] = pa.Field(str_length=ID)
    as_of: Series[pa.DateTime]
    model_version: Series[str] = pa.Field(str_length={"max_value": 32})
    p_late: Series[float] = pa.Field(ge=0, le=1, description="calibrated probability of late")
    risk_band: Series[str] = pa.Field(isin=[*BANDS, OVERDUE], str_length=SHORT)
    open_amount: Series[float] = pa.Field(description="still owed at the as-of date")
    amount_at_risk: Series[float] = pa.Field(description="p_late x open_amount")
    raw_score: Series[float] = pa.Field(nullable=True, description="log-odds; none when overdue")
    # catalogue features carried along for the worklist rules, the pages and the report
    amount: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    days_until_due: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    disputed: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    segment: Series[str] = pa.Field(nullable=True, str_length=ID, metadata=FEATURE)
    late_share_trend: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    late_share_365d: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    overdue_amount: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    # for the pre-due EV's fallback days late, when no pay-date model predicted
    mean_days_late_365d: Series[float] = pa.Field(nullable=True, metadata=FEATURE)
    top_reason: Series[str] = pa.Field(nullable=True)


AMOUNT_FIELDS = {
    "open_amount": "still owed on all its open invoices, overdue or not",
    "not_yet_due_amount": "still owed on its invoices not yet due",
    "overdue_amount": "still owed on its invoices past their due date",
    "amount_at_risk": "expected amount paid late: p_late x open amount over its invoices, "
    "an overdue invoice in full",
    "amount_at_risk_not_yet_due": "the part of amount_at_risk on invoices not yet due",
}
"""Every amount of an account, defined once (the frames, the API schema and the README use it)."""


class AccountScores(Frame):
    """One row per account with open invoices; ``effect.<group>`` per business reason group."""

    customer_id: Series[str] = pa.Field(str_length=ID)
    as_of: Series[pa.DateTime]
    model_version: Series[str] = pa.Field(str_length={"max_value": 32})
    risk: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    risk_band: Series[str] = pa.Field(isin=[*BANDS, OVERDUE], str_length=SHORT)
    open_amount: Series[float] = pa.Field(ge=0, description=AMOUNT_FIELDS["open_amount"])
    not_yet_due_amount: Series[float] = pa.Field(
        ge=0, description=AMOUNT_FIELDS["not_yet_due_amount"]
    )
    overdue_amount: Series[float] = pa.Field(ge=0, description=AMOUNT_FIELDS["overdue_amount"])
    amount_at_risk: Series[float] = pa.Field(ge=0, description=AMOUNT_FIELDS["amount_at_risk"])
    amount_at_risk_not_yet_due: Series[float] = pa.Field(
        ge=0, description=AMOUNT_FIELDS["amount_at_risk_not_yet_due"]
    )
    open_invoices: Series[int] = pa.Field(ge=0, description="its open invoices, overdue or not")
    top_reason: Series[str] = pa.Field(nullable=True)
    payer_segment: Series[str] = pa.Field(
        nullable=True,
        str_length=SHORT,
        description="payment behaviour (models.decisions.segments); none in older batches",
    )
    effect: Series[float] = pa.Field(alias=r"effect\..+", regex=True, nullable=True)


class PayDates(Frame):
    """Per scored invoice, when it will be paid (:mod:`models.paydates.predict`)."""

    invoice_id: Series[str] = pa.Field(str_length=ID)
    customer_id: Series[str] = pa.Field(str_length=ID)
    pay_model_version: Series[str] = pa.Field(str_length={"max_value": 32})
    pay_date_p10: Series[pa.DateTime] = pa.Field(nullable=True)
    pay_date_p50: Series[pa.DateTime] = pa.Field(nullable=True)
    pay_date_p90: Series[pa.DateTime] = pa.Field(nullable=True)
    expected_pay_date: Series[pa.DateTime] = pa.Field(nullable=True)
    p_paid_30d_after_due: Series[float] = pa.Field(ge=0, le=1)
    p_paid_60d_after_due: Series[float] = pa.Field(ge=0, le=1)
    p_paid_90d_after_due: Series[float] = pa.Field(ge=0, le=1)
    p_unpaid_180d_after_due: Series[float] = pa.Field(ge=0, le=1, description="write-off risk")


class ForecastWeeks(Frame):
    """The cash-in forecast of a batch's open invoices, one row per week
    (:mod:`models.paydates.forecast`)."""

    week_start: Series[pa.DateTime]
    expected: Series[float] = pa.Field(ge=0)
    p10: Series[float] = pa.Field(ge=0)
    p50: Series[float] = pa.Field(ge=0)
    p90: Series[float] = pa.Field(ge=0)


class Reasons(Frame):
    """Reasons in long form: the top reasons of each invoice and of each account."""

    level: Series[str] = pa.Field(isin=["invoice", "account"], str_length={"max_value": 8})
    key: Series[str] = pa.Field(str_length=ID, description="invoice_id or customer_id")
    rank: Series[int] = pa.Field(ge=1)
    group: Series[str] = pa.Field(str_length={"max_value": 32})
    reason: Series[str] = pa.Field(str_length=ID)
    feature: Series[str] = pa.Field(nullable=True, str_length=ID)
    value: Series[object] = pa.Field(nullable=True)
    contribution: Series[float] = pa.Field(nullable=True, description="log-odds")
    effect: Series[float] = pa.Field(nullable=True, description="probability points")
    direction: Series[str] = pa.Field(str_length=SHORT)
    text: Series[str]


class WorklistRows(Frame):
    """The ranked outreach list of one day."""

    rank: Series[int] = pa.Field(ge=1)
    customer_id: Series[str] = pa.Field(str_length=ID)
    invoice_id: Series[str] = pa.Field(nullable=True, str_length=ID)
    queue: Series[str] = pa.Field(str_length=ID, description="worklist queue")
    collector: Series[str] = pa.Field(nullable=True, str_length=ID, description="from the flags")
    segment: Series[str] = pa.Field(nullable=True, str_length=SHORT, description="payer segment")
    treatment: Series[str] = pa.Field(str_length={"max_value": 32})
    treatment_reason: Series[str]
    arm: Series[str] = pa.Field(
        isin=["treatment", "control", "none"],
        str_length=SHORT,
        description="experiment arm: control gets the default treatment instead",
    )
    expected_value: Series[float] = pa.Field(nullable=True, description="pre-due contact EV")
    value_reason: Series[str] = pa.Field(nullable=True, description="the EV's formula in words")
    amount_at_risk: Series[float] = pa.Field(description=AMOUNT_FIELDS["amount_at_risk"])
    risk: Series[float] = pa.Field(nullable=True)
    risk_band: Series[str] = pa.Field(nullable=True, str_length=SHORT)
    open_amount: Series[float] = pa.Field(nullable=True, description=AMOUNT_FIELDS["open_amount"])
    top_reason: Series[str] = pa.Field(nullable=True)
    contact: Series[bool]
    skip_reason: Series[str] = pa.Field(nullable=True)


def columns(model: type[Frame]) -> list[str]:
    """The declared columns of a frame model (a regex column is left out)."""
    return [name for name, c in model.to_schema().columns.items() if not c.regex]


CONTEXT_FEATURES: tuple[str, ...] = tuple(
    name
    for name, c in ScoredInvoices.to_schema().columns.items()
    if (c.metadata or {}).get("feature")
)
"""Catalogue features a scored invoice keeps beside its score."""
