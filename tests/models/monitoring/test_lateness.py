"""Invoices just due against the model's last word on them, by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.labels import label_at
from features.ledger.ledger import Ledger
from models.monitoring.lateness import just_due

T = pd.Timestamp("2024-06-30")


def test_late_share_of_just_due_invoices_against_their_scores() -> None:
    due = pd.to_datetime(["2024-06-28", "2024-06-29", "2024-06-29", "2024-06-20", "2024-06-30"])
    invoices = pd.DataFrame(
        {
            "invoice_id": ["a", "b", "c", "old", "today"],
            "customer_id": ["C1", "C1", "C2", "C1", "C2"],
            "issue_date": due - pd.Timedelta(days=30),
            "due_date": due,
            "amount": 100.0,
            # a paid on time; b and c still open past due (late); old and today are outside
            "paid_date": pd.to_datetime(["2024-06-27", None, None, None, None]),
        }
    )
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "segment": ["smb", "enterprise"]})
    ledger = Ledger(invoices=invoices, customers=customers)
    scores = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2024-06-01", "2024-06-20", "2024-06-20", "2024-06-29"]),
            "invoice_id": ["a", "a", "b", "c"],  # c's only score came on its due date: unused
            "p_late": [0.9, 0.2, 0.4, 0.5],
            "risk_band": ["high", "low", "medium", "medium"],
        }
    )
    labels = label_at(invoices, T).assign(invoice_id=invoices["invoice_id"])
    rows = {r["segment"]: r for r in just_due(ledger, T, scores, labels, days=3)}
    assert set(rows) == {"all", "smb"}  # enterprise's one invoice had no score before due
    smb = rows["smb"]
    assert smb["invoices"] == 2 and smb["observed"] == 0.5  # a on time, b late
    assert smb["expected"] == pytest.approx(0.3)  # a's latest score before due (0.2), b's 0.4
    assert smb["z"] == pytest.approx((0.5 - 0.3) * 2 / math.sqrt(0.2 * 0.8 + 0.4 * 0.6))
