"""Performance per scoring-date cohort: realised once the labels mature, estimated before.

The estimate is confidence-based (NannyML's CBPE idea; NannyML itself does not install with
this stack: it pins LightGBM below 4.6): if the probabilities are calibrated, each invoice is
late with probability ``p``, so the expected ROC-AUC, ECE and late-amount capture follow from
the probabilities alone. It sees a change in who is scored, not a change in how they pay: the
realised figures, as labels mature, are the ones that catch that.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.labels import UNKNOWN
from models.training.metrics import ECE_BINS, late_amount_captured, top_share

CAPTURE_SHARE = 0.1


def expected_auc(p: np.ndarray, score: np.ndarray | None = None) -> float:
    """E[ROC-AUC] of ranking by ``score`` (default ``p``) when each row is late with
    probability ``p``: sum over pairs i != j of p_i (1 - p_j) [s_i > s_j, ties half] over the
    sum of p_i (1 - p_j). NaN for fewer than two rows."""
    p = np.asarray(p, dtype="float64")
    s = p if score is None else np.asarray(score, dtype="float64")
    if len(p) < 2:
        return float("nan")
    levels, which = np.unique(s, return_inverse=True)
    pos = np.bincount(which, weights=p, minlength=len(levels))
    neg = np.bincount(which, weights=1 - p, minlength=len(levels))
    self_pairs = np.bincount(which, weights=p * (1 - p), minlength=len(levels))
    neg_below = np.cumsum(neg) - neg
    numerator = float(np.sum(pos * neg_below) + 0.5 * np.sum(pos * neg - self_pairs))
    denominator = float(pos.sum() * neg.sum() - self_pairs.sum())
    return numerator / denominator if denominator > 0 else float("nan")


def expected_ece(p: np.ndarray, bins: int = ECE_BINS) -> float:
    """E[ECE] of calibrated probabilities: only the sampling noise of each bin's observed rate,
    sigma_b * sqrt(2 / pi) with sigma_b^2 = sum p(1 - p) / n_b^2 (normal approximation)."""
    p = np.asarray(p, dtype="float64")
    if not len(p):
        return float("nan")
    which = np.clip(np.digitize(p, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    n = np.bincount(which, minlength=bins).astype("float64")
    variance = np.bincount(which, weights=p * (1 - p), minlength=bins)
    inside = n > 0
    sigma = np.sqrt(variance[inside]) / n[inside]
    return float(np.sum(n[inside] / len(p) * sigma) * np.sqrt(2 / np.pi))


def expected_capture(p: np.ndarray, amount: np.ndarray, share: float = CAPTURE_SHARE) -> float:
    """E[share of the late amount in the top ``share`` by amount at risk], as a ratio of
    expectations."""
    p, amount = np.asarray(p, dtype="float64"), np.asarray(amount, dtype="float64")
    late = p * amount
    if not len(p) or late.sum() <= 0:
        return float("nan")
    return float(late[top_share(late, share)].sum() / late.sum())


def estimated(p: np.ndarray, amount: np.ndarray) -> dict[str, float]:
    """The confidence-based estimates of one set of scores."""
    return {
        "roc_auc": expected_auc(p),
        "ece": expected_ece(p),
        "late_amount_top10": expected_capture(p, amount),
    }


def realised(y: np.ndarray, p: np.ndarray, amount: np.ndarray) -> dict[str, float]:
    """ROC-AUC, ECE and late-amount capture once labels are known (NaN with one class)."""
    from sklearn.metrics import roc_auc_score

    from models.training.metrics import expected_calibration_error

    y = np.asarray(y, dtype="int64")
    both = 0 < y.sum() < len(y)
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "ece": expected_calibration_error(y, p),
        "late_amount_top10": late_amount_captured(y, amount, p * amount, CAPTURE_SHARE)
        if y.any()
        else float("nan"),
    }


def cohort_performance(
    scores: pd.DataFrame, labels: pd.DataFrame, mature_share: float
) -> list[dict[str, Any]]:
    """Per scoring date: the estimate from the stored probabilities, and the realised figures
    once ``mature_share`` of the cohort's labels are known.

    Args:
        scores: stored invoice scores (``as_of, invoice_id, p_late, open_amount, risk_band``);
            overdue invoices, which the model does not score, are left out.
        labels: ``invoice_id, status, late`` as known at the monitor's date
            (:func:`features.labels.label_at`).
    """
    scored = scores[scores["risk_band"] != "overdue"]
    known = labels.drop_duplicates("invoice_id").set_index("invoice_id")
    out = []
    for day, cohort in scored.groupby("as_of", sort=True):
        p = cohort["p_late"].to_numpy("float64")
        amount = cohort["open_amount"].to_numpy("float64")
        status = known["status"].reindex(cohort["invoice_id"]).fillna(UNKNOWN).to_numpy()
        matured = status != UNKNOWN
        share = float(matured.mean()) if len(cohort) else 0.0
        row: dict[str, Any] = {
            "as_of": str(pd.Timestamp(day).date()),
            "invoices": len(cohort),
            "matured_share": share,
            "estimated": estimated(p, amount),
            "realised": None,
        }
        if len(cohort) and share >= mature_share:
            late = known["late"].reindex(cohort["invoice_id"]).to_numpy()[matured]
            row["realised"] = realised(late.astype(bool), p[matured], amount[matured])
        out.append(row)
    return out
