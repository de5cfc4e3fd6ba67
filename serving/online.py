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
from features.ledger import Ledger
from features.schema import DATE_DTYPE
from models.explain import explain, open_amounts, reason_columns
from models.model import LatePaymentModel
from models.scoring import OVERDUE, risk_band
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
    n = len(features["invoice_id"])
    days = features["days_until_due"]
    overdue = (days < -model.grace_days) & np.isfinite(days)
    ahead_idx = np.flatnonzero(~overdue)
    owed = open_amounts(features)
    p = np.ones(n)
    reasons: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    if len(ahead_idx):
        # the usual case is nothing overdue: no copy of the columns then
        ahead = features if len(ahead_idx) == n else {k: v[ahead_idx] for k, v in features.items()}
        if not top:  # no reasons asked for: the plain prediction, without SHAP values
            p[ahead_idx] = model.predict_proba(ahead)
        else:
            exp = explain(model, ahead)
            p[ahead_idx] = exp.p
            long = reason_columns(exp, ahead, top)
            for row, reason, direction, text, effect in zip(
                np.asarray(long["row"]).tolist(),
                np.asarray(long["reason"]).tolist(),
                np.asarray(long["direction"]).tolist(),
                long["text"],
                np.asarray(long["effect"]).tolist(),
                strict=True,
            ):
                reasons[ahead_idx[row]].append(
                    {"reason": reason, "direction": direction, "text": text, "effect": effect}
                )
    for k in np.flatnonzero(overdue).tolist():
        if top:
            reasons[k].append(
                {
                    "reason": "already overdue",
                    "direction": "raises risk",
                    "text": f"already {-int(days[k])} days past due",
                    "effect": None,
                }
            )
    bands = np.where(overdue, OVERDUE, risk_band(np.clip(p, 0, 1)))
    as_of = features["as_of"].astype("datetime64[D]").tolist()
    return [
        {
            "invoice_id": invoice_id,
            "customer_id": customer_id,
            "as_of": day,
            "p_late": prob,
            "risk_band": band,
            "open_amount": amount,
            "amount_at_risk": prob * amount,
            "reasons": why,
        }
        for invoice_id, customer_id, day, prob, band, amount, why in zip(
            features["invoice_id"].tolist(),
            features["customer_id"].tolist(),
            as_of,
            p.tolist(),
            bands.tolist(),
            owed.tolist(),
            reasons,
            strict=True,
        )
    ]
