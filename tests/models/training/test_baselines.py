"""The traditional baseline keeps its own order once calibrated, so its metrics are not a constant's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from features.ledger.ingest import load_ledger
from models.training.baselines import TIE_BREAK, IsotonicScorer, amount_and_age
from models.training.fit import TrainParams
from models.training.train import prepare_training_frame


def test_a_score_ranking_late_invoices_last_keeps_its_order() -> None:
    """Hand-built: lateness falls with the score; isotonic alone would be one constant (0.50)."""
    rng = np.random.default_rng(0)
    score = rng.lognormal(8, 1, 4000)
    late = rng.random(4000) < 1 / (1 + score / np.median(score))
    frame = pd.DataFrame({"s": score, "late": late})
    valid, test = frame.iloc[:2000], frame.iloc[2000:]
    scorer = IsotonicScorer(lambda f: f["s"].to_numpy()).fit(valid)
    p = scorer.predict_proba(test)
    assert np.ptp(scorer.isotonic_.predict(test["s"])) == 0  # type: ignore[union-attr]
    assert roc_auc_score(test["late"], p) == roc_auc_score(test["late"], test["s"]) < 0.45
    flat = scorer.isotonic_.predict(test["s"])  # type: ignore[union-attr]
    assert (
        abs(brier_score_loss(test["late"], p) - brier_score_loss(test["late"], flat))
        < 2 * TIE_BREAK
    )


def test_amount_and_age_on_a_synthetic_ledger_is_measured_not_flattened(
    small_synthetic: Path,
) -> None:
    ledger = load_ledger(small_synthetic)
    frame = prepare_training_frame(
        ledger, ledger.default_as_of(), snapshots=TrainParams().snapshots
    )
    frame = frame.sort_values("issue_date")
    valid, test = frame.iloc[: len(frame) // 2], frame.iloc[len(frame) // 2 :]
    p = IsotonicScorer(amount_and_age).fit(valid).predict_proba(test)
    raw = roc_auc_score(test["late"].astype(int), amount_and_age(test))
    assert roc_auc_score(test["late"].astype(int), p) == raw
    assert len(np.unique(p)) > 100
