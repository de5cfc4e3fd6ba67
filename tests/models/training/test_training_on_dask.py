"""Training on a local Dask cluster gives the in-memory model's quality, by the same recipe."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from distributed import Client
from sklearn.metrics import roc_auc_score

from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.encoding import FeatureEncoder
from models.training.distributed import early_stopping_round, train_on_dask, validation_curve
from models.training.fit import (
    TrainParams,
    early_stopped_rounds,
    labels,
    monotone_constraints,
    weights,
)
from models.training.train import MODEL_KEY, prepare_training_frame, train_on_ledger

SMALL_LEDGER_AUC_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def ledger(small_synthetic: Path) -> Ledger:
    return load_ledger(small_synthetic)


def _rows(ledger: Ledger) -> tuple[pd.DataFrame, pd.DataFrame, FeatureEncoder]:
    rows = prepare_training_frame(ledger, ledger.last_date()).reset_index(drop=True)
    cut = rows["issue_date"].quantile(0.7)
    train, valid = rows[rows["issue_date"] < cut], rows[rows["issue_date"] >= cut]
    features = [
        c for c in ("amount", "late_share_all", "days_to_pay_mean", "terms_days") if c in rows
    ]
    return train, valid, FeatureEncoder(features).fit(train)


def test_the_validation_curve_and_the_stopping_rule_are_lightgbms(ledger: Ledger) -> None:
    train, valid, encoder = _rows(ledger)
    params = TrainParams(n_estimators=150, early_stopping_rounds=10, learning_rate=0.2)
    recorded: dict[str, dict[str, list[float]]] = {}
    lgb_params = params.lgb_params(monotone_constraints(encoder.features), len(train))
    booster = lgb.train(
        lgb_params,
        lgb.Dataset(encoder.transform(train), labels(train), weight=weights(train)),
        num_boost_round=params.n_estimators,
        valid_sets=[lgb.Dataset(encoder.transform(valid), labels(valid), weight=weights(valid))],
        valid_names=["valid"],
        callbacks=[lgb.record_evaluation(recorded)],
    )
    curve = validation_curve(booster, encoder.transform(valid), labels(valid), weights(valid))
    np.testing.assert_allclose(curve, recorded["valid"]["binary_logloss"], rtol=1e-9)
    rule = early_stopping_round(curve, params.early_stopping_rounds)
    stopped = early_stopped_rounds(train, valid, encoder, params)
    assert rule == stopped < params.n_estimators  # it stopped early, where LightGBM stops
    assert early_stopping_round(np.array([3.0, 2.0, 1.0]), 5) == 3  # never stopped: the best


@pytest.mark.slow
def test_dask_training_matches_in_memory_training(ledger: Ledger, dask_client: Client) -> None:
    in_memory = train_on_ledger(ledger)
    on_dask = train_on_dask(ledger, dask_client)
    assert on_dask.split == in_memory.split and on_dask.counts == in_memory.counts
    assert on_dask.model.info["rows"] == in_memory.model.info["rows"]
    assert on_dask.model.info["window"] == in_memory.model.info["window"]
    assert on_dask.model.encoder.categories_ == in_memory.model.encoder.categories_
    assert set(on_dask.metrics) == set(in_memory.metrics)
    # the evaluation: same test rows, the model's AUC within 0.005
    key = ["invoice_id", "as_of"]
    test = in_memory.test[key].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        on_dask.test[key].sort_values(key).reset_index(drop=True),
        test.sort_values(key).reset_index(drop=True),
    )
    # the same recipe, not the same booster: lightgbm.dask trains each worker on the parts it
    # holds, in an order of its own, and bagging draws from those rows. On this 3,000-invoice
    # ledger (in memory: test AUC 0.9216) three runs on one cluster grew 208, 163 and 197 trees
    # (0.9211-0.9217), a fresh clone's run reached 0.9266 and a loaded machine's differed by
    # 0.0077. The 0.005 is measured where a test window is large enough to resolve it,
    # at a million invoices (tests/benchmarks/test_end_to_end_benchmark.py: 0.9322 vs 0.9321)
    auc = {r: res.metrics[MODEL_KEY]["roc_auc"] for r, res in (("m", in_memory), ("d", on_dask))}
    assert abs(auc["m"] - auc["d"]) < SMALL_LEDGER_AUC_TOLERANCE, auc
    # the refit: scored on the same rows, as good and as calibrated
    rows = in_memory.test
    y = rows["late"].astype(int)
    p_memory, p_dask = in_memory.model.predict_proba(rows), on_dask.model.predict_proba(rows)
    assert abs(roc_auc_score(y, p_memory) - roc_auc_score(y, p_dask)) < SMALL_LEDGER_AUC_TOLERANCE
    assert abs(p_memory.mean() - p_dask.mean()) < 0.02
    assert on_dask.model.info["calibration_rows"] == in_memory.model.info["calibration_rows"]
