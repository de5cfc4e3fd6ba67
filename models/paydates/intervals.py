"""Pay-date intervals and their split-conformal widening (pure functions)."""

from __future__ import annotations

import numpy as np

from models.paydates.distribution import quantile_days


def interval_days(cdf: np.ndarray, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """The central ``coverage`` interval, in days after the as-of date, of the payment given it
    comes within the horizon (P10-P90 for 0.8)."""
    tail = (1 - coverage) / 2
    return quantile_days(cdf, tail), quantile_days(cdf, 1 - tail)


def pay_day(days: np.ndarray) -> np.ndarray:
    """The whole day after the as-of date that a point in days falls on: day ``d`` holds
    ``(d - 1, d]``, and no open invoice is paid before day 1."""
    return np.maximum(np.ceil(days), 1.0)


def day_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and last whole day (after the as-of date) of an interval: day ``d`` holds the
    payments in ``(d - 1, d]``, and no open invoice is paid before day 1."""
    first = pay_day(lo)
    return first, np.maximum(np.ceil(hi), first)


def covered(lo: np.ndarray, hi: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Whether each actual pay day falls on or between the interval's first and last day."""
    first, last = day_bounds(lo, hi)
    return (actual >= first) & (actual <= last)


FACTORS = np.round(np.arange(-0.6, 1.5001, 0.01), 2)


def widening(lo: np.ndarray, hi: np.ndarray, actual: np.ndarray, coverage: float) -> float:
    """Split-conformal factor for intervals scaled by their width (as in conformalised quantile
    regression): the smallest factor whose widened intervals, read as whole days, cover the
    finite-sample ``coverage`` quantile of the calibration rows.

    Pay days are whole days, so the factor is searched on the same day rule the intervals are
    reported and judged by (:func:`covered`), not on continuous scores.
    """
    keep = np.isfinite(lo) & np.isfinite(hi)
    lo, hi, actual = lo[keep], hi[keep], np.asarray(actual, dtype="float64")[keep]
    n = len(actual)
    if n == 0:
        return 0.0
    target = min(1.0, np.ceil((n + 1) * coverage) / n)
    for factor in FACTORS:
        if covered(*widened(lo, hi, float(factor)), actual).mean() >= target:
            return float(factor)
    return float(FACTORS[-1])


def widened(lo: np.ndarray, hi: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval grown by ``factor`` widths on each side; never before the first day."""
    width = np.maximum(hi - lo, 1.0)
    new_lo = np.maximum(lo - factor * width, 0.0)
    new_hi = np.maximum(hi + factor * width, new_lo)
    return new_lo, new_hi
