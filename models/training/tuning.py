"""Optional hyper-parameter search with Optuna, each trial a nested MLflow run."""

from __future__ import annotations

from dataclasses import asdict, replace

import mlflow
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.catalogue import feature_names
from features.ledger.ledger import Ledger
from models.encoding import FeatureEncoder
from models.model import raw_scores
from models.training.fit import TrainParams, boost, early_stopped_rounds, labels, weights
from models.training.split import check_labels, make_split, split_frame
from models.training.train import prepare_training_frame, text_columns


def tune(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    features: list[str],
    trials: int,
    base: TrainParams,
    extra_categorical: tuple[str, ...] = (),
) -> TrainParams:
    """Search capacity and regularisation by validation ROC-AUC; returns the best parameters."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    encoder = FeatureEncoder(features, extra_categorical=extra_categorical).fit(train)

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
            rounds = early_stopped_rounds(train, valid, encoder, params)
            raw = raw_scores(boost(train, encoder, params, rounds), encoder, valid)
            auc = float(roc_auc_score(labels(valid), raw, sample_weight=weights(valid)))
            mlflow.log_params({k: v for k, v in asdict(params).items() if k != "snapshots"})
            mlflow.log_metric("valid.roc_auc", auc)
        return auc

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base.seed)
    )
    study.optimize(objective, n_trials=trials)
    return replace(base, **study.best_params)


def tune_on_ledger(
    ledger: Ledger,
    as_of: pd.Timestamp,
    test_from: pd.Timestamp | None,
    valid_from: pd.Timestamp | None,
    trials: int,
    base: TrainParams,
    grace_days: int = 0,
) -> TrainParams:
    """:func:`tune` on a ledger's train and validation windows (never its test window)."""
    frame = prepare_training_frame(ledger, as_of, grace_days, snapshots=base.snapshots)
    check_labels(frame, as_of, ledger.invoices["issue_date"].min())
    train, valid, _ = split_frame(frame, make_split(frame, as_of, test_from, valid_from))
    features = feature_names(ledger.feature_columns, ledger.present())
    categorical = text_columns(frame, ledger.feature_columns)
    return tune(train, valid, features, trials, base, categorical)
