"""Evaluation metrics, including the amount-weighted ones a collections team cares about.

Every metric takes row weights: with several snapshots per invoice, each invoice weighs 1.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
    roc_curve,
)

ECE_BINS = 10
HEADLINE = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "ks",
    "lift_top_decile",
    "late_amount_top10",
    "late_amount_top10_by_amount",
)
"""The metrics shown for the model and each baseline side by side (CLI, model page)."""


def by_scorer(flat: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{"model.roc_auc": v, ...}`` (as logged) to ``{"model": {"roc_auc": v}, ...}``."""
    out: dict[str, dict[str, float]] = {}
    for key, value in flat.items():
        scorer, _, metric = key.partition(".")
        out.setdefault(scorer, {})[metric] = value
    return out


def _weights(w: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n) if w is None else np.asarray(w, dtype="float64")


def expected_calibration_error(
    y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS, weight: np.ndarray | None = None
) -> float:
    """Mean |observed - predicted| over equal-width probability bins, weighted by bin mass."""
    w = _weights(weight, len(y))
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        mass = w[inside].sum()
        if mass > 0:
            observed = np.average(y[inside], weights=w[inside])
            predicted = np.average(p[inside], weights=w[inside])
            error += mass / w.sum() * abs(observed - predicted)
    return float(error)


def ks_statistic(y: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None) -> float:
    fpr, tpr, _ = roc_curve(y, score, sample_weight=weight)
    return float(np.max(tpr - fpr))


def top_share(score: np.ndarray, share: float, weight: np.ndarray | None = None) -> np.ndarray:
    """Mask of the top ``share`` of rows (of their weight) by score, ties by position."""
    w = _weights(weight, len(score))
    order = np.argsort(-score, kind="stable")
    mass = np.cumsum(w[order])
    # as many rows as hold the share of the weight, rounded (unit weights: round(share * n))
    half = 0.5 * float(w.mean()) if len(w) else 0.0
    n_top = (
        max(1, int(np.searchsorted(mass, share * mass[-1] + half, side="right"))) if len(w) else 0
    )
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:n_top]] = True
    return mask


def lift_top_decile(y: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None) -> float:
    w = _weights(weight, len(y))
    top = top_share(score, 0.1, w)
    return float(np.average(y[top], weights=w[top]) / np.average(y, weights=w))


def late_amount_captured(
    y: np.ndarray,
    amount: np.ndarray,
    ranking: np.ndarray,
    share: float,
    weight: np.ndarray | None = None,
) -> float:
    """Share of the late invoices' amount found in the top ``share`` of invoices by ``ranking``."""
    w = _weights(weight, len(y))
    late_amount = amount * y * w
    return float(late_amount[top_share(ranking, share, w)].sum() / late_amount.sum())


def evaluate(
    y: np.ndarray, p: np.ndarray, amount: np.ndarray, weight: np.ndarray | None = None
) -> dict[str, float]:
    """Every metric of one scorer on one window; ``p`` must be a probability."""
    w = _weights(weight, len(y))
    p = np.clip(p, 1e-6, 1 - 1e-6)
    at_risk = p * amount
    return {
        "roc_auc": float(roc_auc_score(y, p, sample_weight=w)),
        "pr_auc": float(average_precision_score(y, p, sample_weight=w)),
        "brier": float(brier_score_loss(y, p, sample_weight=w)),
        "log_loss": float(log_loss(y, p, labels=[0, 1], sample_weight=w)),
        "ece": expected_calibration_error(y, p, weight=w),
        "ks": ks_statistic(y, p, w),
        "lift_top_decile": lift_top_decile(y, p, w),
        "late_amount_top10": late_amount_captured(y, amount, at_risk, 0.1, w),
        "late_amount_top20": late_amount_captured(y, amount, at_risk, 0.2, w),
        "late_amount_top10_by_amount": late_amount_captured(y, amount, amount, 0.1, w),
        "late_amount_top20_by_amount": late_amount_captured(y, amount, amount, 0.2, w),
    }
