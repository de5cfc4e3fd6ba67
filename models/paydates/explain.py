"""Why a pay date falls where it does, in days: exact TreeSHAP per bin, carried to the expected
pay date along a straight path (Aumann-Shapley / integrated gradients).

The hazard booster scores one row per invoice and bin, so each bin k has exact TreeSHAP values
on the log-odds scale: ``z_k = base_k + sum_f phi_kf``. The expected pay date ``E(z)`` (days
after the as-of date, given payment within the horizon, :func:`distribution.mean_days`) is a
smooth function of the bins' log-odds, so feature f is credited with

    days_f = sum_k phi_kf * mean over t in (0, 1) of dE/dz_k(base + t * (z - base))

which adds up to ``E(z) - E(base)`` (the path integral of the gradient); the midpoint rule with
:data:`STEPS` steps leaves a rounding that is then split proportionally, so the days add up
exactly. The gradient is analytic (see :func:`mean_days_and_gradient`).

The reference ``base_k`` is the booster's expected value plus the bin's own timing
(``bin_start_days``): a typical invoice in that bin. The bin's days past due is the invoice's
days until due seen from the bin, so it is credited to ``days_until_due``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from models.encoding import FeatureTable
from models.explain.effects import probability_effects
from models.explain.reasons import TOP_REASONS, reason_columns
from models.explain.treeshap import grouped_contrib
from models.paydates.distribution import EDGES, cdf_from_hazards
from models.paydates.hazard import BIN_FEATURES, CHUNK, PayDateModel, bin_tails, invoice_rows

STEPS = 16
"""Midpoint-rule steps of the path integral (the rounding left is split proportionally)."""
LATER, EARLIER = "pushes the date later", "brings the date forward"
DUE_FEATURE = "days_until_due"
MIDDLES = (EDGES[:-1] + EDGES[1:]) / 2


def mean_days_and_gradient(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected days to payment given payment within the horizon, ``(n,)``, and its gradient
    with respect to each bin's hazard log-odds, ``(n, bins)``; NaN where nothing is paid.

    With ``h = sigmoid(z)``, survival ``S_k = prod_{j<=k} (1 - h_j)`` and bin midpoints ``m``:
    ``N = m_1 + sum_{k<K} (m_{k+1} - m_k) S_k - m_K S_K``, ``P = 1 - S_K``, ``E = N / P``; and
    ``dS_k/dz_j = -h_j S_k`` for ``j <= k``.
    """
    h = expit(logits)
    survival = np.cumprod(1.0 - h, axis=1)
    last = survival[:, -1]
    paid = 1.0 - last
    step = np.diff(MIDDLES)
    numerator = MIDDLES[0] + survival[:, :-1] @ step - MIDDLES[-1] * last
    tail = np.cumsum((survival[:, :-1] * step)[:, ::-1], axis=1)[:, ::-1]
    tail = np.hstack([tail, np.zeros((len(h), 1))]) - (MIDDLES[-1] * last)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(paid > 1e-12, numerator / paid, np.nan)
        gradient = (-h * tail - expected[:, None] * h * last[:, None]) / paid[:, None]
    return expected, np.where(paid[:, None] > 1e-12, gradient, np.nan)


@dataclass(frozen=True)
class DayExplanation:
    """Per invoice, each feature's share of its expected pay date, in days."""

    features: list[str]
    contributions: np.ndarray  # (n, f) days later (+) or earlier (-)
    expected_days: np.ndarray  # (n,) days after the as-of date; NaN: no payment expected
    base_days: np.ndarray  # (n,) the reference's expected days
    cdf: np.ndarray
    """(n, bins + 1): the distribution explained, from the same booster pass
    (:meth:`PayDateModel.cdf` up to float rounding), so a batch needs no second pass."""

    @property
    def effects(self) -> np.ndarray:
        return self.contributions


def explain_days(model: PayDateModel, frame: FeatureTable) -> DayExplanation:
    """Each row's expected pay date split over the model's features, in days (adds up to
    ``expected_days - base_days``)."""
    names = model.feature_names()
    width = len(names)
    start, past_due = width - len(BIN_FEATURES), width - len(BIN_FEATURES) + 1
    features = list(model.features)
    due = features.index(DUE_FEATURE) if DUE_FEATURE in features else None
    if due is None:
        features.append(DUE_FEATURE)
        due = len(features) - 1
    mix, until_due = invoice_rows(model, frame)  # as PayDateModel.cdf: absent values mixed
    n, bins = len(mix.rows), len(EDGES) - 1
    out = np.zeros((n, len(features)))
    expected, reference = np.full(n, np.nan), np.full(n, np.nan)
    hazards = np.empty((n, bins))
    for a in range(0, n, CHUNK):
        b = min(a + CHUNK, n)
        phi = grouped_contrib(model.booster, mix.rows[a:b], bin_tails(until_due[a:b]))
        phi = phi.reshape(b - a, bins, width + 1)
        base = phi[:, :, width] + phi[:, :, start]
        delta = np.zeros((b - a, bins, len(features)))
        delta[:, :, : len(model.features)] = phi[:, :, : len(model.features)]
        delta[:, :, due] += phi[:, :, past_due]
        step = delta.sum(axis=2)
        slope = np.zeros((b - a, bins))
        for t in (np.arange(STEPS) + 0.5) / STEPS:
            slope += mean_days_and_gradient(base + t * step)[1] / STEPS
        days = np.einsum("ikf,ik->if", delta, slope)
        hazards[a:b] = expit(base + step)
        expected[a:b] = mean_days_and_gradient(base + step)[0]
        reference[a:b] = mean_days_and_gradient(base)[0]
        out[a:b] = probability_effects(days, expected[a:b] - reference[a:b])
    known = np.isfinite(out).all(axis=1)
    out[~known] = 0.0  # no date to explain
    return DayExplanation(
        features,
        mix.collapse(out),
        mix.collapse(expected),
        mix.collapse(reference),
        mix.collapse(cdf_from_hazards(hazards)),
    )


def day_reasons(
    explanation: DayExplanation, frame: FeatureTable, top: int = TOP_REASONS
) -> pd.DataFrame:
    """Each row's largest reasons for its expected pay date, one per business group, in days.

    Long form as :func:`models.explain.reasons.top_reasons` (``row, rank, group, reason,
    feature, value, contribution, effect, direction, text``), ``effect`` in days: positive
    pushes the date later. Rows expected to stay unpaid past the horizon get none.
    """
    return pd.DataFrame(reason_columns(explanation, frame, top, directions=(LATER, EARLIER)))


def pay_date_reasons(
    model: PayDateModel, frame: FeatureTable, top: int = TOP_REASONS
) -> pd.DataFrame:
    """:func:`day_reasons` of ``frame`` explained by ``model``."""
    return day_reasons(explain_days(model, frame), frame, top)
