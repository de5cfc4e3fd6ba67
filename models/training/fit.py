"""Fit the late-payment model: LightGBM with early stopping, then a calibrator chosen on it."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.catalogue import describe
from models.calibration import choose_calibrator
from models.encoding import FeatureEncoder
from models.model import LatePaymentModel


@dataclass(frozen=True)
class TrainParams:
    """Capacity is kept small on purpose: TreeSHAP cost grows with trees x leaves x depth^2."""

    seed: int = 0
    num_leaves: int = 15
    max_depth: int = 5
    learning_rate: float = 0.05
    n_estimators: int = 400
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    early_stopping_rounds: int = 40
    monotone: bool = True

    def lgb_params(self, monotone_constraints: list[int]) -> dict[str, object]:
        params: dict[str, object] = {
            "objective": "binary",
            "metric": "binary_logloss",
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": 2,
            "verbosity": -1,
        }
        if self.monotone:
            params["monotone_constraints"] = monotone_constraints
        return params


def monotone_constraints(features: list[str]) -> list[int]:
    return [describe(f).monotone for f in features]


def fit_model(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    features: list[str],
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
) -> LatePaymentModel:
    """LightGBM with early stopping on the validation window, then calibration fitted on it."""
    encoder = FeatureEncoder(features).fit(train)
    categorical = encoder.categorical_indices()
    train_set = lgb.Dataset(
        encoder.transform(train),
        train["late"].astype(int).to_numpy(),
        feature_name=features,
        categorical_feature=categorical,
        free_raw_data=False,
    )
    valid_set = lgb.Dataset(
        encoder.transform(valid),
        valid["late"].astype(int).to_numpy(),
        reference=train_set,
        feature_name=features,
        categorical_feature=categorical,
        free_raw_data=False,
    )
    booster = lgb.train(
        params.lgb_params(monotone_constraints(features)),
        train_set,
        num_boost_round=params.n_estimators,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    y_valid = valid["late"].astype(int).to_numpy()
    raw_valid = np.asarray(booster.predict(encoder.transform(valid), raw_score=True))
    calibrator, brier = choose_calibrator(raw_valid, y_valid, seed=params.seed)
    info = {
        "best_iteration": booster.current_iteration(),
        "calibration_brier_oof": brier,
        "calibration": calibrator.method,
    }
    return LatePaymentModel(encoder, booster, calibrator, grace_days=grace_days, info=info)
