"""The cash-in forecast: expected collections per day and week from the open invoices' pay-date
distributions, with a P10-P90 band simulated from them (per-invoice quantiles do not add up).

Payments of one customer move together (one payment run settles several invoices), so in the
simulation each invoice follows its customer's shared draw with probability ``rho`` and its own
otherwise (a mixture copula: every invoice keeps its own distribution); ``rho=0`` treats
invoices as independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from features.build import open_amounts, scoring_set
from features.ledger.ledger import Ledger
from models.paydates.distribution import EDGES, weekly_mass
from models.paydates.hazard import PayDateModel

WEEKS = 13
SIMULATIONS = 1000
CUSTOMER_CORRELATION = 0.3


@dataclass(frozen=True)
class Forecast:
    weekly: pd.DataFrame
    """``week_start``, ``expected``, ``p10``, ``p50``, ``p90``: collections per week."""
    daily: pd.DataFrame
    """``date``, ``expected``: collections per day."""
    open_amount: float
    beyond: float
    """Expected amount collected after the forecast's last week, or never."""


def daily_expected(cdf: np.ndarray, amounts: np.ndarray, days: int) -> np.ndarray:
    """Expected collections on each of the next ``days`` days (uniform within a bin)."""
    mass = np.diff(cdf, axis=1).T @ amounts  # expected amount per bin
    width = np.diff(EDGES)
    day = np.arange(1, days + 1)
    k = np.searchsorted(EDGES, day, side="left") - 1
    return mass[k] / width[k]


@numba.njit(cache=True)
def _add_paid_weeks(
    draw: np.ndarray,
    shared: np.ndarray,
    codes: np.ndarray,
    rho: float,
    cumulative: np.ndarray,
    amounts: np.ndarray,
    out: np.ndarray,
) -> None:
    """Adds each invoice's amount to the week its uniform ``u`` falls in: the first week whose
    cumulative probability reaches it (none: paid later than the grid, not added).

    One uniform ``draw`` per invoice decides both: below ``rho`` the invoice takes its
    customer's ``shared`` draw; otherwise ``(draw - rho) / (1 - rho)`` is its own, again
    uniform and independent of that choice."""
    weeks = cumulative.shape[1]
    for i in range(len(amounts)):
        d = draw[i]
        u = shared[codes[i]] if d < rho else (d - rho) / (1.0 - rho)
        week = 0
        while week < weeks and u > cumulative[i, week]:
            week += 1
        if week < weeks:
            out[week] += amounts[i]


def simulate_weeks(
    cdf: np.ndarray,
    amounts: np.ndarray,
    customers: np.ndarray,
    weeks: int = WEEKS,
    simulations: int = SIMULATIONS,
    rho: float = CUSTOMER_CORRELATION,
    seed: int = 0,
) -> np.ndarray:
    """Simulated collections, ``(simulations, weeks)``: each invoice is paid in one week (or
    later), drawn from its distribution."""
    rng = np.random.default_rng(seed)
    cumulative = np.ascontiguousarray(np.cumsum(weekly_mass(cdf, weeks), axis=1), "float32")
    amounts = np.ascontiguousarray(amounts, "float64")
    codes, n_customers = pd.factorize(customers)[0], len(np.unique(customers))
    out = np.zeros((simulations, weeks))
    for s in range(simulations):
        shared = rng.random(max(n_customers, 1))
        draw = rng.random(len(amounts))
        _add_paid_weeks(draw, shared, codes, rho, cumulative, amounts, out[s])
    return out


@dataclass(frozen=True)
class ForecastParts:
    """What a forecast is summarised from, for any set of invoices: every part adds up over
    disjoint sets of customers (:func:`add_forecast_parts`)."""

    expected: np.ndarray
    """Expected collections per week, ``(weeks,)``."""
    daily: np.ndarray
    """Expected collections per day, ``(7 * weeks,)``."""
    simulated: np.ndarray
    """Simulated collections, ``(simulations, weeks)`` (:func:`simulate_weeks`)."""
    open_amount: float


