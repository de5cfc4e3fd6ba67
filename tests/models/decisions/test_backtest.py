"""Backtest mechanics on a small synthetic ledger: the replay runs the product's worklist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.ledger.ingest import load_ledger
from models.decisions.backtest import run_backtest
from models.decisions.playbook import WorklistConfig
from models.training.train import train_on_ledger

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
    assert (small.daily["contacts"] <= 1).all() and small.daily["contacts"].sum() > 0
    assert large.summary["share.model"] > small.summary["share.model"]
    assert large.summary["share.amount_and_age"] >= small.summary["share.amount_and_age"]


def test_backtest_keeps_the_contact_cap(small_synthetic: Path) -> None:
    """The worklist sees the replay's own contacts: no account is called more than the cap."""
    ledger = load_ledger(small_synthetic)
    start, end = pd.Timestamp("2025-06-01"), pd.Timestamp("2025-06-12")
    model = train_on_ledger(ledger, as_of=start).model
    config = WorklistConfig(max_contacts=1, contact_window_days=30)
    capped = run_backtest(ledger, start, end, capacity=3, model=model, config=config)
    free = run_backtest(ledger, start, end, capacity=3, model=model)
    assert (capped.daily["contacts"] <= 3).all() and len(capped.contacts) > 3
    assert capped.contacts["customer_id"].is_unique  # one contact per account in 30 days
    calls = free.contacts.groupby("customer_id").size()
    assert calls.max() > 1  # the default cap (7 in 7 days) lets the same accounts be called again


def test_backtest_retrains_on_known_data_only(small_synthetic: Path) -> None:
    ledger = load_ledger(small_synthetic)
    result = run_backtest(
        ledger, pd.Timestamp("2025-06-01"), pd.Timestamp("2025-06-03"), capacity=2, retrain_every=2
    )
    assert len(result.daily) == 3 and result.summary["days"] == 3
