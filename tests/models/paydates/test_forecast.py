"""The cash-in forecast: it adds up, and its band comes from simulation, not from quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.paydates.distribution import EDGES, cdf_from_hazards
from models.paydates.forecast import cash_forecast

AS_OF = pd.Timestamp("2025-06-30")


def _cdf(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cdf_from_hazards(rng.uniform(0.0, 0.4, (n, len(EDGES) - 1)))


def test_the_forecast_sums_to_the_open_amount_expected_within_the_horizon() -> None:
    cdf = _cdf(500)
    amounts = np.random.default_rng(1).lognormal(7, 1, 500)
    result = cash_forecast(cdf, amounts, np.arange(500) % 40, AS_OF, simulations=300)
    expected_13_weeks = float((cdf[:, 13] * amounts).sum())  # P(paid by day 91) x amount
    assert result.weekly["expected"].sum() == pytest.approx(expected_13_weeks)
    assert result.weekly["expected"].sum() + result.beyond == pytest.approx(amounts.sum())
    # the days add up to their weeks
    daily = result.daily["expected"].to_numpy().reshape(13, 7).sum(axis=1)
    np.testing.assert_allclose(daily, result.weekly["expected"].to_numpy())
    assert result.weekly["week_start"].iloc[0] == AS_OF + pd.Timedelta(days=1)
    # the simulation's mean is the expectation; the band holds it and is ordered
    assert (result.weekly["p10"] <= result.weekly["p50"]).all()
    assert (result.weekly["p50"] <= result.weekly["p90"]).all()
    inside = (result.weekly["p10"] <= result.weekly["expected"]) & (
        result.weekly["expected"] <= result.weekly["p90"]
    )
    assert inside.all()


def test_the_band_is_not_the_sum_of_invoice_quantiles() -> None:
    # 400 independent invoices, each paid in week 1 or week 2 with even odds: the sum of the
    # invoices' own P10 for week 1 would be 0, but the total of week 1 is ~200 +- 10 invoices
    hazards = np.zeros((400, len(EDGES) - 1))
    hazards[:, 0], hazards[:, 1] = 0.5, 1.0
    result = cash_forecast(
        cdf_from_hazards(hazards), np.ones(400), np.arange(400), AS_OF, simulations=2000, rho=0
    )
    week1 = result.weekly.iloc[0]
    assert week1["expected"] == pytest.approx(200)
    assert 180 < week1["p10"] < 200 < week1["p90"] < 220
    # customers who pay together widen the band
    shared = cash_forecast(
        cdf_from_hazards(hazards), np.ones(400), np.arange(400) % 4, AS_OF, simulations=2000
    )
    assert shared.weekly.iloc[0]["p90"] - shared.weekly.iloc[0]["p10"] > week1["p90"] - week1["p10"]


def test_each_draw_lands_in_the_first_week_whose_cumulative_probability_reaches_it() -> None:
    from models.paydates.forecast import _add_paid_weeks

    rng = np.random.default_rng(3)
    cumulative = np.cumsum(rng.dirichlet(np.ones(14), 2000)[:, :13], axis=1).astype("float32")
    u = rng.random(2000, dtype="float32")
    u[:50] = cumulative[:50, 4]  # exactly on a week's boundary: paid in that week
    u[50:60] = 1.0  # beyond the grid: not collected within it
    amounts = rng.lognormal(5, 1, 2000)
    out = np.zeros(13)
    _add_paid_weeks(u, np.zeros(1), np.zeros(2000, "int64"), 0.0, cumulative, amounts, out)
    week = (u[:, None] > cumulative).sum(axis=1)  # the count of weeks already passed
    paid = week < 13
    expected = np.bincount(week[paid], weights=amounts[paid], minlength=13)
    np.testing.assert_allclose(out, expected)
    assert out.sum() < amounts.sum()
    # below rho every invoice takes its customer's shared draw
    together = np.zeros(13)
    _add_paid_weeks(
        np.zeros(2000), u[:1], np.zeros(2000, "int64"), 0.5, cumulative, amounts, together
    )
    first = (u[0] > cumulative).sum(axis=1)
    np.testing.assert_allclose(together, np.bincount(first, weights=amounts, minlength=14)[:13])
