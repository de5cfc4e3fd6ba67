"""Model tests on trained models: the quality the product promises on the shipped and synthetic data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.training.train import MODEL_KEY, train_on_ledger

pytestmark = pytest.mark.slow


def _baselines(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    return {name: m["roc_auc"] for name, m in metrics.items() if name != MODEL_KEY}


def test_ibm_sample_model_reaches_090_and_beats_every_baseline(ibm_ledger: Ledger) -> None:
    result = train_on_ledger(ibm_ledger, test_from=pd.Timestamp("2013-07-01"))
    auc = result.metrics[MODEL_KEY]["roc_auc"]
    assert auc >= 0.90
    assert all(auc > other for other in _baselines(result.metrics).values()), result.metrics


def test_synthetic_model_beats_baselines_and_doubles_amount_ranking(tmp_path: Path) -> None:
    from precollect.synth import generate_ledger

    generate_ledger(tmp_path, n_customers=250, n_invoices=20_000, seed=7)
    result = train_on_ledger(load_ledger(tmp_path))
    model = result.metrics[MODEL_KEY]
    assert all(model["roc_auc"] > other for other in _baselines(result.metrics).values())
    assert model["late_amount_top10"] >= 2 * model["late_amount_top10_by_amount"]
