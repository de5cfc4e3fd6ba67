"""Exact SHAP values of the served model, and their effects in probability points.

Contributions are TreeSHAP values of the booster on the **log-odds** scale (LightGBM's
``pred_contrib``, identical to ``shap.TreeExplainer`` on the same booster; large batches run it
once per distinct case of each tree, see :mod:`models.explain.treeshap`): for every invoice,
``base + sum(contributions) == raw score``.

Effects in **probability points** are derived so that they add up exactly to the calibrated
score: with ``p = calibrated(raw)`` and ``p0 = calibrated(base)``, each feature gets
``effect_i = contribution_i / sum(contributions) * (p - p0)``. The calibrator is monotone, so an
effect has the sign of its contribution (but see *cancelling contributions* below), and
``p0 + sum(effects) == p``.

Two degenerate cases, both possible with an **isotonic** calibrator (a step function):

- *Flat step*: ``p == p0`` although the contributions do not sum to 0 (raw and base fall on the
  same step). Every effect is then exactly 0 -- the calibrated score did not move -- but the
  reasons are still listed: invoice reasons rank by contribution, and account reasons rank by
  effect and then by the amount-weighted contribution, so an account whose invoices have any
  non-zero contribution always gets reasons.
- *Cancelling contributions*: ``|sum(contributions)| <= 1e-12`` while ``p != p0`` (raw and base
  straddle a step). The ratio above is undefined, so ``p - p0`` is split by shares of
  ``|contribution_i|``; the effects still add up to ``p - p0``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.catalogue import describe
from models.encoding import FeatureTable
from models.explain.treeshap import grouped_contrib
from models.model import LatePaymentModel

CANCELLED = 1e-12
"""Contributions summing to less than this (in log-odds) are taken to cancel out."""
SERIAL_ROWS = 256
"""Up to this many rows LightGBM explains the batch directly, on one thread; larger batches go
through :func:`models.explain.treeshap.grouped_contrib` (same values, ~10x faster at 100,000 rows)."""


@dataclass(frozen=True)
class Explanation:
    """Per-invoice SHAP values (log-odds) and probability-point effects, features in model order."""

    features: list[str]
    base_raw: float
    contributions: np.ndarray  # (n, f) log-odds
    raw: np.ndarray  # (n,)
    p_base: float
    p: np.ndarray  # (n,) calibrated
    effects: np.ndarray  # (n, f) probability points

    def take(self, rows: list[int] | np.ndarray) -> Explanation:
        """The explanation of some rows only (by position)."""
        return replace(
            self,
            contributions=self.contributions[rows],
            raw=self.raw[rows],
            p=self.p[rows],
            effects=self.effects[rows],
        )

    def grouped(self, values: np.ndarray) -> pd.DataFrame:
        """Sum columns of ``values`` by business reason group."""
        groups = [describe(f).group for f in self.features]
        return pd.DataFrame(values, columns=self.features).T.groupby(groups, sort=False).sum().T


def contributions(model: LatePaymentModel, frame: FeatureTable) -> tuple[np.ndarray, float]:
    """Exact TreeSHAP values (n, f) on the log-odds scale and the base value."""
    matrix = model.encoder.transform(frame)
    if not len(matrix):  # still report the base value for an empty batch
        matrix = np.full((1, len(model.features)), np.nan)
        return np.zeros((0, len(model.features))), float(_contrib(model, matrix)[0, -1])
    mix = model.encoder.mixture(matrix)  # as in LatePaymentModel.raw_score: SHAP is additive
    values = mix.collapse(_contrib(model, mix.rows))
    base = float(values[0, -1])
    return values[:, :-1], base


def _contrib(model: LatePaymentModel, matrix: np.ndarray) -> np.ndarray:
    if len(matrix) > SERIAL_ROWS:
        return grouped_contrib(model.booster, matrix)
    # OpenMP start-up dwarfs TreeSHAP on a few rows (10 ms vs 0.4 ms for one): one thread
    return np.asarray(model.booster.predict(matrix, pred_contrib=True, num_threads=1))


def explain(model: LatePaymentModel, frame: FeatureTable) -> Explanation:
    """Contributions and probability effects of every row of a feature frame."""
    values, base = contributions(model, frame)
    raw = base + values.sum(axis=1)
    # one calibrator call for the rows and the base: its fixed cost exceeds a small batch's
    calibrated = model.calibrator.predict(np.append(raw, base))
    p, p_base = calibrated[:-1], float(calibrated[-1])
    effects = probability_effects(values, p - p_base)
    return Explanation(model.features, base, values, raw, p_base, p, effects)


def probability_effects(values: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Split each row's change in probability ``delta`` over its log-odds contributions.

    Proportional to the contributions; by shares of ``|contribution|`` where they cancel out
    (see the module docstring). Each row of the result sums to its ``delta``.
    """
    total = values.sum(axis=1)
    absolute = np.abs(values).sum(axis=1)
    cancelled = np.abs(total) <= CANCELLED
    with np.errstate(divide="ignore", invalid="ignore"):
        proportional = values * np.where(cancelled, 0.0, delta / total)[:, None]
        by_share = np.abs(values) * np.where(absolute > 0, delta / absolute, 0.0)[:, None]
    return np.where(cancelled[:, None], by_share, proportional)
