"""The EV formula on hand-computed figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.decisions.value import (
    ValueTerms,
    account_terms,
    daily_rate,
    days_avoided,
    days_late_if_late,
    invoice_value,
    reach,
)


def test_the_formula_and_its_words() -> None:
    # 12,000 x 9 days x 0.10/365 = 29.589041; + 240 = 269.589041; x 0.62 x 0.15 = 25.071781
    terms = ValueTerms(0.62, 0.15, 12_000.0, 9.0, daily_rate(0.10), 240.0, 8.0, "call")
    assert terms.ev == pytest.approx(17.071781, abs=1e-6)
    assert terms.words() == (
        "EV 17.07 = 62% late × 15% uplift × (12,000.00 × 9.0 days × 0.027%/day + 240.00 loss "
        "avoided) − 8.00 call"
    )


def test_days_late_from_the_pay_date_model_else_history_else_default() -> None:
    days = days_late_if_late(
        np.array([5.0, np.nan, np.nan, np.nan, 400.0, 0.2]),
        np.array([1.0, 6.0, 0.0, np.nan, 1.0, 1.0]),
        np.array([0.5, 0.5, 0.0, np.nan, 0.5, 0.5]),
        default_days=15.0,
    )
    assert days.tolist() == [5.0, 12.0, 15.0, 15.0, 180.0, 1.0]
    assert days_avoided(days, 10.0).tolist() == [5.0, 10.0, 10.0, 10.0, 10.0, 1.0]


def test_an_account_folds_into_one_line_that_adds_up() -> None:
    invoices = pd.DataFrame(
        {
            "p_late": [0.5, 0.2],
            "open_amount": [1000.0, 3000.0],
            "days": [10.0, 4.0],
            "loss_share": [0.02, 0.0],
        }
    )
    # 0.5 x 0.1 x (1000 x 10 x 0.001 + 1000 x 0.02) = 1.5; 0.2 x 0.1 x (3000 x 4 x 0.001) = 0.24
    each = invoice_value(
        invoices["p_late"],
        0.1,
        invoices["open_amount"],
        invoices["days"],
        0.001,
        invoices["loss_share"],
    )
    assert each.tolist() == pytest.approx([1.5, 0.24])
    terms = account_terms(invoices, uplift=0.1, rate=0.001, cost=5.0, channel="email")
    assert terms.p_late == pytest.approx(0.275)  # 1,100 at risk of 4,000
    assert terms.days == pytest.approx(7400 / 1100)
    assert terms.loss == pytest.approx(10 / 0.275)
    assert terms.ev == pytest.approx(1.74 - 5.0)


def test_an_account_with_nothing_at_risk_is_worth_minus_its_cost() -> None:
    invoices = pd.DataFrame(
        {"p_late": [0.0], "open_amount": [500.0], "days": [3.0], "loss_share": [0.02]}
    )
    assert account_terms(invoices, 0.2, 0.001, 0.1, "automated").ev == pytest.approx(-0.1)


def test_reach_discounts_lateness_beyond_the_treatment() -> None:
    assert reach(np.array([5.0, 10.0, 40.0]), 10.0).tolist() == [1.0, 1.0, 0.25]
    invoices = pd.DataFrame(
        {
            "p_late": [0.5, 0.5],
            "open_amount": [1000.0, 1000.0],
            "days": [10.0, 10.0],
            "loss_share": [0.0, 0.0],
            "reach": [1.0, 0.25],
        }
    )
    # 0.5 x 0.2 x 1 x 10 + 0.5 x 0.2 x 0.25 x 10 = 1.25, at rate 1/1000 per day and 1,000 each
    terms = account_terms(invoices, uplift=0.2, rate=0.001, cost=0.0, channel="call")
    assert terms.uplift == pytest.approx(0.2 * 0.625)
    assert terms.ev == pytest.approx(1.25)
