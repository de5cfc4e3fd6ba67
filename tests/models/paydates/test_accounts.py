"""An account's pay dates from its invoices', against a hand-computed example."""

from __future__ import annotations

import pandas as pd
import pytest

from models.paydates.accounts import ACCOUNT_PAY_FIELDS, account_pay_dates


def test_account_pay_dates_by_hand() -> None:
    day = pd.Timestamp
    pay = pd.DataFrame(
        {
            "invoice_id": ["a", "b", "c", "d"],
            "customer_id": ["X", "X", "X", "Y"],
            "pay_model_version": ["3"] * 4,
            "pay_date_p10": [day("2026-01-02"), day("2026-01-05"), pd.NaT, day("2026-02-01")],
            "pay_date_p50": [day("2026-01-10"), day("2026-01-08"), pd.NaT, day("2026-02-10")],
            "pay_date_p90": [day("2026-01-20"), day("2026-02-28"), pd.NaT, day("2026-03-01")],
            "expected_pay_date": [day("2026-01-11"), day("2026-01-21"), pd.NaT, day("2026-02-12")],
            "p_paid_30d_after_due": [0.5, 0.9, 0.0, 1.0],
            "p_paid_60d_after_due": [0.6, 0.95, 0.0, 1.0],
            "p_paid_90d_after_due": [0.7, 1.0, 0.0, 1.0],
            "p_unpaid_180d_after_due": [0.1, 0.0, 1.0, 0.0],
        }
    )
    invoices = pd.DataFrame(
        {"invoice_id": ["d", "c", "b", "a"], "open_amount": [50.0, 400.0, 300.0, 100.0]}
    )
    out = account_pay_dates(pay, invoices)
    assert list(out.columns) == list(ACCOUNT_PAY_FIELDS) and list(out.index) == ["X", "Y"]
    x = out.loc["X"]
    assert x["next_pay_date_p50"] == day("2026-01-08")
    assert x["last_pay_date_p90"] == day("2026-02-28")
    # (100 x Jan 11 + 300 x Jan 21) / 400 = Jan 18.5, to the day: half a day up, Jan 19
    assert x["expected_pay_date"] == day("2026-01-19")
    assert x["expected_paid_30d_after_due"] == pytest.approx(100 * 0.5 + 300 * 0.9)
    assert x["expected_unpaid_180d_after_due"] == pytest.approx(100 * 0.1 + 400 * 1.0)
    assert x["pay_model_version"] == "3"
    assert out.loc["Y", "expected_pay_date"] == day("2026-02-12")


def test_an_account_expected_to_pay_nothing_has_no_expected_date() -> None:
    pay = pd.DataFrame(
        {
            "invoice_id": ["c"],
            "customer_id": ["X"],
            "pay_model_version": ["3"],
            **{c: [pd.NaT] for c in ("pay_date_p10", "pay_date_p50", "pay_date_p90")},
            "expected_pay_date": [pd.NaT],
            "p_paid_30d_after_due": [0.0],
            "p_paid_60d_after_due": [0.0],
            "p_paid_90d_after_due": [0.0],
            "p_unpaid_180d_after_due": [1.0],
        }
    )
    out = account_pay_dates(pay, pd.DataFrame({"invoice_id": ["c"], "open_amount": [80.0]}))
    assert pd.isna(out.loc["X", "expected_pay_date"])
    assert out.loc["X", "expected_unpaid_180d_after_due"] == 80.0
