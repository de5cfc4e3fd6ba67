"""Risk bands: the words a probability of paying late is shown in."""

from __future__ import annotations

import numpy as np

BANDS = ("low", "medium", "high")
BAND_FLOORS = (0.0, 0.3, 0.6)
"""Lower bound of p_late of each band."""
OVERDUE = "overdue"
"""The band of an invoice already past due (+ grace): late by definition."""


def risk_band(p: np.ndarray) -> np.ndarray:
    """The band of each probability."""
    names = np.array(BANDS, dtype=object)
    return names[np.searchsorted(np.array(BAND_FLOORS), p, side="right") - 1]
