"""The pay-date model: a discrete-time hazard on LightGBM, one training row per invoice and bin
at risk, so open invoices count as censored observations (still unpaid, so far).

Why a hazard: censoring is exact (a censored invoice contributes "not paid in each bin it was
seen through", nothing more), one binary booster gives the whole distribution, and the same
catalogue features, encoder and TreeSHAP serve it as the late-payment model. Accelerated failure
time would need xgboost; quantile models cannot take censored rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.encoding import FeatureEncoder, FeatureTable, Mixture
from models.paydates.distribution import EDGES, INTERPOLATED, cdf_from_hazards

BIN_FEATURES = ("bin_start_days", "bin_days_past_due")
"""Added to the invoice's features on each bin row: days after the as-of date at the bin's
start, and how far past due the invoice is then (payments bunch around the due date)."""
CHUNK = 16_384
"""Invoices per prediction block: each becomes one row per bin."""


def at_risk(days: np.ndarray, paid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (row, bin, paid-in-bin) triples a hazard is trained on.

    A row paid after ``days`` is at risk in every bin up to the one holding its payment, and
    paid in that one; a payment after the horizon leaves it unpaid in every bin. A censored row
    counts only in the bins it was seen through to their end.
    """
    days = np.asarray(days, dtype="float64")
    paid = np.asarray(paid, dtype=bool)
    bins = len(EDGES) - 1
    event_bin = np.searchsorted(EDGES, days, side="left") - 1  # EDGES[k] < days <= EDGES[k+1]
    seen_through = np.searchsorted(EDGES[1:], days, side="right")  # bins ending by ``days``
    count = np.where(paid, np.minimum(event_bin + 1, bins), np.minimum(seen_through, bins))
    rows = np.repeat(np.arange(len(days)), count)
    start = np.repeat(np.cumsum(count) - count, count)
    k = np.arange(len(rows)) - start
    hit = paid[rows] & (k == event_bin[rows])
    return rows, k, hit


def _bin_columns(until_due: np.ndarray, k: np.ndarray) -> np.ndarray:
    """:data:`BIN_FEATURES` of invoices ``until_due`` days from due, seen from bins ``k``."""
    start = EDGES[k]
    return np.stack(np.broadcast_arrays(start, start - until_due), axis=-1)


def _with_bins(matrix: np.ndarray, until_due: np.ndarray, k: np.ndarray) -> np.ndarray:
    return np.hstack([matrix, _bin_columns(until_due, k)])


def bin_tails(until_due: np.ndarray) -> np.ndarray:
    """Per invoice row and bin, the :data:`BIN_FEATURES` the booster's bin row appends,
    ``(n, bins, 2)``: the tails of :func:`models.explain.treeshap.grouped_contrib`."""
    bins = len(EDGES) - 1
    return _bin_columns(np.asarray(until_due, dtype="float64")[:, None], np.arange(bins)[None, :])


@dataclass(frozen=True)
class PayParams:
    seed: int = 0
    num_leaves: int = 15
    learning_rate: float = 0.1
    n_estimators: int = 200
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.7
    max_bin: int = 63
    """Coarser histograms: the hazard has several rows per invoice, and 63 bins fit about as
    well for a quarter of the histogram work."""
    early_stopping_rounds: int = 20
    coverage: float = 0.8
    """The central interval reported: P10 to P90."""

    def lgb_params(self, rows: int) -> dict[str, object]:
        """``rows``: invoice rows (not bin rows), which decide the threads as for the late
        model."""
        from models.training.fit import threads_for

        return {
            "objective": "binary",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "max_bin": self.max_bin,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": threads_for(rows),
            "verbosity": -1,
        }


