"""Training on Dask: the same fit, refit and calibration as in memory (:mod:`models.training.train`),
with the training rows partitioned by customer on a cluster and every booster grown by
``lightgbm.dask`` across its workers.

What stays in memory, on the machine that drives the cluster: the validation and test windows
(early stopping, calibration, the baselines' isotonic maps and the metrics need them whole), a
uniform sample of at most :data:`models.training.train.BASELINE_ROWS` train rows for the
logistic baseline, and small aggregates (category counts, weight per issue day).

LightGBM's Dask interface has no early stopping (lightgbm-org/LightGBM#3712; setting it can
hang the workers, #6351). The rounds are chosen instead from the validation loss after every
tree of a full-length booster (:func:`validation_curve`) by LightGBM's own rule
(:func:`early_stopping_round`), and the chosen booster is then grown afresh with those trees,
as in memory.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dask
import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from distributed import Client

from features.distributed import cluster_buckets, ledger_features_on_dask
from features.ledger.ledger import Ledger
from models.encoding import FeatureEncoder, category_counts
from models.model import raw_scores
from models.training.fit import TrainParams, labels, monotone_constraints, weights
from models.training.split import fully_matured
from models.training.train import TrainingResult, train_on_frames

LOG_LOSS_EPSILON = 1e-15
"""LightGBM's clip of probabilities in ``binary_logloss``."""


def leaf_values(booster: lgb.Booster) -> list[np.ndarray]:
    """Per tree, the output of each leaf by leaf index (the first tree's include the average
    LightGBM starts from, so the sum over trees is the raw score)."""
    out = []
    for tree in booster.dump_model()["tree_info"]:
        values = np.zeros(int(tree["num_leaves"]))
        stack: list[Mapping[str, Any]] = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "leaf_value" in node:
                values[int(node.get("leaf_index", 0))] = float(node["leaf_value"])
            else:
                stack += [node["left_child"], node["right_child"]]
        out.append(values)
    return out


