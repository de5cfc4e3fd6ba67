"""Train in plain Python: evaluate the recipe out of time, then refit on everything known.

1. **Evaluate.** On the time split, a model is fit on the train window with early stopping on
   the validation window (which also calibrates it), and scored on the test window next to the
   baselines, fit on the same rows. With ``folds > 1`` the same is done at earlier as-of dates
   too (rolling origin), each with labels as known then.
2. **Refit.** The registered model is fit on every row matured at the as-of date, with the
   evaluation's trees per invoice, and calibrated on an expanding-window cross-fit of those rows.

The Prefect flow only wires these steps together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.build import History, training_set
from features.catalogue import feature_names
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.training.baselines import fit_baselines
from models.training.fit import (
    LOCAL,
    Engine,
    Rounds,
    Rows,
    TrainParams,
    fit_model,
    refit_model,
    weights,
    window,
)
from models.training.metrics import evaluate
from models.training.split import (
    TimeSplit,
    check_labels,
    fully_matured,
    make_split,
    split_frame,
)

MODEL_KEY = "model"
BASELINE_ROWS = 500_000
"""Train-window rows the logistic baseline is fit on when they live on a cluster (a uniform
sample); in memory it sees them all."""


@dataclass
class Evaluation:
    """The recipe fit before one test window, and every scorer's metrics on that window."""

    split: TimeSplit
    model: LatePaymentModel
    rounds: Rounds
    metrics: dict[str, dict[str, float]]
    test: pd.DataFrame
    test_scores: dict[str, np.ndarray]
    counts: dict[str, int]


@dataclass
class TrainingResult:
    """The refit model, its out-of-time evaluation and the rolling-origin folds."""

    model: LatePaymentModel
    evaluation: Evaluation
    folds: list[Evaluation] = field(default_factory=list)
    """Oldest first; the last is ``evaluation``."""
    frame: Rows = field(default_factory=pd.DataFrame, repr=False)
    """Every row matured at the as-of date: what the registered model was fit on (a Dask frame
    when ``engine`` is the Dask engine)."""
    engine: Engine = field(default=LOCAL, repr=False)

    @property
    def split(self) -> TimeSplit:
        return self.evaluation.split

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        return self.evaluation.metrics

    @property
    def test(self) -> pd.DataFrame:
        return self.evaluation.test

    @property
    def test_scores(self) -> dict[str, np.ndarray]:
        return self.evaluation.test_scores

    @property
    def counts(self) -> dict[str, int]:
        return self.evaluation.counts

    def rolling(self) -> dict[str, dict[str, dict[str, float]]]:
        """Per scorer and metric: mean, spread (std) and number of the folds' values."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for scorer in self.metrics:
            values = pd.DataFrame([fold.metrics[scorer] for fold in self.folds])
            out[scorer] = {
                name: {
                    "mean": float(column.mean()),
                    "std": float(column.std(ddof=0)),
                    "folds": float(column.count()),
                }
                for name, column in values.items()
            }
        return out


def prepare_training_frame(
    ledger: Ledger,
    as_of: pd.Timestamp,
    grace_days: int = 0,
    *,
    snapshots: tuple[int, ...] = (),
    history: History | None = None,
) -> pd.DataFrame:
    """Features as of issue (and the snapshot days), labels final at ``as_of``."""
    frame = training_set(ledger, as_of, grace_days=grace_days, history=history, snapshots=snapshots)
    return fully_matured(frame, as_of, grace_days)


def evaluate_all(test: pd.DataFrame, scorers: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Metrics of every scorer on the same test rows (each invoice weighing 1)."""
    y = test["late"].astype(int).to_numpy()
    amount = test["amount"].to_numpy("float64")
    w = weights(test)
    return {name: evaluate(y, p, amount, w) for name, p in scorers.items()}


