"""Model tests on trained models: the quality the product promises on the shipped and synthetic data.

The floors guard what the model reaches today (see the README's model section for the figures):
out of time, on the test window's snapshot rows, each invoice weighing 1. They judge the
evaluation, so the refit on every matured row (two thirds of a training's time) is not run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.training.fit import LOCAL, TrainParams
from models.training.train import MODEL_KEY, Evaluation, evaluate_on_frames, ledger_frames

pytestmark = pytest.mark.slow


def _evaluated(ledger: Ledger, test_from: pd.Timestamp | None = None) -> Evaluation:
    """The out-of-time evaluation ``precollect train`` makes before its refit."""
    frames = ledger_frames(ledger, TrainParams(), grace_days=0)
    return evaluate_on_frames(ledger, frames, LOCAL, test_from=test_from).evaluation


def _baselines(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    return {name: m["roc_auc"] for name, m in metrics.items() if name != MODEL_KEY}


def test_ibm_sample_model_beats_every_baseline_out_of_time(ibm_ledger: Ledger) -> None:
    result = _evaluated(ibm_ledger, test_from=pd.Timestamp("2013-07-01"))
    model = result.metrics[MODEL_KEY]
    assert model["roc_auc"] >= 0.91 and model["ece"] <= 0.06, model
    assert all(model["roc_auc"] > other for other in _baselines(result.metrics).values())


def test_synthetic_model_beats_logistic_regression_beyond_noise(tmp_path: Path) -> None:
    """Three seeds: the model's ROC-AUC margin over logistic regression, on the same test rows,
    is positive every time and larger than twice its spread across the seeds."""
    from precollect.synth import generate_ledger

    margins = []
    for seed in (7, 8, 9):
        folder = tmp_path / str(seed)
        generate_ledger(folder, n_customers=300, n_invoices=20_000, seed=seed)
        result = _evaluated(load_ledger(folder))
        model = result.metrics[MODEL_KEY]
        assert all(model["roc_auc"] > other for other in _baselines(result.metrics).values())
        assert model["late_amount_top10"] >= 2 * model["late_amount_top10_by_amount"]
        margins.append(model["roc_auc"] - result.metrics["logistic_regression"]["roc_auc"])
    assert min(margins) > 0 and np.mean(margins) > 2 * np.std(margins), margins
