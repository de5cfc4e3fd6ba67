"""Publishing a scoring run: a date with nothing open is a clear error, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.ledger.errors import LedgerError
from features.ledger.ingest import load_ledger
from models.decisions.playbook import WorklistConfig
from models.training.train import train_on_ledger
from serving.store.publish import score_and_store
from serving.store.store import ScoreStore


def test_a_date_with_no_open_invoice_is_refused_and_stores_nothing(
    small_synthetic: Path, tmp_path: Path
) -> None:
    ledger = load_ledger(small_synthetic)
    trained = train_on_ledger(ledger)
    store = ScoreStore(f"sqlite:///{tmp_path / 'store.db'}")
    before_any = ledger.invoices["issue_date"].min() - pd.Timedelta(days=1)
    with pytest.raises(LedgerError, match="no invoice is open at"):
        score_and_store(ledger, before_any, trained.model, "1", store, WorklistConfig())
    store.migrate()
    assert store.latest_batch() is None
