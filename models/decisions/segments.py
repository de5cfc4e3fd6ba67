"""Payer segments: a customer's payment behaviour in one word, from point-in-time features.

The rules, first match wins (features of the catalogue, as of the scoring day):

- ``new``: fewer than 3 invoices settled ever (``settled_count_all``).
- ``deteriorating``: the late share of the last 90 days is at least 20 points above the
  year's (``late_share_trend`` >= 0.20).
- ``recovering``: it is at least 20 points below (``late_share_trend`` <= -0.20).
- ``chronic``: half or more of the invoices settled in the last 365 days were late
  (``late_share_365d`` >= 0.5).
- ``occasional``: at least one in ten was late (``late_share_365d`` >= 0.1).
- ``reliable``: fewer (or no invoice settled in the last year: nothing says otherwise).

The features change only when an invoice settles or leaves a window, and the thresholds are
wide, so an account's segment seldom changes from one day to the next (a test measures it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.decisions.playbook import SEGMENTS

NEW_BELOW_SETTLED = 3
TREND = 0.20
CHRONIC_SHARE = 0.5
OCCASIONAL_SHARE = 0.1
SEGMENT_FEATURES = ("settled_count_all", "late_share_trend", "late_share_365d")


def payer_segments(features: pd.DataFrame) -> np.ndarray:
    """The segment of each feature row (:data:`SEGMENT_FEATURES`; a missing value is taken as
    "nothing known": no settled invoice, no trend, no late share)."""
    known = features.reindex(columns=list(SEGMENT_FEATURES))
    settled, trend, share = (
        np.nan_to_num(known[name].to_numpy("float64", na_value=np.nan)) for name in SEGMENT_FEATURES
    )
    conditions = [
        settled < NEW_BELOW_SETTLED,
        trend >= TREND,
        trend <= -TREND,
        share >= CHRONIC_SHARE,
        share >= OCCASIONAL_SHARE,
    ]
    names = list(SEGMENTS)
    return np.select(conditions, names[:-1], default=names[-1]).astype(object)


def account_segments(features: pd.DataFrame) -> pd.Series:
    """One segment per ``customer_id`` of a feature frame (its history features are the same on
    every open invoice of the customer)."""
    first = features.drop_duplicates("customer_id")
    return pd.Series(payer_segments(first), index=first["customer_id"].to_numpy(), dtype=object)