@dataclass
class PayDateModel:
    """Encoder + hazard booster (+ the conformal widening of its intervals)."""

    encoder: FeatureEncoder
    booster: lgb.Booster
    widen: float = 0.0
    """Split-conformal factor: each P10-P90 interval grows by this many times its width on both
    sides (negative: shrinks), fit on a time-ordered calibration window."""
    info: dict[str, Any] = field(default_factory=dict)
    median_rule: str = INTERPOLATED
    """Where the P50 sits inside its bin (:data:`models.paydates.distribution.MEDIAN_RULES`),
    chosen on the calibration window; models pickled before it read ``interpolated``."""

    @property
    def features(self) -> list[str]:
        return self.encoder.features

    def feature_names(self) -> list[str]:
        return [*self.encoder.features, *BIN_FEATURES]

    def cdf(self, frame: FeatureTable) -> np.ndarray:
        """P(paid by each of :data:`EDGES` days after the as-of date), one row per invoice; an
        always-known value absent from an invoice gives the mixture of its training categories'
        distributions (:meth:`FeatureEncoder.mixture`)."""
        from models.training.fit import threads_for

        mix, until_due = invoice_rows(self, frame)
        bins = len(EDGES) - 1
        hazards = np.empty((len(mix.rows), bins))
        threads = threads_for(len(mix.rows))  # one thread for a request's few invoices
        for a, b, block in bin_rows(mix.rows, until_due):
            predicted = self.booster.predict(block, num_threads=threads)
            hazards[a:b] = np.asarray(predicted).reshape(b - a, bins)
        return mix.collapse(cdf_from_hazards(hazards))


def invoice_rows(model: PayDateModel, frame: FeatureTable) -> tuple[Mixture, np.ndarray]:
    """The invoice rows the booster sees (:meth:`FeatureEncoder.mixture` of the encoded frame)
    and each one's days until due."""
    mix = model.encoder.mixture(model.encoder.transform(frame))
    return mix, np.asarray(frame["days_until_due"], dtype="float64")[mix.owner]


def bin_rows(matrix: np.ndarray, until_due: np.ndarray) -> Iterator[tuple[int, int, np.ndarray]]:
    """The booster's rows for encoded invoice rows (:func:`invoice_rows`), :data:`CHUNK` at a
    time: ``(a, b, block)`` with one row per invoice row ``a..b-1`` and bin, bins varying
    fastest."""
    bins = len(EDGES) - 1
    for a in range(0, len(matrix), CHUNK):
        b = min(a + CHUNK, len(matrix))
        rows = np.repeat(np.arange(a, b), bins)
        k = np.tile(np.arange(bins), b - a)
        yield a, b, _with_bins(matrix[rows], until_due[rows], k)


def hazard_dataset(
    rows: pd.DataFrame, encoder: FeatureEncoder, reference: lgb.Dataset | None = None
) -> lgb.Dataset:
    """One LightGBM row per (invoice row, bin at risk), weighted by the invoice row's weight."""
    r, k, hit = at_risk(rows["days"].to_numpy(), rows["paid"].to_numpy())
    matrix = encoder.transform(rows)
    until_due = rows["days_until_due"].to_numpy("float64")
    weight = rows["weight"].to_numpy("float64") if "weight" in rows else np.ones(len(rows))
    return lgb.Dataset(
        _with_bins(matrix[r], until_due[r], k),
        hit.astype(int),
        weight=weight[r],
        reference=reference,
        feature_name=[*encoder.features, *BIN_FEATURES],
        categorical_feature=encoder.categorical_indices(),
        free_raw_data=False,
    )


def boost_hazard(
    rows: pd.DataFrame, encoder: FeatureEncoder, params: PayParams, rounds: int
) -> lgb.Booster:
    data = hazard_dataset(rows, encoder)
    return lgb.train(params.lgb_params(len(rows)), data, num_boost_round=max(1, rounds))


def early_stopped(
    train: pd.DataFrame, valid: pd.DataFrame, encoder: FeatureEncoder, params: PayParams
) -> lgb.Booster:
    """A booster on ``train`` stopped where the hazard's log-loss on ``valid`` stopped
    improving (``best_iteration``)."""
    data = hazard_dataset(train, encoder)
    booster = lgb.train(
        params.lgb_params(len(train)),
        data,
        num_boost_round=params.n_estimators,
        valid_sets=[hazard_dataset(valid, encoder, reference=data)],
        callbacks=[lgb.early_stopping(params.early_stopping_rounds, verbose=False)],
    )
    return booster
