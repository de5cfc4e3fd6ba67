"""Pay-date distributions on a grid of days after the as-of date, as pure array functions.

A distribution is the probability of being paid by each edge of :data:`EDGES` (a CDF, one row
per invoice); within a bin the payment day is uniform. Payment after the last edge (the
``horizon``) is the remaining mass: a write-off risk, not a date.
"""

from __future__ import annotations

import numpy as np

EDGES = np.array([0, *range(7, 92, 7), 121, 151, 181, 211, 241, 271], dtype="float64")
"""Bin edges in days after the as-of date: a week each for 13 weeks (the cash forecast's grid),
then 30 days each, to about 180 days past the due date of a 90-day invoice."""
HORIZON = float(EDGES[-1])


def cdf_from_hazards(hazards: np.ndarray) -> np.ndarray:
    """P(paid by each edge), ``(n, bins + 1)``, from per-bin hazards ``(n, bins)``."""
    survival = np.cumprod(1.0 - np.clip(hazards, 0.0, 1.0), axis=1)
    return np.hstack([np.zeros((len(hazards), 1)), 1.0 - survival])


def prob_paid_within(cdf: np.ndarray, days: np.ndarray) -> np.ndarray:
    """P(paid within ``days`` of the as-of date), per row; linear within a bin, flat after the
    horizon (nothing more is known there)."""
    days = np.clip(np.asarray(days, dtype="float64"), 0.0, HORIZON)
    k = np.clip(np.searchsorted(EDGES, days, side="right") - 1, 0, len(EDGES) - 2)
    rows = np.arange(len(cdf))
    lo, hi = cdf[rows, k], cdf[rows, k + 1]
    share = (days - EDGES[k]) / (EDGES[k + 1] - EDGES[k])
    return lo + (hi - lo) * share


def quantile_days(cdf: np.ndarray, q: float) -> np.ndarray:
    """Days after the as-of date by which a share ``q`` of the payments made within the horizon
    have arrived (the distribution conditional on payment within the horizon). Rows with no
    mass within the horizon give NaN."""
    paid = cdf[:, -1]
    target = q * paid
    # first edge whose CDF reaches the target; interpolate inside the bin before it
    reached = cdf >= target[:, None] - 1e-12
    reached[:, 0] = target <= 0
    k = np.argmax(reached, axis=1)
    k = np.clip(k, 1, len(EDGES) - 1)
    rows = np.arange(len(cdf))
    lo, hi = cdf[rows, k - 1], cdf[rows, k]
    width = np.where(hi > lo, hi - lo, 1.0)
    share = np.clip((target - lo) / width, 0.0, 1.0)
    days = EDGES[k - 1] + share * (EDGES[k] - EDGES[k - 1])
    return np.where(paid > 0, days, np.nan)


INTERPOLATED, DUE_DATE = "interpolated", "due_date"
MEDIAN_RULES = (INTERPOLATED, DUE_DATE)
"""How the P50 is placed inside its bin: linearly (uniform payments within the bin), or on the
due day when the bin holds it (ledgers whose customers pay on the due date). Each pay-date
model picks one on its calibration window (:func:`models.paydates.fit.median_rule`)."""


def median_days(cdf: np.ndarray, until_due: np.ndarray, rule: str = INTERPOLATED) -> np.ndarray:
    """The P50 in days after the as-of date under a :data:`MEDIAN_RULES` rule; ``until_due``:
    each row's days until its due date (no due day is used once it has passed)."""
    mid = quantile_days(cdf, 0.5)
    if rule == INTERPOLATED:
        return mid
    if rule != DUE_DATE:
        raise ValueError(f"unknown median rule {rule!r}: one of {', '.join(MEDIAN_RULES)}")
    due = np.asarray(until_due, dtype="float64")
    same_bin = np.searchsorted(EDGES, mid, side="left") == np.searchsorted(EDGES, due, side="left")
    return np.where(same_bin & (due >= 1), due, mid)


def mean_days(cdf: np.ndarray) -> np.ndarray:
    """Expected days to payment, given payment within the horizon (bin midpoints)."""
    mass = np.diff(cdf, axis=1)
    paid = mass.sum(axis=1)
    middle = (EDGES[:-1] + EDGES[1:]) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(paid > 0, mass @ middle / paid, np.nan)


def weekly_mass(cdf: np.ndarray, weeks: int) -> np.ndarray:
    """P(paid in week w after the as-of date), ``(n, weeks)``, for weeks on the weekly grid."""
    if weeks > 13:
        raise ValueError("the weekly grid covers 13 weeks")
    return np.diff(cdf[:, : weeks + 1], axis=1)
