"""Typed requests and responses of the API, with examples for the OpenAPI schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.ledger.schema import KNOWN_CURRENCIES

EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)
ID_PATTERN = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
"""An id: no control character anywhere (PostgreSQL refuses NUL), no space at either end."""
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
"""A short label: no control character."""
NOTE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Free text: tabs and line breaks, no other control character."""
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
"""An id in a request path: refused with 422 like a body's."""
Day = Annotated[date, Field(ge=EARLIEST, le=LATEST)]
Money = Annotated[float, Field(gt=0, lt=1e15, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]

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
    disputed: bool | None = None
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
    credit_limit: Annotated[float, Field(ge=0, lt=1e15, allow_inf_nan=False)] | None = None
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
    as_of: Day | None = Field(None, description="score as of this day [default: today]")
    top_reasons: int = Field(3, ge=0, le=10, description="reasons per invoice (0: none)")
    history: HistoryIn | None = None


class Reason(BaseModel):
    reason: str = Field(examples=["late-payment history"])
    direction: str = Field(examples=["raises risk"])
    text: str = Field(examples=["paid 40% of invoices late in the last 90 days"])
    effect: float | None = Field(None, description="probability points")


class ScoredInvoice(BaseModel):
    invoice_id: str
    customer_id: str
    as_of: date
    p_late: float = Field(description="calibrated probability of paying late")
    risk_band: str = Field(examples=["high"])
    open_amount: float
    amount_at_risk: float
    reasons: list[Reason]


class ScoreResponse(BaseModel):
    model_version: str
    results: list[ScoredInvoice]


class StoredInvoice(BaseModel):
    invoice_id: str
    customer_id: str
    as_of: date
    model_version: str
    p_late: float
    risk_band: str
    open_amount: float
    amount_at_risk: float
    top_reason: str | None = None
    reasons: list[Reason]


class StoredAccount(BaseModel):
    customer_id: str
    as_of: date
    model_version: str
    risk: float | None = Field(None, description="None when every open invoice is overdue")
    risk_band: str
    open_amount: float
    overdue_open_amount: float
    amount_at_risk: float
    amount_at_risk_total: float
    open_invoices: int
    top_reason: str | None = None
    reasons: list[Reason]


class WorklistItem(BaseModel):
    rank: int
    customer_id: str
    invoice_id: str | None = None
    queue: str
    treatment: str
    treatment_reason: str
    amount_at_risk: float
    risk: float | None = None
    risk_band: str | None = None
    open_amount: float | None = None
    top_reason: str | None = None
    contact: bool
    skip_reason: str | None = None


class Worklist(BaseModel):
    as_of: date | None
    model_version: str | None
    items: list[WorklistItem]


class ContactIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"customer_id": "C00042", "channel": "phone", "outcome": "promised"}]
        },
    )

    customer_id: Id
    channel: str = Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)
    contacted_at: datetime | None = Field(None, description="default: now")
    invoice_id: Id | None = None
    outcome: str | None = Field(None, max_length=500, pattern=NOTE_PATTERN)

    @field_validator("contacted_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not (EARLIEST <= value.date() <= LATEST):
            raise ValueError("contacted_at is out of range")
        return value


class ContactOut(BaseModel):
    contact_id: int


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


class ReloadOut(BaseModel):
    model_version: str | None
    swapped: bool
    registry: str