def forecast_parts(
    cdf: np.ndarray,
    amounts: np.ndarray,
    customers: np.ndarray,
    weeks: int = WEEKS,
    simulations: int = SIMULATIONS,
    rho: float = CUSTOMER_CORRELATION,
    seed: int = 0,
) -> ForecastParts:
    """The additive parts of the forecast of these invoices (their pay-date ``cdf``)."""
    amounts = np.asarray(amounts, dtype="float64")
    return ForecastParts(
        expected=weekly_mass(cdf, weeks).T @ amounts,
        daily=daily_expected(cdf, amounts, 7 * weeks),
        simulated=simulate_weeks(
            cdf, amounts, np.asarray(customers), weeks, simulations, rho, seed
        ),
        open_amount=float(amounts.sum()),
    )


def add_forecast_parts(parts: Sequence[ForecastParts]) -> ForecastParts:
    """The parts of disjoint sets of customers (at least one), summed into the parts of all.

    Simulated totals add draw by draw: the draws of different customers are independent, so
    the sum of independently simulated sets (each with its own seed) is a simulation of the
    union."""
    return ForecastParts(
        expected=np.sum([p.expected for p in parts], axis=0),
        daily=np.sum([p.daily for p in parts], axis=0),
        simulated=np.sum([p.simulated for p in parts], axis=0),
        open_amount=float(sum(p.open_amount for p in parts)),
    )


def summarise_forecast(parts: ForecastParts, as_of: pd.Timestamp) -> Forecast:
    """Weekly (``week_start`` = as-of + 1 day + 7k) and daily expected collections, and the
    simulated P10/P50/P90 of each week."""
    as_of = pd.Timestamp(as_of).normalize()
    weeks, days = len(parts.expected), len(parts.daily)
    p10, p50, p90 = np.quantile(parts.simulated, [0.1, 0.5, 0.9], axis=0)
    starts = as_of + pd.to_timedelta(1 + 7 * np.arange(weeks), unit="D")
    weekly = pd.DataFrame(
        {"week_start": starts, "expected": parts.expected, "p10": p10, "p50": p50, "p90": p90}
    )
    daily = pd.DataFrame(
        {
            "date": as_of + pd.to_timedelta(np.arange(1, days + 1), unit="D"),
            "expected": parts.daily,
        }
    )
    beyond = parts.open_amount - float(parts.expected.sum())
    return Forecast(weekly, daily, parts.open_amount, beyond)


def cash_forecast(
    cdf: np.ndarray,
    amounts: np.ndarray,
    customers: np.ndarray,
    as_of: pd.Timestamp,
    weeks: int = WEEKS,
    simulations: int = SIMULATIONS,
    rho: float = CUSTOMER_CORRELATION,
    seed: int = 0,
) -> Forecast:
    """The forecast of these invoices (their pay-date ``cdf``), in one piece
    (:func:`summarise_forecast` of their :func:`forecast_parts`)."""
    parts = forecast_parts(cdf, amounts, customers, weeks, simulations, rho, seed)
    return summarise_forecast(parts, as_of)


@dataclass(frozen=True)
class OpenForecast:
    forecast: Forecast
    features: pd.DataFrame
    cdf: np.ndarray


def forecast_open_invoices(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: PayDateModel,
    *,
    grace_days: int = 0,
    weeks: int = WEEKS,
    simulations: int = SIMULATIONS,
) -> OpenForecast:
    """The cash-in forecast of the invoices open at ``as_of``, from their features (the same
    code as training) and the model's pay-date distributions."""
    as_of = pd.Timestamp(as_of).normalize()
    features = scoring_set(ledger, as_of, grace_days=grace_days)
    cdf = model.cdf(features)
    result = cash_forecast(
        cdf,
        open_amounts(features),
        features["customer_id"].to_numpy(),
        as_of,
        weeks=weeks,
        simulations=simulations,
    )
    return OpenForecast(result, features, cdf)
