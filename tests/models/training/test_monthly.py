"""Monthly statements (consumer and utility receivables): the refit champion scores next month's
statements as well as its own out-of-time test said it would."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.build import scoring_set
from features.labels import UNKNOWN, final_days_late
from features.ledger.ingest import load_ledger
from models.training.train import MODEL_KEY, train_on_ledger

pytestmark = pytest.mark.slow


def test_the_refit_champion_scores_next_month_as_well_as_its_test(tmp_path: Path) -> None:
    from precollect.synth import generate_ledger

    generate_ledger(
        tmp_path,
        n_customers=1500,
        seed=11,
        start=date(2025, 1, 1),
        end=date(2025, 12, 31),
        monthly=True,
    )
    full = load_ledger(tmp_path)
    statements = full.invoices.groupby("customer_id").size()
    assert (
        statements.max() <= 12
        and (full.invoices["due_date"] - full.invoices["issue_date"]).dt.days.eq(25).all()
    )

    trained_at = pd.Timestamp("2025-10-31")  # September's statements have just matured
    result = train_on_ledger(full.known_at(trained_at), as_of=trained_at)
    expected = result.metrics[MODEL_KEY]["roc_auc"]

    scored_at = pd.Timestamp("2025-11-01")  # the start of the next month
    features = scoring_set(full.known_at(scored_at), scored_at)
    ahead = features[features["label_status"] == UNKNOWN].reset_index(drop=True)
    p = result.model.predict_proba(ahead)
    outcome = full.invoices.set_index("invoice_id").loc[ahead["invoice_id"]]
    late = (final_days_late(outcome) > 0) | (
        outcome["paid_date"].isna() & (outcome["due_date"] < full.last_date())
    )
    assert len(ahead) > 500 and 0.05 < late.mean() < 0.6
    achieved = roc_auc_score(late.to_numpy(dtype=int), p)
    assert achieved >= expected - 0.01, (achieved, expected)
    assert np.isfinite(p).all()
