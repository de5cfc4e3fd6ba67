"""The reasons codec on hand-built frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from serving.store.codec import decode_reasons, reason_lists


def test_reason_lists_are_the_json_of_each_keys_reasons_in_rank_order() -> None:
    reasons = pd.DataFrame(
        {
            "key": ["b", "a", "b", "a", "c", None],
            "rank": [2, 1, 1, 2, 1, 1],
            "reason": ["dispute", "open balance", "size", "terms", "overdue", "lost"],
            "direction": ["raises risk", "lowers risk", "raises risk", "raises risk", "x", "y"],
            "text": ['says "no"', "ça coûte 1,000", "big", "due in 3 days", "late", "z"],
            "effect": [0.1, -0.25, 1e-17, np.nan, 0.3, 0.0],
        }
    )
    lists = reason_lists(reasons)
    assert lists.index.tolist() == ["a", "b", "c"]
    for key, text in lists.items():
        mine = reasons[reasons["key"] == key].sort_values("rank")
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
        assert decode_reasons(text) == expected
    assert reason_lists(reasons.iloc[:0]).empty
    assert decode_reasons(None) == [] and decode_reasons("") == []