def text_columns(frame: Rows, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The ledger's extra feature columns that hold text: the models take them as categories."""
    dtypes = frame.dtypes
    return tuple(c for c in columns if c in dtypes and not pd.api.types.is_numeric_dtype(dtypes[c]))


def evaluate_recipe(
    frame: Rows,
    split: TimeSplit,
    features: list[str],
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
    extra_categorical: tuple[str, ...] = (),
    engine: Engine | None = None,
) -> Evaluation:
    """Fit the model and the baselines before the test window; evaluate all on it."""
    engine = engine or LOCAL
    train, valid, test = split_frame(frame, split, engine)
    model, rounds = fit_model(
        train,
        valid,
        features,
        params,
        grace_days=grace_days,
        extra_categorical=extra_categorical,
        engine=engine,
    )
    baselines = fit_baselines(
        engine.sample(train, BASELINE_ROWS), valid, features, model.encoder.categorical
    )
    scores = {MODEL_KEY: model.predict_proba(test)}
    scores.update({name: predict(test) for name, predict in baselines.items()})
    counts = {"train": engine.count(train), "validation": len(valid), "test": len(test)}
    return Evaluation(split, model, rounds, evaluate_all(test, scores), test, scores, counts)


def rolling_splits(split: TimeSplit, folds: int) -> list[TimeSplit]:
    """``folds`` splits ending at ``split``, oldest first: each earlier one shifted back by the
    length of the test window (an expanding window: every fold trains on all before it). A fold
    is left out when its windows are empty, hold one class, or its train window has fewer
    invoices than its test window."""
    shift = split.as_of - split.test_from
    return [
        TimeSplit(
            split.as_of - k * shift, split.valid_from - k * shift, split.test_from - k * shift
        )
        for k in range(folds - 1, -1, -1)
    ]


@dataclass(frozen=True)
class Evaluated:
    """What the evaluation step leaves for the refit: the matured rows at the as-of date, the
    recipe's columns and split, and the rolling-origin evaluations (oldest first)."""

    frame: Rows
    features: list[str]
    categorical: tuple[str, ...]
    split: TimeSplit
    evaluations: list[Evaluation]

    @property
    def evaluation(self) -> Evaluation:
        """The latest fold's: the split the refit follows and the promotion judges."""
        return self.evaluations[-1]


def ledger_frames(
    ledger: Ledger, params: TrainParams, grace_days: int
) -> Callable[[pd.Timestamp], Rows]:
    """The matured training rows of an in-memory ledger as of a day (its history indexed once)."""
    history = History.from_ledger(ledger, grace_days)

    def frame_at(day: pd.Timestamp) -> pd.DataFrame:
        return prepare_training_frame(
            ledger, day, grace_days, snapshots=params.snapshots, history=history
        )

    return frame_at


def train_on_ledger(
    ledger: Ledger,
    as_of: pd.Timestamp | None = None,
    test_from: pd.Timestamp | None = None,
    valid_from: pd.Timestamp | None = None,
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
    folds: int = 1,
) -> TrainingResult:
    """The whole training step on a validated ledger, in memory: evaluate, roll the origin,
    refit (:func:`train_on_frames`).

    Raises:
        ValueError: the windows are out of order, empty or hold one class only.
    """
    frame_at = ledger_frames(ledger, params, grace_days)
    return train_on_frames(
        ledger, frame_at, LOCAL, as_of, test_from, valid_from, params, grace_days, folds
    )


def evaluate_on_frames(
    ledger: Ledger,
    frame_at: Callable[[pd.Timestamp], Rows],
    engine: Engine,
    as_of: pd.Timestamp | None = None,
    test_from: pd.Timestamp | None = None,
    valid_from: pd.Timestamp | None = None,
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
    folds: int = 1,
) -> Evaluated:
    """The out-of-time evaluation alone (no refit): the recipe fit before each rolling test
    window and compared there with the baselines, on the rows ``frame_at(day)`` gives.

    Raises:
        ValueError: the windows are out of order, empty or hold one class only.
    """
    as_of = pd.Timestamp(as_of or ledger.default_as_of()).normalize()
    frame = frame_at(as_of)
    check_labels(frame, as_of, ledger.invoices["issue_date"].min(), engine)
    features = feature_names(ledger.feature_columns, ledger.present())
    categorical = text_columns(frame, ledger.feature_columns)
    split = make_split(frame, as_of, test_from, valid_from, engine)

    def evaluate_at(rows: Rows, fold: TimeSplit) -> Evaluation:
        return evaluate_recipe(rows, fold, features, params, grace_days, categorical, engine)

    evaluations: list[Evaluation] = []
    for fold in rolling_splits(split, folds):
        if fold == split:
            evaluations.append(evaluate_at(frame, split))
            continue
        try:
            earlier = frame_at(fold.as_of)
            train, _, test = split_frame(earlier, fold, engine)
            if engine.weights(train).sum() < weights(test).sum():
                continue  # a fold that learns from less than it is tested on says little
            evaluations.append(evaluate_at(earlier, fold))
        except ValueError:  # too little history that far back: fewer folds
            continue
    return Evaluated(frame, features, categorical, split, evaluations)


def train_on_frames(
    ledger: Ledger,
    frame_at: Callable[[pd.Timestamp], Rows],
    engine: Engine,
    as_of: pd.Timestamp | None = None,
    test_from: pd.Timestamp | None = None,
    valid_from: pd.Timestamp | None = None,
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
    folds: int = 1,
) -> TrainingResult:
    """Evaluate, roll the origin (:func:`evaluate_on_frames`), then refit on the matured
    training rows ``frame_at(day)`` gives (in memory, or on a cluster: ``engine``).

    Raises:
        ValueError: the windows are out of order, empty or hold one class only.
    """
    done = evaluate_on_frames(
        ledger, frame_at, engine, as_of, test_from, valid_from, params, grace_days, folds
    )
    evaluation = done.evaluation
    model = refit_model(
        done.frame,
        done.features,
        params,
        evaluation.rounds,
        grace_days=grace_days,
        extra_categorical=done.categorical,
        engine=engine,
    )
    model.info.update(
        {
            "split": done.split.as_dict(),
            "counts": evaluation.counts,
            "evaluation": {
                "rows": evaluation.model.info["rows"],
                "window": evaluation.model.info["window"],
                "test_window": window(evaluation.test),
            },
            "recipe": {"snapshots": list(params.snapshots), "folds": len(done.evaluations)},
        }
    )
    return TrainingResult(model, evaluation, done.evaluations, done.frame, engine)
