"""Payer segments: the documented rules on hand-built rows, and their day-to-day stability."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from features.build import History, scoring_set
from features.ledger.ingest import load_ledger
from models.decisions.segments import account_segments, payer_segments


def test_the_rules_first_match_wins() -> None:
    rows = pd.DataFrame(
        {
            "settled_count_all": [1, 10, 10, 10, 10, 10, 10, np.nan],
            "late_share_trend": [0.5, 0.25, -0.3, 0.0, 0.1, 0.0, np.nan, np.nan],
            "late_share_365d": [0.9, 0.2, 0.6, 0.7, 0.2, 0.05, np.nan, np.nan],
        }
    )
    assert payer_segments(rows).tolist() == [
        "new",
        "deteriorating",
        "recovering",
        "chronic",
        "occasional",
        "reliable",
        "reliable",  # settled before, nothing in the last year: nothing says otherwise
        "new",  # nothing known
    ]
    # a frame without the features: every account is new
    assert payer_segments(pd.DataFrame({"x": [1, 2]})).tolist() == ["new", "new"]


def test_segments_are_stable_from_one_day_to_the_next(small_synthetic: Path) -> None:
    ledger = load_ledger(small_synthetic)
    history = History.from_ledger(ledger, 0)
    days = pd.date_range("2025-05-01", "2025-05-15", freq="D")
    segments = [account_segments(scoring_set(ledger, day, history=history)) for day in days]
    changed = shared = 0
    for before, after in pairwise(segments):
        common = before.index.intersection(after.index)
        shared += len(common)
        changed += int((before[common] != after[common]).sum())
    assert shared > 500
    assert changed / shared < 0.05, f"{changed} of {shared} account-days changed segment"
    assert len(set(segments[-1])) >= 3  # and they do tell customers apart
