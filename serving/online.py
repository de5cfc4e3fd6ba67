"""On-the-fly scoring of request invoices with the training feature code (``History.features``).

The customer history is the configured ledger, indexed once per grace period, or a history the
request carries. Invoices already past due (plus grace) are late by definition, as in the batch
flow: probability 1, band ``overdue``; the model is asked only about the others.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from features.build import Columns, History
from features.ledger.ledger import Ledger
from features.ledger.schema import DATE_DTYPE
from models.decisions.scoring import score_rows
from models.model import LatePaymentModel
from serving.schemas import HistoryIn, InvoiceIn

INVOICE_FIELDS = ("invoice_id", "customer_id", "issue_date", "due_date", "amount")


ORDINAL_1970 = date(1970, 1, 1).toordinal()
NO_DAY = np.iinfo("int64").min  # NaT as a day count


def _dates(values: Sequence[date | None]) -> np.ndarray:
    """Dates as the ledger's datetime column; ``None`` becomes NaT.

    Day numbers via ``toordinal`` (numpy parses ``date`` objects one by one, ~1 µs each).
    """
    days = np.fromiter(
        (NO_DAY if d is None else d.toordinal() - ORDINAL_1970 for d in values),
        dtype="int64",
        count=len(values),
    )
    return days.view("datetime64[D]").astype(DATE_DTYPE)


def empty_ledger() -> Ledger:
    """A ledger without invoices: every customer is new."""
    invoices = pd.DataFrame(
        {
            "invoice_id": pd.Series([], dtype="string"),
            "customer_id": pd.Series([], dtype="string"),
            "issue_date": pd.Series([], dtype=DATE_DTYPE),
            "due_date": pd.Series([], dtype=DATE_DTYPE),
            "paid_date": pd.Series([], dtype=DATE_DTYPE),
            "amount": pd.Series([], dtype="float64"),
        }
    )
    return Ledger(invoices=invoices)


def target_columns(invoices: Sequence[InvoiceIn], as_of: Sequence[date]) -> Columns:
    """Request invoices as feature targets (numpy columns), each with its as-of day."""

    def texts(values: list[str | None]) -> np.ndarray:
        return np.array([pd.NA if v is None else v for v in values], dtype=object)

    return {
        "invoice_id": np.array([i.invoice_id for i in invoices], dtype=object),
        "customer_id": np.array([i.customer_id for i in invoices], dtype=object),
        "issue_date": _dates([i.issue_date for i in invoices]),
        "due_date": _dates([i.due_date for i in invoices]),
        "amount": np.array([i.amount for i in invoices], dtype="float64"),
        "currency": texts([i.currency for i in invoices]),
        "disputed": np.array([np.nan if i.disputed is None else i.disputed for i in invoices]),
        "channel": texts([i.channel for i in invoices]),
        "as_of": _dates(list(as_of)),
    }


def ledger_from_request(history: HistoryIn) -> Ledger:
    """The history a request carries, as a canonical ledger."""
    rows = history.invoices
    invoices = pd.DataFrame(
        {
            "invoice_id": pd.array([r.invoice_id for r in rows], dtype="string"),
            "customer_id": pd.array([r.customer_id for r in rows], dtype="string"),
            "issue_date": _dates([r.issue_date for r in rows]),
            "due_date": _dates([r.due_date for r in rows]),
            "paid_date": _dates([r.paid_date for r in rows]),
            "amount": np.array([r.amount for r in rows], dtype="float64"),
        }
    ).drop_duplicates("invoice_id")
    customers = None
    if history.customers:
        c = history.customers
        customers = pd.DataFrame(
            {
                "customer_id": pd.array([r.customer_id for r in c], dtype="string"),
                "segment": pd.array([r.segment for r in c], dtype="string"),
                "country": pd.array([r.country for r in c], dtype="string"),
                "credit_limit": pd.array([r.credit_limit for r in c], dtype="Float64"),
                "customer_since": _dates([r.customer_since for r in c]),
            }
        )
    return Ledger(invoices=invoices, customers=customers)


class HistoryIndex:
    """The configured ledger, indexed once for each grace period a served model uses."""

    def __init__(self, ledger: Ledger | None) -> None:
        self.ledger = ledger if ledger is not None else empty_ledger()
        self._by_grace: dict[int, History] = {}
        self._lock = threading.Lock()

    def get(self, grace_days: int) -> History:
        found = self._by_grace.get(grace_days)
        if found is None:
            with self._lock:
                found = self._by_grace.get(grace_days)
                if found is None:
                    found = History.from_ledger(self.ledger, grace_days)
                    self._by_grace[grace_days] = found
        return found


def score_targets(
    model: LatePaymentModel, history: History, targets: Columns, top: int
) -> list[dict[str, Any]]:
    """Probability, band, amounts and top reasons of each target, in request order."""
    features = history.columns(targets)
    scores = score_rows(model, features, top)
    reasons: list[list[dict[str, Any]]] = [[] for _ in range(len(scores.p_late))]
    if top:
        long = scores.reasons
        for row, reason, direction, text, effect in zip(
            long["row"].tolist(),
            long["reason"].tolist(),
            long["direction"].tolist(),
            long["text"].tolist(),
            [None if e != e else e for e in long["effect"].tolist()],
            strict=True,
        ):
            reasons[row].append(
                {"reason": reason, "direction": direction, "text": text, "effect": effect}
            )
    as_of = features["as_of"].astype("datetime64[D]").tolist()
    return [
        {
            "invoice_id": invoice_id,
            "customer_id": customer_id,
            "as_of": day,
            "p_late": prob,
            "risk_band": band,
            "open_amount": amount,
            "amount_at_risk": at_risk,
            "reasons": why,
        }
        for invoice_id, customer_id, day, prob, band, amount, at_risk, why in zip(
            features["invoice_id"].tolist(),
            features["customer_id"].tolist(),
            as_of,
            scores.p_late.tolist(),
            scores.risk_band.tolist(),
            scores.open_amount.tolist(),
            scores.amount_at_risk.tolist(),
            reasons,
            strict=True,
        )
    ]
