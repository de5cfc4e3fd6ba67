"""Simple scorers the model must beat, each turned into a probability on the validation window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from models.training.fit import threads_for

Scorer = Callable[[pd.DataFrame], np.ndarray]


def amount_and_age(frame: pd.DataFrame) -> np.ndarray:
    """The traditional worklist order: the bigger and older the invoice, the sooner the call."""
    age_days = (pd.to_datetime(frame["as_of"]) - pd.to_datetime(frame["issue_date"])).dt.days
    return frame["amount"].to_numpy("float64") * (1 + age_days.to_numpy("float64") / 30)


def prior_late_share(frame: pd.DataFrame, fallback: float) -> np.ndarray:
    """The customer's share of invoices paid late so far (the overall rate for new customers)."""
    return frame["late_share_all"].fillna(fallback).to_numpy("float64")


TIE_BREAK = 1e-6
"""Probability added, at most, to keep a score's own order within a flat isotonic step."""


def _order(score: np.ndarray) -> np.ndarray:
    """A strictly increasing map of any real score into (0, 1), independent of the batch."""
    return 0.5 + np.arctan(np.sign(score) * np.log1p(np.abs(score))) / np.pi


@dataclass
class IsotonicScorer:
    """A ranking score mapped to a probability by isotonic regression on the validation window.

    The regression is non-decreasing: when the score is unrelated to lateness, or ranks the late
    invoices last (``amount_and_age`` on the synthetic ledgers, where bigger invoices are paid on
    time more often: raw ROC-AUC about 0.35), it is one flat step. The score's own order is then
    kept by a tie-break of at most :data:`TIE_BREAK`, so the ranking metrics (ROC-AUC, KS, PR,
    lift) measure the ordering the baseline stands for instead of a constant (0.50, KS 0), while
    the calibration metrics move by at most that much.
    """

    score: Scorer
    isotonic_: IsotonicRegression | None = None

    def fit(self, valid: pd.DataFrame) -> IsotonicScorer:
        self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
            self.score(valid), valid["late"].astype(int)
        )
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        assert self.isotonic_ is not None, "fit first"
        raw = np.asarray(self.score(frame), dtype="float64")
        p = np.asarray(self.isotonic_.predict(raw), dtype="float64")
        return np.clip(p * (1 - TIE_BREAK) + TIE_BREAK * _order(raw), 0.0, 1.0)


def logistic_regression(features: list[str], categorical: list[str]) -> Pipeline:
    numeric = [f for f in features if f not in categorical]
    prepare = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(
                        strategy="constant", fill_value="missing", keep_empty_features=True
                    ),
                    OneHotEncoder(handle_unknown="ignore", max_categories=30),
                ),
                categorical,
            ),
        ]
    )
    return Pipeline([("prepare", prepare), ("model", LogisticRegression(max_iter=2000, C=0.5))])


def _as_objects(frame: pd.DataFrame, features: list[str], categorical: list[str]) -> pd.DataFrame:
    out = frame[features].copy()
    for f in categorical:
        out[f] = out[f].astype("object").where(out[f].notna(), "missing")
    return out


def fit_baselines(
    train: pd.DataFrame, valid: pd.DataFrame, features: list[str], categorical: list[str]
) -> dict[str, Callable[[pd.DataFrame], np.ndarray]]:
    """Baseline name -> function giving a probability of being late.

    Args:
        categorical: the features holding categories (the model's encoder knows them).
    """
    rate = float(train["late"].mean())
    by_amount = IsotonicScorer(amount_and_age).fit(valid)
    by_history = IsotonicScorer(lambda f: prior_late_share(f, rate)).fit(valid)
    # BLAS threads on a small design matrix cost more than they save (2 cores, 3,000 invoices:
    # train_on_ledger took 7.1 s of CPU and 5.4 s wall with them, 4.2 s and 3.9 s without): as
    # many threads as LightGBM gets
    with threadpool_limits(threads_for(len(train)), user_api="blas"):
        logistic = logistic_regression(features, categorical).fit(
            _as_objects(train, features, categorical), train["late"].astype(int)
        )
    return {
        "amount_and_age": by_amount.predict_proba,
        "prior_late_share": by_history.predict_proba,
        "logistic_regression": lambda f: logistic.predict_proba(
            _as_objects(f, features, categorical)
        )[:, 1],
    }
