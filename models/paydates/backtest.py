"""Rolling backtest of pay dates and the cash forecast, against the naive forecasts a finance
team uses: everyone pays on the due date, and each customer pays at their own mean days to pay.

At each as-of date T the model is fit on the ledger as known at T (payments after T censored),
the invoices open at T are forecast, and the outcomes are read from the rest of the ledger.
Only dates followed for the whole horizon are used, so the invoices "then paid" are not a
biased early-payer subset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import History, open_amounts, scoring_set
from features.ledger.ledger import Ledger
from models.paydates.distribution import HORIZON
from models.paydates.fit import fit_pay_dates_on_ledger
from models.paydates.forecast import WEEKS, cash_forecast
from models.paydates.hazard import PayParams
from models.paydates.intervals import covered, interval_days, pay_day
from models.paydates.predict import interval

EARLY_WEEKS = 4


@dataclass(frozen=True)
class Outcomes:
    """Days after T to each open invoice's payment (NaN: not within the horizon)."""

    days: np.ndarray
    owed: np.ndarray


def _outcomes(ledger: Ledger, features: pd.DataFrame, as_of: pd.Timestamp) -> Outcomes:
    paid = ledger.invoices.set_index("invoice_id")["paid_date"]
    when = pd.to_datetime(paid.reindex(features["invoice_id"]).to_numpy())
    days = np.asarray((when - as_of).days, dtype="float64")
    days[~(days <= HORIZON)] = np.nan
    return Outcomes(days, open_amounts(features))


def naive_days(features: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """Days after T to the payment in each naive forecast; a date already passed means the next
    day (the invoice is still open)."""
    until_due = features["days_until_due"].to_numpy("float64")
    usual = features["mean_days_to_pay_all"].to_numpy("float64")
    since_issue = np.asarray((as_of - pd.to_datetime(features["issue_date"])).dt.days, "float64")
    customer = np.where(np.isfinite(usual), usual - since_issue, until_due)
    return {"due_date": np.maximum(until_due, 1.0), "customer_mean": np.maximum(customer, 1.0)}


def _weeks_of(days: np.ndarray, owed: np.ndarray) -> np.ndarray:
    week = np.ceil(days / 7) - 1
    keep = np.isfinite(week) & (week >= 0) & (week < WEEKS)
    return np.bincount(week[keep].astype(int), weights=owed[keep], minlength=WEEKS)


def collected_weeks(
    ledger: Ledger, invoice_ids: np.ndarray, owed: np.ndarray, as_of: pd.Timestamp
) -> np.ndarray:
    """What the invoices open at ``as_of`` (owing ``owed``) brought in, week by week after it,
    as far as the ledger knows: NaN for a week that had not started by its last date."""
    as_of = pd.Timestamp(as_of).normalize()
    paid = ledger.invoices["paid_date"].set_axis(ledger.invoices["invoice_id"])
    when = pd.to_datetime(paid.reindex(invoice_ids).to_numpy())
    weekly = _weeks_of(np.asarray((when - as_of).days, "float64"), np.asarray(owed, "float64"))
    known_days = (pd.Timestamp(ledger.last_date()).normalize() - as_of).days
    started = 7 * np.arange(WEEKS) < known_days
    return np.where(started, weekly, np.nan)


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum() / total) if total else float("nan")


def backtest_at(
    ledger: Ledger, as_of: pd.Timestamp, history: History, params: PayParams | None = None
) -> dict[str, float]:
    """One as-of date's figures: pay-date MAE and interval coverage on the open invoices then
    paid, and weekly collections WAPE, for the model and the naive forecasts."""
    return backtest_weeks_at(ledger, as_of, history, params)[0]


def backtest_weeks_at(
    ledger: Ledger, as_of: pd.Timestamp, history: History, params: PayParams | None = None
) -> tuple[dict[str, float], pd.DataFrame]:
    """:func:`backtest_at`'s figures and the weeks behind them: per week after ``as_of``,
    ``week_start, actual`` (collected from the invoices open then), the model's ``expected``,
    ``p10`` and ``p90``, and each naive forecast's collections."""
    as_of = pd.Timestamp(as_of).normalize()
    model = fit_pay_dates_on_ledger(ledger, as_of, params, history=history)
    features = scoring_set(ledger, as_of, history=history)
    features = features.assign(
        issue_date=ledger.invoices.set_index("invoice_id")["issue_date"]
        .reindex(features["invoice_id"])
        .to_numpy()
    )
    truth = _outcomes(ledger, features, as_of)
    cdf = model.cdf(features)
    lo, mid, hi = interval(model, cdf, features["days_until_due"].to_numpy("float64"))
    raw_lo, raw_hi = interval_days(cdf, model.info["coverage"])
    paid = np.isfinite(truth.days)
    y = truth.days[paid]
    figures: dict[str, float] = {
        "open_invoices": float(len(features)),
        "paid_in_horizon": float(paid.sum()),
        "mae_model": float(np.abs(pay_day(mid[paid]) - y).mean()),
        "coverage": float(covered(lo[paid], hi[paid], y).mean()),
        "coverage_raw": float(covered(raw_lo[paid], raw_hi[paid], y).mean()),
    }
    actual = _weeks_of(truth.days, truth.owed)
    forecast = cash_forecast(
        cdf, truth.owed, features["customer_id"].to_numpy(), as_of, simulations=200
    )
    predictions = {"model": forecast.weekly["expected"].to_numpy()}
    for name, days in naive_days(features, as_of).items():
        figures[f"mae_{name}"] = float(np.abs(days[paid] - y).mean())
        predictions[name] = _weeks_of(days, truth.owed)
    for name, weekly in predictions.items():
        figures[f"wape_1_4_{name}"] = wape(actual[:EARLY_WEEKS], weekly[:EARLY_WEEKS])
        figures[f"wape_5_13_{name}"] = wape(actual[EARLY_WEEKS:], weekly[EARLY_WEEKS:])
        figures[f"wape_{name}"] = wape(actual, weekly)
    inside = (actual >= forecast.weekly["p10"].to_numpy()) & (
        actual <= forecast.weekly["p90"].to_numpy()
    )
    figures["band_coverage"] = float(inside.mean())
    weeks = forecast.weekly[["week_start", "expected", "p10", "p90"]].assign(
        actual=actual, **{name: w for name, w in predictions.items() if name != "model"}
    )
    return figures, weeks


def backtest_dates(ledger: Ledger, every_days: int = 30, count: int = 6) -> list[pd.Timestamp]:
    """The latest ``count`` as-of dates, ``every_days`` apart, followed for a whole horizon."""
    last = pd.Timestamp(ledger.last_date()).normalize() - pd.Timedelta(days=HORIZON)
    first = pd.Timestamp(ledger.invoices["issue_date"].min()).normalize()
    dates = [last - pd.Timedelta(days=every_days * k) for k in range(count)]
    return sorted(d for d in dates if d > first + pd.Timedelta(days=HORIZON))


def backtest(
    ledger: Ledger, dates: list[pd.Timestamp], params: PayParams | None = None
) -> pd.DataFrame:
    """:func:`backtest_at` at each date, one row per date."""
    history = History.from_ledger(ledger)
    rows = [{"as_of": d, **backtest_at(ledger, d, history, params)} for d in dates]
    return pd.DataFrame(rows)
