"""Optional hyper-parameter search with Optuna, each trial a nested MLflow run."""

from __future__ import annotations

from dataclasses import asdict, replace

import mlflow
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.training.fit import TrainParams, fit_model


def tune(
    train: pd.DataFrame, valid: pd.DataFrame, features: list[str], trials: int, base: TrainParams
) -> TrainParams:
    """Search capacity and regularisation by validation ROC-AUC; returns the best parameters."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    y_valid = valid["late"].astype(int).to_numpy()

    def objective(trial: optuna.Trial) -> float:
        params = replace(
            base,
            num_leaves=trial.suggest_int("num_leaves", 3, 15),
            max_depth=trial.suggest_int("max_depth", 2, 5),
            learning_rate=trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            min_child_samples=trial.suggest_int("min_child_samples", 10, 200, log=True),
            feature_fraction=trial.suggest_float("feature_fraction", 0.3, 1.0),
            lambda_l2=trial.suggest_float("lambda_l2", 0.1, 30, log=True),
        )
        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True):
            model = fit_model(train, valid, features, params)
            auc = float(roc_auc_score(y_valid, model.raw_score(valid)))
            mlflow.log_params(asdict(params))
            mlflow.log_metric("valid.roc_auc", auc)
        return auc

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.seed)
    )
    study.optimize(objective, n_trials=trials)
    return replace(base, **study.best_params)
