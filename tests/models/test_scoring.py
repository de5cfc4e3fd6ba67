"""Scoring helpers on hand-built frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from models.scoring import _reason_summary


def test_reason_summary_is_the_json_of_each_keys_reasons_in_rank_order() -> None:
    reasons = pd.DataFrame(
        {
            "invoice_id": ["b", "a", "b", "a", "c", None],
            "rank": [2, 1, 1, 2, 1, 1],
            "reason": ["dispute", "open balance", "size", "terms", "overdue", "lost"],
            "direction": ["raises risk", "lowers risk", "raises risk", "raises risk", "x", "y"],
            "text": ['says "no"', "ça coûte 1,000", "big", "due in 3 days", "late", "z"],
            "effect": [0.1, -0.25, 1e-17, np.nan, 0.3, 0.0],
        }
    )
    summary = _reason_summary(reasons, "invoice_id")
    assert summary["invoice_id"].tolist() == ["a", "b", "c"]
    assert summary["top_reason"].tolist() == ["ça coûte 1,000", "big", "late"]
    for key, text in zip(summary["invoice_id"], summary["reasons"], strict=True):
        mine = reasons[reasons["invoice_id"] == key].sort_values("rank")
        expected = [
            {
                "reason": r["reason"],
                "direction": r["direction"],
                "text": r["text"],
                "effect": None if np.isnan(r["effect"]) else r["effect"],
            }
            for r in mine.to_dict("records")
        ]
        assert text == json.dumps(expected)
