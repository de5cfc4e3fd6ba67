"""Typed requests and responses of the API, with examples for the OpenAPI schema."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from features.ledger.schema import KNOWN_CURRENCIES
from models.decisions.frames import AMOUNT_FIELDS

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
ID_PATTERN = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
"""An id: no control character anywhere (PostgreSQL refuses NUL), no space at either end."""
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
"""A short label: no control character."""
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Free text: tabs and line breaks, no other control character."""
DATE_RANGE = f"from {EARLIEST} to {LATEST}"
CLOCK_SKEW = timedelta(minutes=5)
"""A contact this far ahead of the server's clock is still taken as now, not as the future."""


def _iso_day(value: Any) -> Any:
    """Only a ``YYYY-MM-DD`` string is a day: a number would otherwise be read as 1970 + seconds."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"a date is a string YYYY-MM-DD {DATE_RANGE}")
    return value


def _iso_moment(value: Any) -> Any:
    """Only an ISO 8601 string is a moment: not an epoch number."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].+", value):
        raise ValueError(f"a time is an ISO 8601 string such as 2025-06-30T14:05:00Z, {DATE_RANGE}")
    return value


def _json_number(value: Any) -> Any:
    """A number must be a JSON number: neither a string such as "12" nor true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number, not a string or a boolean")
    return value


def _json_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _json_int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a JSON integer")
    return value


Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
"""An id in a request path: refused with 422 like a body's."""
Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    Field(ge=EARLIEST, le=LATEST, description=f"YYYY-MM-DD, {DATE_RANGE}"),
]
Moment = Annotated[datetime, BeforeValidator(_iso_moment)]
Money = Annotated[float, BeforeValidator(_json_number), Field(gt=0, lt=1e15, allow_inf_nan=False)]
Number = Annotated[float, BeforeValidator(_json_number), Field(allow_inf_nan=False)]
Flag = Annotated[bool, BeforeValidator(_json_bool)]

