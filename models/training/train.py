"""Train and evaluate in plain Python (the Prefect flow only wires these steps together)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.build import training_set
from features.catalogue import feature_names
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.training.baselines import fit_baselines
from models.training.fit import TrainParams, fit_model
from models.training.metrics import evaluate
from models.training.split import TimeSplit, fully_matured, make_split, split_frame

MODEL_KEY = "model"


@dataclass
class TrainingResult:
    model: LatePaymentModel
    split: TimeSplit
    metrics: dict[str, dict[str, float]]
    test: pd.DataFrame
    test_scores: dict[str, np.ndarray]
    counts: dict[str, int] = field(default_factory=dict)


def prepare_training_frame(
    ledger: Ledger, as_of: pd.Timestamp, grace_days: int = 0
) -> pd.DataFrame:
    """Features at each invoice's issue date, labels final at ``as_of``."""
    return fully_matured(training_set(ledger, as_of, grace_days=grace_days), as_of, grace_days)


def evaluate_all(test: pd.DataFrame, scorers: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Metrics of every scorer on the same test rows."""
    y = test["late"].astype(int).to_numpy()
    amount = test["amount"].to_numpy("float64")
    return {name: evaluate(y, p, amount) for name, p in scorers.items()}


def train_and_evaluate(
    frame: pd.DataFrame,
    split: TimeSplit,
    features: list[str],
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
) -> TrainingResult:
    """Fit the model and the baselines on the split; evaluate all on the test window."""
    train, valid, test = split_frame(frame, split)
    model = fit_model(train, valid, features, params, grace_days)
    baselines = fit_baselines(train, valid, features)
    scores = {MODEL_KEY: model.predict_proba(test)}
    scores.update({name: predict(test) for name, predict in baselines.items()})
    counts = {"train": len(train), "validation": len(valid), "test": len(test)}
    model.info.update({"split": split.as_dict(), "counts": counts})
    return TrainingResult(model, split, evaluate_all(test, scores), test, scores, counts)


def train_on_ledger(
    ledger: Ledger,
    as_of: pd.Timestamp | None = None,
    test_from: pd.Timestamp | None = None,
    valid_from: pd.Timestamp | None = None,
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
) -> TrainingResult:
    """The whole training step on a validated ledger, for notebooks and tests."""
    as_of = pd.Timestamp(as_of or ledger.last_date()).normalize()
    frame = prepare_training_frame(ledger, as_of, grace_days)
    split = make_split(frame, as_of, test_from, valid_from)
    return train_and_evaluate(
        frame, split, feature_names(ledger.feature_columns), params, grace_days
    )
