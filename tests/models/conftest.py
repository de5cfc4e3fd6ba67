"""A model trained once on the small synthetic ledger, for the explanation and scoring tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.ledger.ingest import load_ledger
from models.training.train import TrainingResult, train_on_ledger


@pytest.fixture(scope="session")
def trained(small_synthetic: Path) -> TrainingResult:
    return train_on_ledger(load_ledger(small_synthetic))
