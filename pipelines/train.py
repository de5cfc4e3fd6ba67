"""Prefect flow ``train``: thin tasks around :mod:`features` and :mod:`models`.

Runs without a server (Prefect's ephemeral mode) or against one when ``PREFECT_API_URL`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from prefect import flow, task

from features.catalogue import feature_names
from features.ledger.ledger import Ledger
from models.registry import registry, tracking
from models.registry.promotion import Decision, PromotionPolicy, decide
from models.training.fit import TrainParams
from models.training.split import TimeSplit, make_split, split_frame
from models.training.train import (
    MODEL_KEY,
    TrainingResult,
    prepare_training_frame,
    train_and_evaluate,
)
from pipelines.tasks import load
from serving.settings import Settings


@dataclass(frozen=True)
class TrainRequest:
    """What the user chose for this training; home, grace days and limits come from settings."""

    ledger: str
    mapping: Path | None = None
    as_of: pd.Timestamp | None = None
    test_from: pd.Timestamp | None = None
    valid_from: pd.Timestamp | None = None
    params: TrainParams = field(default_factory=TrainParams)
    tune_trials: int = 0
    policy: PromotionPolicy | None = None
    """[default: the settings' promotion policy]"""


@task
def build_training_frame(ledger: Ledger, as_of: pd.Timestamp, grace_days: int) -> pd.DataFrame:
    return prepare_training_frame(ledger, as_of, grace_days)


@task
def split(
    frame: pd.DataFrame,
    as_of: pd.Timestamp,
    test_from: pd.Timestamp | None,
    valid_from: pd.Timestamp | None,
) -> TimeSplit:
    return make_split(frame, as_of, test_from, valid_from)


@task
def tune_params(
    frame: pd.DataFrame, time_split: TimeSplit, features: list[str], trials: int, base: TrainParams
) -> TrainParams:
    from models.training.tuning import tune

    train, valid, _ = split_frame(frame, time_split)
    return tune(train, valid, features, trials, base)


@task
def fit_and_evaluate(
    frame: pd.DataFrame,
    time_split: TimeSplit,
    features: list[str],
    params: TrainParams,
    grace_days: int,
) -> TrainingResult:
    return train_and_evaluate(frame, time_split, features, params, grace_days)


@task
def log_and_register(
    result: TrainingResult, params: TrainParams, fingerprint: str
) -> tuple[str, str]:
    return registry.log_training_run(result, params=params, data_fingerprint=fingerprint)


@task
def decide_promotion(
    result: TrainingResult, version: str, run_id: str, policy: PromotionPolicy
) -> Decision:
    champion = registry.champion_metrics_on(result.test)
    decision = decide(result.metrics[MODEL_KEY], champion, policy)
    registry.apply_decision(version, decision, run_id)
    return decision


@flow(name="train", log_prints=True)
def train_flow(request: TrainRequest) -> dict[str, Any]:
    """Load and validate, build the training set, split by time, fit, evaluate, log, register."""
    settings = Settings()
    experiment_id = tracking.configure(settings.home)
    ledger = load(request.ledger, request.mapping, settings.max_bad_fraction)
    as_of = pd.Timestamp(request.as_of or ledger.last_date()).normalize()
    frame = build_training_frame(ledger, as_of, settings.grace_days)
    time_split = split(frame, as_of, request.test_from, request.valid_from)
    features = feature_names(ledger.feature_columns)
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"train as of {as_of.date()}"
    ) as run:
        params = request.params
        if request.tune_trials:
            params = tune_params(frame, time_split, features, request.tune_trials, params)
        result = fit_and_evaluate(frame, time_split, features, params, settings.grace_days)
        run_id, version = log_and_register(result, params, ledger.fingerprint())
        policy = request.policy or settings.training.policy()
        decision = decide_promotion(result, version, run.info.run_id, policy)
    print(
        f"model version {version}: {'promoted to champion' if decision.promote else 'kept as challenger'} ({decision.reason})"
    )
    return {
        "run_id": run_id,
        "model_version": version,
        "promoted": decision.promote,
        "promotion_reason": decision.reason,
        "split": time_split.as_dict(),
        "counts": result.counts,
        "metrics": result.metrics,
        "tracking_uri": mlflow.get_tracking_uri(),
    }
