"""The deteriorating-account list on a hand-built ledger."""

from __future__ import annotations

import pandas as pd
import pytest

from features.ledger.ledger import Ledger
from models.monitoring.accounts import deteriorating_accounts
from models.monitoring.limits import Deterioration

T = pd.Timestamp("2024-06-30")


def _invoice(i: str, customer: str, issued: str, terms: int, paid_after: int | None) -> dict:
    issue = pd.Timestamp(issued)
    return {
        "invoice_id": i,
        "customer_id": customer,
        "issue_date": issue,
        "due_date": issue + pd.Timedelta(days=terms),
        "amount": 100.0,
        "paid_date": issue + pd.Timedelta(days=paid_after) if paid_after is not None else pd.NaT,
        "disputed": False,
    }


def _ledger(rows: list[dict], payments: pd.DataFrame | None = None) -> Ledger:
    return Ledger(invoices=pd.DataFrame(rows), payments=payments)


def _history(customer: str, days: list[int]) -> list[dict]:
    """Invoices due months before T, each paid ``days`` after issue."""
    return [
        _invoice(f"{customer}-h{k}", customer, f"2024-0{1 + k}-01", 30, d)
        for k, d in enumerate(days)
    ]


def test_an_account_that_stops_paying_is_listed_with_its_change() -> None:
    rows = _history("slow", [30, 31, 29, 30])
    rows += _history("steady", [30, 31, 29, 30])
    # due in the last 30 days: "slow" has not paid (50 days so far), "steady" paid in 30
    rows += [_invoice("slow-r1", "slow", "2024-05-11", 30, None)]
    rows += [_invoice("slow-r2", "slow", "2024-05-11", 30, None)]
    rows += [_invoice("steady-r1", "steady", "2024-05-11", 30, 30)]
    rows += [_invoice("steady-r2", "steady", "2024-05-11", 30, 31)]
    found = deteriorating_accounts(_ledger(rows), T)
    assert [(f["customer_id"], f["measure"]) for f in found] == [("slow", "days_to_pay")]
    (row,) = found
    assert row["before"] == pytest.approx(30.0)  # mean of 30, 31, 29, 30
    assert row["recent"] == pytest.approx(50.0)  # issued 50 days before T, still open
    assert row["change"] == pytest.approx(20.0)
    assert (row["recent_invoices"], row["before_invoices"]) == (2, 4)


def test_partial_payments_and_the_point_in_time_cut() -> None:
    rows = _history("parts", [30, 30, 30, 30])
    rows += [_invoice(f"parts-r{k}", "parts", "2024-05-20", 30, None) for k in range(2)]
    payments = pd.DataFrame(
        {
            "invoice_id": ["parts-r0", "parts-r1", "parts-r1"],
            "payment_date": pd.to_datetime(["2024-06-15", "2024-06-15", "2024-07-05"]),
            "amount": [40.0, 40.0, 60.0],
        }
    )
    found = deteriorating_accounts(_ledger(rows, payments), T, Deterioration(days_to_pay_jump=99))
    assert [(f["customer_id"], f["measure"], f["recent"]) for f in found] == [
        ("parts", "partial", 1.0)
    ]
    # a customer whose history is too short is not judged
    assert deteriorating_accounts(_ledger(rows[-2:], payments), T) == []
