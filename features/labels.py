"""Point-in-time labels.

An invoice is **late** when it is paid more than ``grace_days`` after its due date; ``days_late``
is how many days after the due date it was paid (0 when on time).

A label is known only once it has **matured** at the as-of date ``T``:

- paid on or before ``T``: the label follows from the paid date;
- still open at ``T`` and already more than ``grace_days`` past due: late, known (its final
  ``days_late`` is not known yet, only that it is late);
- still open at ``T`` and not yet past due + grace: **unknown**. It is never used for training
  at ``T``; it is what we score.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Status = Literal["on_time", "late", "unknown"]
ON_TIME, LATE, UNKNOWN = "on_time", "late", "unknown"


def label_at(invoices: pd.DataFrame, as_of: pd.Timestamp, grace_days: int = 0) -> pd.DataFrame:
    """Label status of each invoice as known at ``as_of``.

    Returns:
        A frame aligned with ``invoices`` with ``status`` (on_time / late / unknown),
        ``late`` (nullable bool, missing when unknown) and ``days_late`` (days late if paid by
        ``as_of``; days past due so far if open and matured late; missing when unknown).
    """
    as_of = pd.Timestamp(as_of).normalize()
    paid = invoices["paid_date"]
    due = invoices["due_date"]
    paid_by_then = paid.notna() & (paid <= as_of)
    days_late_paid = (paid - due).dt.days.clip(lower=0)
    days_overdue = (as_of - due).dt.days
    matured_open = ~paid_by_then & (days_overdue > grace_days)

    status = np.where(
        paid_by_then,
        np.where(days_late_paid > grace_days, LATE, ON_TIME),
        np.where(matured_open, LATE, UNKNOWN),
    )
    days_late = days_late_paid.where(paid_by_then, days_overdue.where(matured_open))
    late = pd.Series(status == LATE, index=invoices.index, dtype="boolean")
    late[status == UNKNOWN] = pd.NA
    return pd.DataFrame(
        {
            "status": pd.Series(status, index=invoices.index, dtype="string"),
            "late": late,
            "days_late": days_late.astype("float64"),
        },
        index=invoices.index,
    )


def final_days_late(invoices: pd.DataFrame) -> pd.Series:
    """Days late from the paid date, ignoring maturity (for evaluation only, never features)."""
    return (invoices["paid_date"] - invoices["due_date"]).dt.days.clip(lower=0).astype("float64")


def time_to_pay(rows: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """How long each row (an invoice as of its ``as_of``) took to be paid, as known at ``cutoff``.

    A payment dated after ``cutoff`` is not known yet: the row is **censored** at ``cutoff``
    (still open after ``days`` days), never dropped and never taken as paid.

    Returns:
        A frame aligned with ``rows``: ``days`` from ``as_of`` to the payment (paid rows) or to
        ``cutoff`` (censored rows), and ``paid`` (bool).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    paid_date = rows["paid_date"]
    paid = (paid_date.notna() & (paid_date <= cutoff)).to_numpy()
    end = paid_date.where(paid, cutoff)
    days = (end - rows["as_of"]).dt.days.to_numpy("float64")
    return pd.DataFrame({"days": days, "paid": paid}, index=rows.index)
