"""Days as integers (days since 1970-01-01): issue-date seasonality and business-day shifts."""

from __future__ import annotations

from datetime import date

import numpy as np

EPOCH = date(1970, 1, 1)

_WEEKDAY_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.08, 0.04])
"""Monday..Sunday: invoices are issued on weekdays, hardly ever at the weekend."""

_MONTH_WEIGHT = np.array([0.95, 1.0, 1.05, 1.0, 1.0, 1.05, 0.95, 0.75, 1.05, 1.05, 1.05, 0.8])
"""January..December: quiet August and December."""


def to_day(value: date) -> int:
    """Days since 1970-01-01."""
    return (value - EPOCH).days


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def month(days: np.ndarray) -> np.ndarray:
    """Calendar month, 1..12."""
    months = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months % 12 + 1


def issue_weights(first: int, last: int) -> np.ndarray:
    """Relative invoicing volume for each day in ``[first, last]``.

    Weekdays, a quarter-end push in the last two weeks of March/June/September/December, quiet
    August and December, holidays around New Year and Christmas, and slow growth over time.
    """
    days = np.arange(first, last + 1, dtype=np.int64)
    as_dates = days.astype("datetime64[D]")
    months = as_dates.astype("datetime64[M]")
    month_no = months.astype(np.int64) % 12 + 1
    to_month_end = ((months + 1).astype("datetime64[D]") - as_dates).astype(np.int64)
    day_of_month = (as_dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    weights = _WEEKDAY_WEIGHT[weekday(days)] * _MONTH_WEIGHT[month_no - 1]
    weights *= np.where((month_no % 3 == 0) & (to_month_end <= 14), 1.3, 1.0)
    holiday = ((month_no == 12) & (day_of_month >= 24)) | ((month_no == 1) & (day_of_month == 1))
    weights *= np.where(holiday, 0.1, 1.0)
    weights *= 1.0 + 0.08 * (days - first) / 365.25
    return weights


def cumulative(weights: np.ndarray) -> np.ndarray:
    """Cumulative weights with a leading zero: the mass of days ``[i, j]`` is ``c[j+1] - c[i]``."""
    return np.concatenate(([0.0], np.cumsum(weights)))


def sample_days(
    rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """One day offset per row, drawn from the weights restricted to ``[lo, hi]`` (offsets)."""
    u = cum[lo] + rng.random(len(lo)) * (cum[hi + 1] - cum[lo])
    picked = np.searchsorted(cum, u, side="right") - 1
    return np.clip(picked, lo, hi)


def to_business_day(days: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Move weekend days to the next Monday (``forward``) or the previous Friday."""
    wd = weekday(days)
    weekend = wd >= 5
    ahead = np.where(weekend & forward, 7 - wd, 0)
    back = np.where(weekend & ~forward, wd - 4, 0)
    return days + ahead - back