def validation_curve(
    booster: lgb.Booster, matrix: np.ndarray, late: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """The weighted ``binary_logloss`` of the first ``k`` trees, for every ``k`` (index k-1),
    from one pass over the rows' leaves."""
    leaves = np.asarray(booster.predict(matrix, pred_leaf=True)).reshape(len(matrix), -1)
    raw = np.zeros(len(matrix))
    curve = np.empty(leaves.shape[1])
    y = late.astype("float64")
    for t, values in enumerate(leaf_values(booster)):
        raw += values[leaves[:, t]]
        p = np.clip(1.0 / (1.0 + np.exp(-raw)), LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
        loss = -(y * np.log(p) + (1 - y) * np.log1p(-p))
        curve[t] = float(np.sum(weight * loss) / np.sum(weight))
    return curve


def early_stopping_round(curve: np.ndarray, patience: int) -> int:
    """The trees ``lgb.early_stopping(patience)`` keeps: the first best round, looked for until
    ``patience`` rounds in a row bring no improvement."""
    best = 0
    for i in range(1, len(curve)):
        if curve[i] < curve[best]:
            best = i
        elif i - best >= patience:
            break
    return best + 1


def _matrix(part: pd.DataFrame, encoder: FeatureEncoder) -> pd.DataFrame:
    return pd.DataFrame(encoder.transform(part), columns=encoder.features, index=part.index)


@dataclass(frozen=True)
class DaskEngine:
    """Rows in a Dask frame on ``client``'s cluster; boosters grown by ``lightgbm.dask``."""

    client: Client

    def count(self, rows: dd.DataFrame) -> int:
        return len(rows)

    def column(self, rows: dd.DataFrame | pd.DataFrame, name: str) -> np.ndarray:
        values = rows[name]
        return (values if isinstance(values, pd.Series) else values.compute()).to_numpy()

    def weights(self, rows: dd.DataFrame | pd.DataFrame) -> np.ndarray:
        if isinstance(rows, pd.DataFrame):
            return weights(rows)
        if "weight" in rows.columns:
            return self.column(rows, "weight").astype("float64")
        return np.ones(self.count(rows))

    def issue_range(self, rows: dd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
        first, last = dask.compute(rows["issue_date"].min(), rows["issue_date"].max())
        return pd.Timestamp(first), pd.Timestamp(last)

    def day_weights(self, rows: dd.DataFrame) -> pd.Series:
        if "weight" in rows.columns:
            per_day = rows.groupby("issue_date")["weight"].sum()
        else:
            per_day = rows.groupby("issue_date").size()
        return per_day.compute().sort_index().astype("float64")

    def category_counts(self, rows: dd.DataFrame, names: list[str]) -> dict[str, pd.Series]:
        # category_counts duck-types a Dask series: the counts come back computed, as pandas
        counts = dask.compute(*[category_counts(rows[name]) for name in names])
        return dict(zip(names, counts, strict=True))

    def boost(
        self, rows: dd.DataFrame, encoder: FeatureEncoder, params: TrainParams, rounds: int
    ) -> lgb.Booster:
        lgb_params: dict[str, Any] = params.lgb_params(monotone_constraints(encoder.features))
        lgb_params.pop("num_threads")  # lightgbm.dask gives each worker its own threads
        meta = pd.DataFrame({name: pd.Series(dtype="float64") for name in encoder.features})
        matrix = rows.map_partitions(_matrix, encoder, meta=meta)
        sample_weight = rows["weight"] if "weight" in rows.columns else None
        model = lgb.DaskLGBMClassifier(
            client=self.client, n_estimators=max(1, rounds), **lgb_params
        )
        with warnings.catch_warnings():  # each worker's threads are its own, as they should be
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
            model.fit(
                matrix,
                rows["late"].astype("int64"),
                sample_weight=sample_weight,
                categorical_feature=encoder.categorical_indices(),
            )
        return model.booster_

    def early_stopped_rounds(
        self, train: dd.DataFrame, valid: pd.DataFrame, encoder: FeatureEncoder, params: TrainParams
    ) -> int:
        booster = self.boost(train, encoder, params, params.n_estimators)
        curve = validation_curve(booster, encoder.transform(valid), labels(valid), weights(valid))
        return early_stopping_round(curve, params.early_stopping_rounds)

    def raw_scores(
        self, booster: lgb.Booster, encoder: FeatureEncoder, rows: dd.DataFrame
    ) -> np.ndarray:
        def score(part: pd.DataFrame) -> pd.Series:
            return pd.Series(raw_scores(booster, encoder, part), index=part.index)

        return rows.map_partitions(score, meta=("raw", "float64")).compute().to_numpy()

    def in_memory(self, rows: dd.DataFrame) -> pd.DataFrame:
        return rows.compute().reset_index(drop=True)

    def sample(self, rows: dd.DataFrame, at_most: int) -> pd.DataFrame:
        """A uniform sample of about ``at_most`` rows (all of them when there are fewer)."""
        share = at_most / max(self.count(rows), 1)
        chosen = rows if share >= 1 else rows.sample(frac=share, random_state=0)
        return chosen.compute().reset_index(drop=True)


def train_on_dask(
    ledger: Ledger,
    client: Client,
    *,
    as_of: pd.Timestamp | None = None,
    test_from: pd.Timestamp | None = None,
    valid_from: pd.Timestamp | None = None,
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
    folds: int = 1,
    n_buckets: int | None = None,
) -> TrainingResult:
    """:func:`models.training.train.train_on_ledger` on ``client``'s cluster: the training set
    built partition by partition (customers partitioned by bucket), kept on the workers, and
    the boosters grown there.

    Args:
        n_buckets: customer partitions [default: :func:`features.distributed.default_buckets`].
    """
    engine = DaskEngine(client)
    buckets = n_buckets or cluster_buckets(client, len(ledger.invoices))

    def frame_at(day: pd.Timestamp) -> dd.DataFrame:
        lazy = ledger_features_on_dask(
            ledger,
            day,
            n_buckets=buckets,
            grace_days=grace_days,
            snapshots=params.snapshots,
        )
        return lazy.map_partitions(fully_matured, day, grace_days).persist()

    return train_on_frames(
        ledger, frame_at, engine, as_of, test_from, valid_from, params, grace_days, folds
    )
