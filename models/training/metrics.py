"""Evaluation metrics, including the amount-weighted ones a collections team cares about."""

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


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |observed - predicted| over equal-width probability bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return float(error)


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    fpr, tpr, _ = roc_curve(y, score)
    return float(np.max(tpr - fpr))


def top_share(score: np.ndarray, share: float) -> np.ndarray:
    """Mask of the top ``share`` of rows by score (ties broken by position, deterministic)."""
    n_top = max(1, round(len(score) * share))
    order = np.argsort(-score, kind="stable")
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:n_top]] = True
    return mask


def lift_top_decile(y: np.ndarray, score: np.ndarray) -> float:
    return float(y[top_share(score, 0.1)].mean() / y.mean())


def late_amount_captured(
    y: np.ndarray, amount: np.ndarray, ranking: np.ndarray, share: float
) -> float:
    """Share of the late invoices' amount found in the top ``share`` of invoices by ``ranking``."""
    late_amount = amount * y
    return float(late_amount[top_share(ranking, share)].sum() / late_amount.sum())


def evaluate(y: np.ndarray, p: np.ndarray, amount: np.ndarray) -> dict[str, float]:
    """Every metric of one scorer on one window; ``p`` must be a probability."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    at_risk = p * amount
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p),
        "ks": ks_statistic(y, p),
        "lift_top_decile": lift_top_decile(y, p),
        "late_amount_top10": late_amount_captured(y, amount, at_risk, 0.1),
        "late_amount_top20": late_amount_captured(y, amount, at_risk, 0.2),
        "late_amount_top10_by_amount": late_amount_captured(y, amount, amount, 0.1),
        "late_amount_top20_by_amount": late_amount_captured(y, amount, amount, 0.2),
    }
