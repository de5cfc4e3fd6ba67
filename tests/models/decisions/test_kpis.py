"""Each KPI against a ledger small enough to compute by hand (the sums are in the comments)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.ledger.ledger import Ledger
from models.decisions.kpis import (
    aging,
    cei,
    countback_dso,
    dso,
    forecast_dso,
    kpi_trend,
    open_share_by_age,
    owed_at,
)

T = pd.Timestamp("2025-03-31")


def _ledger(extra: bool = False) -> Ledger:
    rows = [
        # id, customer, issued, due, amount, paid
        ("A", "c1", "2025-01-10", "2025-02-09", 1000.0, "2025-02-20"),
        ("B", "c1", "2025-02-05", "2025-03-07", 2000.0, None),
        ("C", "c2", "2025-03-01", "2025-03-31", 500.0, None),
        ("D", "c2", "2025-03-20", "2025-04-19", 800.0, "2025-04-05"),
    ]
    payments = [("C", "2025-03-15", 200.0)]
    if extra:  # dated after T: must change nothing as of T
        rows.append(("E", "c1", "2025-04-02", "2025-05-02", 9999.0, None))
        payments.append(("B", "2025-04-01", 1500.0))
    invoices = pd.DataFrame(
        rows, columns=["invoice_id", "customer_id", "issue_date", "due_date", "amount", "paid_date"]
    )
    for c in ("issue_date", "due_date", "paid_date"):
        invoices[c] = pd.to_datetime(invoices[c])
    pay = pd.DataFrame(payments, columns=["invoice_id", "payment_date", "amount"])
    pay["payment_date"] = pd.to_datetime(pay["payment_date"])
    customers = pd.DataFrame({"customer_id": ["c1", "c2"], "segment": ["big", "small"]})
    return Ledger(invoices=invoices, customers=customers, payments=pay)


def test_owed_and_aging_by_hand() -> None:
    owed = owed_at(_ledger(), T)
    # A paid before T; B open; C 500 less 200 paid on 03-15; D paid only after T
    assert owed.to_dict() == {"A": 0.0, "B": 2000.0, "C": 300.0, "D": 800.0}
    ages = aging(_ledger(), T)
    # B is 24 days past due; C is due on T (current); D is not yet due
    assert ages["current"] == 1100.0 and ages["1_30"] == 2000.0
    assert ages["31_60"] == ages["61_90"] == ages["over_90"] == 0.0
    assert ages["total"] == 3100.0
    assert ages["share_current"] == pytest.approx(1100 / 3100)


def test_dso_best_possible_and_days_delinquent_by_hand() -> None:
    figures = dso(_ledger(), T, days=90)
    # sales in the 90 days to T: 1000 + 2000 + 500 + 800 = 4300
    assert figures["dso"] == pytest.approx(3100 / 4300 * 90)  # 64.88
    assert figures["best_possible_dso"] == pytest.approx(1100 / 4300 * 90)  # 23.02
    assert figures["add"] == pytest.approx((3100 - 1100) / 4300 * 90)


def test_countback_dso_by_hand() -> None:
    # March's sales (C + D = 1300) use 31 days and leave 1800 of the 3100; February's 2000
    # cover it in 1800 / 2000 of its 28 days
    assert countback_dso(_ledger(), T) == pytest.approx(31 + 1800 / 2000 * 28)


def test_cei_by_hand() -> None:
    # AR at 02-28 is B's 2000 (A was paid on 02-20); March sells 1300; at T the AR is 3100,
    # 1100 of it current: (2000 + 1300 - 3100) / (2000 + 1300 - 1100)
    assert cei(_ledger(), pd.Timestamp("2025-02-28"), T) == pytest.approx(200 / 2200 * 100)


def test_kpis_are_point_in_time() -> None:
    before = kpi_trend(_ledger(), T, T)
    after = kpi_trend(_ledger(extra=True), T, T)
    pd.testing.assert_frame_equal(before, after)


def test_trend_by_segment_splits_the_portfolio() -> None:
    trend = kpi_trend(_ledger(), pd.Timestamp("2025-02-01"), T, by="segment")
    assert set(trend["group"]) == {"all", "big", "small"}
    at_t = trend[trend["as_of"] == T].set_index("group")
    assert at_t.loc["big", "total"] + at_t.loc["small", "total"] == at_t.loc["all", "total"]
    assert list(trend[trend["group"] == "all"]["as_of"]) == [pd.Timestamp("2025-02-28"), T]


WEEKLY = pd.DataFrame(
    {
        "week_start": pd.date_range(T + pd.Timedelta(days=1), periods=7, freq="7D"),
        "expected": [500.0, 400.0, 300.0, 200.0, 100.0, 100.0, 100.0],
    }
)


def test_new_invoices_settle_at_the_pace_of_recent_ones_by_hand() -> None:
    share = open_share_by_age(_ledger(), T, 49)
    # issued in the year up to T - 49 days (2025-02-10): A (1000, settled 41 days after issue)
    # and B (2000, open at T)
    assert share[:41] == pytest.approx([1.0] * 41)
    assert share[41:] == pytest.approx([2 / 3] * 8)


def test_forecast_dso_by_hand() -> None:
    got = forecast_dso(_ledger(), T, WEEKLY, days=90)
    pace = 4300 / 90  # A + B + C + D were issued in the 90 days before T
    # week 1 ends T + 7: AR 3100 - 500 collected + 7 days of new invoices, all still open;
    # sales behind it: the 90 days up to T + 7 hold all four invoices and 7 days of pace
    assert got["ar"][0] == pytest.approx(3100 - 500 + 7 * pace)
    assert got["sales"][0] == pytest.approx(4300 + 7 * pace)
    assert got["dso"][0] == pytest.approx((2600 + 7 * pace) / (4300 + 7 * pace) * 90)
    # week 7 ends T + 49: 1700 collected; new invoices of ages 0..48 still owe 41 days in full
    # and 8 days at two thirds; the 90 days up to T + 49 begin after 2025-02-18: C + D known
    new = pace * (41 + 8 * 2 / 3)
    assert got["ar"][6] == pytest.approx(3100 - 1700 + new)
    assert got["sales"][6] == pytest.approx(1300 + 49 * pace)
    assert got["dso"][6] == pytest.approx((1400 + new) / (1300 + 49 * pace) * 90)
    assert list(got["week_end"]) == [T + pd.Timedelta(days=7 * w) for w in range(1, 8)]


def test_forecast_dso_is_point_in_time() -> None:
    pd.testing.assert_frame_equal(
        forecast_dso(_ledger(extra=True), T, WEEKLY), forecast_dso(_ledger(), T, WEEKLY)
    )
