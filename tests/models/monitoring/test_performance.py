"""Estimated and realised performance, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.monitoring.performance import (
    cohort_performance,
    expected_auc,
    expected_capture,
    expected_ece,
)


def test_expected_auc_of_two_invoices() -> None:
    # labels (1, 0) with chance 0.81 give AUC 1, (0, 1) with 0.01 give 0; others have no AUC
    assert expected_auc(np.array([0.9, 0.1])) == pytest.approx(0.81 / 0.82)


def test_expected_auc_ties_count_half() -> None:
    assert expected_auc(np.array([0.5, 0.5, 0.5])) == pytest.approx(0.5)


def test_expected_auc_agrees_with_simulated_labels() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(2, 5, 300)
    draws = [rng.random(300) < p for _ in range(400)]
    simulated = np.mean([roc_auc_score(y, p) for y in draws])
    assert expected_auc(p) == pytest.approx(simulated, abs=0.01)


def test_expected_ece_is_the_sampling_noise() -> None:
    # one bin, 100 invoices at 0.5: sigma = sqrt(100 x 0.25) / 100 = 0.05
    assert expected_ece(np.full(100, 0.5)) == pytest.approx(0.05 * math.sqrt(2 / math.pi))


def test_expected_capture() -> None:
    p = np.array([0.9] + [0.1] * 9)
    assert expected_capture(p, np.ones(10)) == pytest.approx(0.9 / 1.8)  # top 1 of 10


def test_cohorts_realised_once_matured() -> None:
    scores = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2024-01-01"] * 5 + ["2024-01-08"] * 2),
            "invoice_id": ["a", "b", "c", "d", "x", "e", "f"],
            "p_late": [0.8, 0.6, 0.3, 0.1, 1.0, 0.5, 0.5],
            "open_amount": [100.0, 100.0, 100.0, 100.0, 100.0, 10.0, 10.0],
            "risk_band": ["high", "medium", "low", "low", "overdue", "medium", "medium"],
        }
    )
    labels = pd.DataFrame(
        {
            "invoice_id": ["a", "b", "c", "d", "e", "f"],
            "status": ["late", "on_time", "late", "on_time", "late", "unknown"],
            "late": pd.array([True, False, True, False, True, pd.NA], dtype="boolean"),
        }
    )
    first, second = cohort_performance(scores, labels, mature_share=0.95)
    assert first["invoices"] == 4  # the overdue one is not the model's
    assert first["realised"]["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 pairs in order
    assert first["realised"]["late_amount_top10"] == pytest.approx(0.5)  # a of a + c
    assert first["estimated"]["roc_auc"] == pytest.approx(
        expected_auc(np.array([0.8, 0.6, 0.3, 0.1]))
    )
    assert second["matured_share"] == 0.5 and second["realised"] is None
