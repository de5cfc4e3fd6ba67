"""Promises to pay, judged by hand: kept, broken, pending, and nothing known after as-of."""

from __future__ import annotations

import pandas as pd

from models.decisions.promises import (
    BROKEN_COLUMNS,
    OUTCOMES,
    broken_promises,
    payments_of,
    promise_status,
)

AS_OF = pd.Timestamp("2025-12-20")


def contacts() -> pd.DataFrame:
    rows = [
        # customer, invoice, contacted at, outcome, promised date, amount
        ("C1", "I1", "2025-12-01T10:00:00Z", "promise_to_pay", "2025-12-10", 100.0),
        ("C1", "I2", "2025-12-01T23:30:00-05:00", "promise_to_pay", "2025-12-08", 200.0),
        ("C2", None, "2025-12-03T09:00:00Z", "promise_to_pay", "2025-12-15", 300.0),
        ("C3", "I5", "2025-12-10T09:00:00Z", "promise_to_pay", "2025-12-25", 80.0),
        ("C3", "I6", "2025-12-10T09:00:00Z", "promise_to_pay", "2025-12-19", 80.0),
        ("C4", "I7", "2025-12-20T08:00:00Z", "promise_to_pay", "2025-12-20", 10.0),
        ("C1", "I1", "2025-12-02T10:00:00Z", "reached", None, None),
        ("C5", "I8", "2025-12-01T10:00:00Z", "promise_to_pay", "2025-12-05", 100.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "invoice_id",
            "contacted_at",
            "outcome",
            "promised_date",
            "promised_amount",
        ],
    )
    return frame.assign(contacted_at=pd.to_datetime(frame["contacted_at"], utc=True))


def payments() -> pd.DataFrame:
    rows = [
        ("C1", "I1", "2025-11-28", 50.0),  # before the promise: does not count towards it
        ("C1", "I1", "2025-12-05", 60.0),
        ("C1", "I1", "2025-12-10", 40.0),  # on the promised day: counts -> 100, kept
        ("C1", "I2", "2025-12-09", 200.0),  # a day after the promised date: broken
        ("C2", "I3", "2025-12-04", 100.0),  # any invoice of C2 counts (no invoice promised)
        ("C2", "I4", "2025-12-14", 150.0),  # 250 of 300: broken
        ("C3", "I6", "2025-12-19", 80.0),  # kept, known at the 20th
        ("C5", "I8", "2025-12-05", 99.996),  # within half a cent: kept
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_id", "payment_date", "amount"])
    return frame.assign(payment_date=pd.to_datetime(frame["payment_date"]))


def test_promise_status_by_hand() -> None:
    status = promise_status(contacts(), payments(), AS_OF)
    got = {
        (r.customer_id, r.invoice_id): (r.status, round(r.paid_by_date, 3))
        for r in status.itertuples()
    }
    assert got == {
        ("C1", "I1"): ("kept", 100.0),
        ("C1", "I2"): ("broken", 0.0),
        ("C2", None): ("broken", 250.0),
        ("C3", "I5"): ("pending", 0.0),
        ("C3", "I6"): ("kept", 80.0),
        ("C5", "I8"): ("kept", 99.996),
    }  # C4's promise was made on the as-of day itself: not known yet
    made = status.set_index("invoice_id").loc["I2", "contacted_at"]
    assert made == pd.Timestamp("2025-12-02")  # 23:30 at -05:00 is the 2nd in UTC


def test_broken_promises_with_reasons_latest_first() -> None:
    broken = broken_promises(contacts(), payments(), AS_OF)
    assert list(broken.columns) == BROKEN_COLUMNS
    assert broken["customer_id"].tolist() == ["C2", "C1"]
    assert broken["reason"].tolist() == [
        "promised 300.00 by 2025-12-15; 250.00 paid by then",
        "promised 200.00 by 2025-12-08 for invoice I2; 0.00 paid by then",
    ]
    assert broken["promised_date"].tolist() == [
        pd.Timestamp("2025-12-15"),
        pd.Timestamp("2025-12-08"),
    ]


def test_a_promise_is_judged_only_once_its_date_has_passed() -> None:
    on_the_day = promise_status(contacts(), payments(), pd.Timestamp("2025-12-19"))
    mine = on_the_day.set_index("invoice_id").loc["I6"]
    assert mine["status"] == "pending"  # the 19th's payment is not known on the 19th
    assert broken_promises(contacts(), payments(), pd.Timestamp("2025-12-08")).empty


def test_events_after_as_of_change_nothing() -> None:
    before = promise_status(contacts(), payments(), AS_OF)
    later_contact = pd.DataFrame(
        {
            "customer_id": ["C9"],
            "invoice_id": ["I9"],
            "contacted_at": pd.to_datetime(["2025-12-21T10:00:00Z"], utc=True),
            "outcome": ["promise_to_pay"],
            "promised_date": ["2025-12-01"],
            "promised_amount": [5.0],
        }
    )
    later_payment = pd.DataFrame(
        {
            "customer_id": ["C2", "C1"],
            "invoice_id": ["I3", "I2"],
            "payment_date": pd.to_datetime(["2025-12-20", "2025-12-25"]),
            "amount": [1000.0, 5.0],
        }
    )
    after = promise_status(
        pd.concat([contacts(), later_contact], ignore_index=True),
        pd.concat([payments(), later_payment], ignore_index=True),
        AS_OF,
    )
    pd.testing.assert_frame_equal(before, after)


def test_payments_of_a_ledger_without_a_payments_table() -> None:
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2"],
            "customer_id": ["C1", "C2"],
            "amount": [100.0, 50.0],
            "paid_date": pd.to_datetime(["2025-12-03", None]),
        }
    )
    paid = payments_of(invoices, None)
    assert paid.to_dict("records") == [
        {
            "customer_id": "C1",
            "invoice_id": "I1",
            "payment_date": pd.Timestamp("2025-12-03"),
            "amount": 100.0,
        }
    ]


def test_the_api_and_the_importer_know_the_same_outcomes() -> None:
    from typing import get_args

    from serving.schemas import Outcome

    assert get_args(Outcome) == OUTCOMES
