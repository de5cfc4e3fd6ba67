"""Backtest mechanics on a small synthetic ledger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.ingest import load_ledger
from models.backtest import run_backtest
from models.training import train_on_ledger

pytestmark = pytest.mark.slow


def test_backtest_reaches_more_with_more_capacity(small_synthetic: Path) -> None:
    ledger = load_ledger(small_synthetic)
    start, end = pd.Timestamp("2025-06-01"), pd.Timestamp("2025-06-20")
    model = train_on_ledger(ledger, as_of=start).model  # known before the replay starts
    small = run_backtest(ledger, start, end, capacity=1, model=model)
    large = run_backtest(ledger, start, end, capacity=1000, model=model)
    for result in (small, large):
        for strategy in ("model", "amount_and_age"):
            share = result.daily[f"share.{strategy}"].to_numpy()
            assert np.all(np.diff(share) >= 0) and 0 <= share[-1] <= 1
    assert small.summary["late_invoices"] > 0
    assert large.summary["share.model"] >= small.summary["share.model"]
    # with unlimited capacity both strategies reach everything reachable, identically
    assert large.summary["reached.model"] == pytest.approx(large.summary["reached.amount_and_age"])


def test_backtest_retrains_on_known_data_only(small_synthetic: Path) -> None:
    ledger = load_ledger(small_synthetic)
    result = run_backtest(
        ledger, pd.Timestamp("2025-06-01"), pd.Timestamp("2025-06-03"), capacity=2, retrain_every=2
    )
    assert len(result.daily) == 3 and result.summary["days"] == 3
