"""Pay dates of open invoices: quantiles, expected date and the probabilities a finance team
plans with, from the model's distribution (one code path for batch, API and backtest)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.encoding import FeatureTable
from models.paydates.distribution import mean_days, median_days, prob_paid_within
from models.paydates.hazard import PayDateModel
from models.paydates.intervals import interval_days, pay_day, widened

WITHIN_DAYS_OF_DUE = (30, 60, 90)
WRITE_OFF_DAYS = 180
PAY_DATE_COLUMNS = (
    "pay_date_p10",
    "pay_date_p50",
    "pay_date_p90",
    "expected_pay_date",
    *(f"p_paid_{d}d_after_due" for d in WITHIN_DAYS_OF_DUE),
    f"p_unpaid_{WRITE_OFF_DAYS}d_after_due",
)


def interval(
    model: PayDateModel, cdf: np.ndarray, until_due: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P10, P50, P90) in days after the as-of date, the interval conformally widened and the
    P50 placed by the model's median rule (``until_due``: each row's days until due)."""
    lo, hi = interval_days(cdf, model.info.get("coverage", 0.8))
    lo, hi = widened(lo, hi, model.widen)
    mid = np.clip(median_days(cdf, until_due, model.median_rule), lo, hi)
    return lo, mid, hi


def _dates(as_of: np.ndarray, days: np.ndarray) -> np.ndarray:
    """A day count after the as-of date as a date: at least the next day (still open today)."""
    whole = pay_day(days)
    out = as_of + (np.nan_to_num(whole) * 86_400e9).astype("timedelta64[ns]")
    return np.where(np.isfinite(days), out, np.datetime64("NaT"))


def pay_dates(
    model: PayDateModel, features: FeatureTable, cdf: np.ndarray | None = None
) -> pd.DataFrame:
    """One row per feature row: :data:`PAY_DATE_COLUMNS`; dates are NaT when the model puts no
    chance of payment within its horizon. ``cdf``: the rows' distributions, when already known."""
    cdf = model.cdf(features) if cdf is None else cdf
    as_of = np.asarray(features["as_of"], dtype="datetime64[ns]")
    until_due = np.asarray(features["days_until_due"], dtype="float64")
    lo, mid, hi = interval(model, cdf, until_due)
    out = {
        "pay_date_p10": _dates(as_of, lo),
        "pay_date_p50": _dates(as_of, mid),
        "pay_date_p90": _dates(as_of, hi),
        "expected_pay_date": _dates(as_of, mean_days(cdf)),
    }
    for d in WITHIN_DAYS_OF_DUE:
        out[f"p_paid_{d}d_after_due"] = prob_paid_within(cdf, until_due + d)
    out[f"p_unpaid_{WRITE_OFF_DAYS}d_after_due"] = 1 - prob_paid_within(
        cdf, until_due + WRITE_OFF_DAYS
    )
    return pd.DataFrame(out)