INVOICE_EXAMPLE: dict[str, Any] = {
    "invoice_id": "INV-2024-0001",
    "customer_id": "C00042",
    "issue_date": "2024-03-01",
    "due_date": "2024-03-31",
    "amount": 12500.0,
    "currency": "EUR",
    "disputed": False,
    "channel": "electronic",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceIn(Strict):
    """An invoice to score, as in the ledger's invoices table."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [INVOICE_EXAMPLE]})

    invoice_id: Id
    customer_id: Id
    issue_date: Day
    due_date: Day
    amount: Money
    currency: str | None = Field(None, description="ISO 4217 code", examples=["EUR"])
    disputed: Flag | None = None
    channel: str | None = Field(None, max_length=32)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in KNOWN_CURRENCIES:
            raise ValueError(f"unknown currency {value!r}: expected an ISO 4217 code such as EUR")
        return code

    @model_validator(mode="after")
    def _due_not_before_issue(self) -> InvoiceIn:
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        return self


class PastInvoice(Strict):
    """A settled or open invoice of the customer's history, carried in the request."""

    invoice_id: Id
    customer_id: Id
    issue_date: Day
    due_date: Day
    amount: Money
    paid_date: Day | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> PastInvoice:
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        if self.paid_date is not None and self.paid_date < self.issue_date:
            raise ValueError("paid_date is before issue_date")
        return self


class CustomerIn(Strict):
    customer_id: Id
    segment: str | None = Field(None, max_length=64)
    country: str | None = Field(None, max_length=64)
    credit_limit: (
        Annotated[float, BeforeValidator(_json_number), Field(ge=0, lt=1e15, allow_inf_nan=False)]
        | None
    ) = None
    customer_since: Day | None = None


class HistoryIn(Strict):
    """History to score against instead of the service's configured ledger."""

    invoices: list[PastInvoice] = Field(default_factory=list, max_length=100_000)
    customers: list[CustomerIn] = Field(default_factory=list, max_length=100_000)


class ScoreRequest(Strict):
    """One or many invoices; the batch limit is a service setting (default 10,000)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"invoices": [INVOICE_EXAMPLE], "as_of": "2024-03-10"}]},
    )

    invoices: list[InvoiceIn] = Field(min_length=1)
    as_of: Day | None = Field(
        None,
        description=f"score as of this day, YYYY-MM-DD {DATE_RANGE} [default: the extraction date "
        "of the service's ledger (else of the request's history), else today]",
    )
    top_reasons: Annotated[int, BeforeValidator(_json_int)] = Field(
        3, ge=0, le=10, description="reasons per invoice (0: none)"
    )
    history: HistoryIn | None = None


class Reason(BaseModel):
    reason: str = Field(examples=["late-payment history"])
    direction: str = Field(examples=["raises risk"])
    text: str = Field(examples=["paid 40% of invoices late in the last 90 days"])
    effect: float | None = Field(None, description="probability points")


class PayDateReason(Reason):
    """A :class:`Reason` for a pay date: its effect is in days."""

    direction: str = Field(examples=["pushes the date later"])
    effect: float | None = Field(
        None, description="days it moves the expected pay date (positive: later)"
    )


class ScoredInvoice(BaseModel):
    invoice_id: str
    customer_id: str
    as_of: date
    p_late: float = Field(description="calibrated probability of paying late")
    risk_band: str = Field(examples=["high"])
    open_amount: float
    amount_at_risk: float
    reasons: list[Reason]


AsOfSource = Literal["request", "ledger extraction date", "today"]


class ScoreResponse(BaseModel):
    model_version: str
    as_of: date = Field(description="the day the invoices were scored as of")
    as_of_source: AsOfSource = Field(
        description="where that day came from: the request, the ledger's extraction date, or "
        "today (no ledger)"
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="e.g. the ledger is stale: its extraction date is long before today",
    )
    results: list[ScoredInvoice]


class PayDate(BaseModel):
    """When an invoice will be paid, from the pay-date model of its batch."""

    pay_model_version: str
    pay_date_p10: date | None = Field(None, description="10 % of invoices like it are paid by")
    pay_date_p50: date | None = Field(None, description="the median pay date")
    pay_date_p90: date | None = Field(None, description="90 % are paid by; none past 271 days")
    expected_pay_date: date | None = None
    p_paid_30d_after_due: float
    p_paid_60d_after_due: float
    p_paid_90d_after_due: float
    p_unpaid_180d_after_due: float = Field(description="write-off risk")
    reasons: list[PayDateReason] = Field(
        default_factory=list,
        description="why the expected pay date falls where it does, largest first, in days",
    )


class StoredInvoice(BaseModel):
    invoice_id: str
    customer_id: str
    as_of: date
    model_version: str
    p_late: float
    risk_band: str
    open_amount: float = Field(description="still owed on the invoice at the as-of date")
    amount_at_risk: float = Field(description="p_late x open amount (overdue: in full)")
    top_reason: str | None = None
    reasons: list[Reason]
    pay_dates: PayDate | None = Field(None, description="none when no pay-date model scored it")


class AccountPayDates(BaseModel):
    """When an account's open invoices will be paid, from their pay dates."""

    pay_model_version: str
    next_pay_date_p50: date | None = Field(None, description="the earliest median pay date")
    expected_pay_date: date | None = Field(
        None, description="mean expected pay date, weighted by open amount"
    )
    last_pay_date_p90: date | None = Field(None, description="the latest P90 of its invoices")
    expected_paid_30d_after_due: float = Field(
        description="open amount expected within 30 days of each invoice's due date"
    )
    expected_unpaid_180d_after_due: float = Field(
        description="open amount at risk of write-off: still unpaid 180 days after due"
    )


class StoredAccount(BaseModel):
    customer_id: str
    as_of: date
    model_version: str
    risk: float | None = Field(None, description="None when every open invoice is overdue")
    risk_band: str
    open_amount: float = Field(description=AMOUNT_FIELDS["open_amount"])
    not_yet_due_amount: float = Field(description=AMOUNT_FIELDS["not_yet_due_amount"])
    overdue_amount: float = Field(description=AMOUNT_FIELDS["overdue_amount"])
    amount_at_risk: float = Field(description=AMOUNT_FIELDS["amount_at_risk"])
    amount_at_risk_not_yet_due: float = Field(
        description=AMOUNT_FIELDS["amount_at_risk_not_yet_due"]
    )
    open_invoices: int = Field(description="its open invoices, overdue or not")
    top_reason: str | None = None
    payer_segment: str | None = Field(
        None, examples=["occasional"], description="payment behaviour; none in older batches"
    )
    reasons: list[Reason]
    pay_dates: AccountPayDates | None = Field(
        None, description="none when no pay-date model scored the batch"
    )


class WorklistItem(BaseModel):
    rank: int
    customer_id: str
    invoice_id: str | None = None
    queue: str = Field(
        examples=["pre_due"], description="pre_due, promise_follow_up, dispute, overdue"
    )
    collector: str | None = Field(None, description="the account's collector (from the flags)")
    segment: str | None = Field(
        None,
        examples=["occasional"],
        description="payer segment: new, deteriorating, "
        "recovering, chronic, occasional or reliable",
    )
    treatment: str
    treatment_reason: str
    arm: str = Field(
        examples=["treatment"],
        description="experiment arm: control gets the default treatment instead; none when not "
        "in the experiment",
    )
    expected_value: float | None = Field(None, description="EV of the pre-due contact")
    value_reason: str | None = Field(
        None, examples=["EV 41.20 = 62% late × 15% uplift × (...) − 8.00 call"]
    )
    amount_at_risk: float = Field(description=AMOUNT_FIELDS["amount_at_risk"])
    risk: float | None = None
    risk_band: str | None = None
    open_amount: float | None = Field(None, description=AMOUNT_FIELDS["open_amount"])
    top_reason: str | None = None
    contact: bool
    skip_reason: str | None = None


class Worklist(BaseModel):
    as_of: date | None
    model_version: str | None
    items: list[WorklistItem]


Outcome = Literal["reached", "no_answer", "promise_to_pay", "dispute_raised", "paid", "refused"]
"""The outcomes of :data:`models.decisions.promises.OUTCOMES` (a test keeps them equal)."""
KEY_PATTERN = r"^[^\s\x00-\x1f\x7f]+$"


class ContactIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C00042",
                    "channel": "phone",
                    "contacted_at": "2025-06-30T14:05:00+02:00",
                    "outcome": "promise_to_pay",
                    "promised_date": "2025-07-04",
                    "promised_amount": 5715.0,
                    "idempotency_key": "crm-call-88123",
                }
            ]
        },
    )

    customer_id: Id
    channel: str = Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)
    contacted_at: Moment | None = Field(
        None, description=f"ISO 8601, {DATE_RANGE} and not in the future [default: now]"
    )
    invoice_id: Id | None = None
    outcome: Outcome | None = Field(None, description="how the contact ended")
    promised_date: Day | None = Field(
        None, description="promise_to_pay only (required there): the day payment was promised"
    )
    promised_amount: Money | None = Field(
        None, description="promise_to_pay only (required there): the amount promised"
    )
    note: str | None = Field(None, max_length=500, pattern=NOTE_PATTERN)
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=KEY_PATTERN,
        description="the same key posted again returns the stored contact (409 if its content "
        "differs) [default: derived from customer, time, channel and invoice]",
    )

    @field_validator("contacted_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if not (EARLIEST <= value.date() <= LATEST):
            raise ValueError("contacted_at is out of range")
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        if aware > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("contacted_at is in the future")
        return value

    @model_validator(mode="after")
    def _promise_complete(self) -> ContactIn:
        promise = self.outcome == "promise_to_pay"
        given = self.promised_date is not None or self.promised_amount is not None
        if promise and (self.promised_date is None or self.promised_amount is None):
            raise ValueError("promise_to_pay needs promised_date and promised_amount")
        if given and not promise:
            raise ValueError("promised_date and promised_amount go only with promise_to_pay")
        if promise and self.promised_date is not None:
            made = self.contacted_at or datetime.now(UTC)  # no time given: the contact is now
            made = made.astimezone(UTC) if made.tzinfo is not None else made
            if self.promised_date < made.date():
                raise ValueError("promised_date is before the contact")
        return self


class ContactOut(BaseModel):
    contact_id: int
    replayed: bool = Field(
        False, description="true when this idempotency key was already stored: nothing new"
    )


class FeatureOut(BaseModel):
    name: str
    description: str
    unit: str
    group: str


class ModelOut(BaseModel):
    name: str
    version: str
    alias: str
    aliases: list[str]
    trained_at: datetime | None
    loaded_at: datetime
    training_window: dict[str, str]
    test_metrics: dict[str, float]
    features: list[FeatureOut]
    registry: str = Field(description="'ok', or why the registry could not be read")


class KpiRow(BaseModel):
    """The AR KPIs at one month end (``models.decisions.kpis``), point in time."""

    as_of: date
    group: str = Field(description="'all', or a value of the customer column asked for")
    dso: float | None = Field(description="AR / sales of the last dso_days x dso_days")
    best_possible_dso: float | None = Field(description="the same with the not-yet-due AR only")
    add: float | None = Field(description="average days delinquent: DSO - best possible DSO")
    countback_dso: float | None
    cei: float | None = Field(description="collection effectiveness over the month, in %")
    aging_current: float
    aging_1_30: float
    aging_31_60: float
    aging_61_90: float
    aging_over_90: float
    total: float = Field(description="AR: everything still owed")
    share_current: float | None


class ForecastWeek(BaseModel):
    week_start: date
    expected: float = Field(description="expected collections in the week")
    p10: float = Field(description="simulated: 10 % of outcomes collect less")
    p50: float
    p90: float
    collected: float | None = Field(
        None, description="what these invoices brought in that week, once it has begun"
    )
    forecast_dso: float | None = Field(
        None,
        description="90-day DSO at the week's end: this forecast's collections, with new invoices "
        "at the recent sales pace settling as recent ones did",
    )


class CashForecast(BaseModel):
    """The 13-week cash-in forecast of a stored batch's open invoices, with the actuals."""

    as_of: date
    model_version: str
    open_amount: float
    weeks: list[ForecastWeek]


class Kpis(BaseModel):
    dso_days: int
    rows: list[KpiRow]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    model_version: str | None
    store: str
    registry: str


class Problem(BaseModel):
    """Every error response: a message, never a stack trace."""

    detail: Any


class ErasureOut(BaseModel):
    rows: dict[str, int] = Field(description="rows deleted, by store table")
    outside_the_store: list[str] = Field(description="what the erasure cannot reach")


class ReloadOut(BaseModel):
    model_version: str | None
    swapped: bool
    registry: str


class MonitoringOut(BaseModel):
    """The latest monitor run: its alerts, its whole report, and the figures of earlier runs."""

    as_of: date
    model_version: str
    created_at: datetime
    alerts: list[dict[str, Any]] = Field(description='e.g. {"kind": "feature_drift", ...}')
    report: dict[str, Any] = Field(
        description="drift, performance, paydates, quality, accounts, thresholds, alerts"
    )
    history: list[dict[str, Any]] = Field(
        description="per earlier run, oldest first: as_of, model_version and headline figures"
    )
