"""Invoices that just fell due, against what the model said before: the fastest outcome check.

An invoice due a day or three before T has its label at T (paid by its due date + grace, or
late), long before its scoring cohort matures. Per customer segment (and for all), the late share
of the invoices that fell due in the last ``days`` is compared with the mean probability the
model gave them in the last stored batch before their due date; a binomial z-score says whether
the gap is more than chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.ledger.ledger import Ledger


def just_due(
    ledger: Ledger,
    as_of: pd.Timestamp,
    scores: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    days: int = 3,
    grace_days: int = 0,
) -> list[dict[str, Any]]:
    """Per segment (``all`` first): invoices, observed late share, expected, and z.

    Args:
        scores: stored invoice scores (``as_of, invoice_id, p_late, risk_band``).
        labels: ``invoice_id, status, late`` as known at T.
    """
    as_of = pd.Timestamp(as_of).normalize()
    invoices = ledger.invoices
    latest = as_of - pd.Timedelta(days=grace_days + 1)  # due then or before: matured at T
    due = invoices[
        (invoices["due_date"] <= latest) & (invoices["due_date"] > latest - pd.Timedelta(days=days))
    ][["invoice_id", "customer_id", "due_date"]].astype({"invoice_id": str})
    if due.empty or scores.empty:
        return []
    before = scores[scores["risk_band"] != "overdue"].astype({"invoice_id": str})
    before = before.merge(due, on="invoice_id")
    before = before[pd.to_datetime(before["as_of"]) < before["due_date"]]
    forecast = before.sort_values("as_of").drop_duplicates("invoice_id", keep="last")
    known = labels.drop_duplicates("invoice_id").astype({"invoice_id": str})
    rows = forecast.merge(known[["invoice_id", "late"]], on="invoice_id")
    rows = rows[rows["late"].notna()]
    if rows.empty:
        return []
    segments = pd.Series("all", index=rows.index)
    customers = ledger.customers
    if customers is not None and "segment" in customers:
        of = customers.drop_duplicates("customer_id").set_index("customer_id")["segment"]
        segments = rows["customer_id"].map(of).astype("string").fillna("unknown")
    groups = [("all", rows)]
    if customers is not None and "segment" in customers:
        groups += [(str(s), part) for s, part in rows.groupby(segments.to_numpy(), sort=True)]
    out = []
    for name, part in groups:
        p = part["p_late"].to_numpy("float64")
        y = part["late"].astype(bool).to_numpy()
        spread = float(np.sqrt(np.sum(p * (1 - p))))
        gap = float(y.mean() - p.mean())
        out.append(
            {
                "segment": name,
                "invoices": len(part),
                "observed": float(y.mean()),
                "expected": float(p.mean()),
                "z": gap * len(part) / spread if spread > 0 else float("nan"),
            }
        )
    return out
