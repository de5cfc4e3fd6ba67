"""Probability calibration on the validation window: isotonic or sigmoid, by out-of-fold Brier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold

Method = Literal["isotonic", "sigmoid"]


@dataclass
class Calibrator:
    """Maps the booster's raw log-odds to a calibrated probability of being late."""

    method: Method
    isotonic_: IsotonicRegression | None = None
    sigmoid_: LogisticRegression | None = None

    def fit(self, raw: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> Calibrator:
        if self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
                raw, y, sample_weight=weight
            )
        else:
            self.sigmoid_ = LogisticRegression(C=1e6).fit(
                raw.reshape(-1, 1), y, sample_weight=weight
            )
        return self

    def predict(self, raw: np.ndarray) -> np.ndarray:
        if self.isotonic_ is not None:
            return np.asarray(self.isotonic_.predict(raw), dtype="float64")
        if self.sigmoid_ is not None:
            # LogisticRegression.predict_proba's own arithmetic, without its input checks (which
            # cost more than the rest of a one-invoice request's explanation)
            slope, intercept = self.sigmoid_.coef_[0, 0], self.sigmoid_.intercept_[0]
            return np.asarray(expit(np.asarray(raw, dtype="float64") * slope + intercept))
        raise ValueError("Calibrator is not fitted")


def out_of_fold_brier(
    method: Method, raw: np.ndarray, y: np.ndarray, seed: int, weight: np.ndarray | None = None
) -> float:
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    w = np.ones(len(raw)) if weight is None else weight
    predicted = np.empty_like(raw, dtype="float64")
    for fit_idx, held_idx in folds.split(raw, y):
        predicted[held_idx] = (
            Calibrator(method).fit(raw[fit_idx], y[fit_idx], w[fit_idx]).predict(raw[held_idx])
        )
    return float(brier_score_loss(y, predicted, sample_weight=w))


def choose_calibrator(
    raw: np.ndarray, y: np.ndarray, seed: int = 0, weight: np.ndarray | None = None
) -> tuple[Calibrator, dict[str, float]]:
    """Fit the method with the lower out-of-fold Brier score on all of ``raw``.

    Returns:
        The fitted calibrator and the out-of-fold Brier score of each method.
    """
    scores = {m: out_of_fold_brier(m, raw, y, seed, weight) for m in ("isotonic", "sigmoid")}
    best: Method = "isotonic" if scores["isotonic"] < scores["sigmoid"] else "sigmoid"
    return Calibrator(best).fit(raw, y, weight), scores
