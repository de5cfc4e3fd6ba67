"""The late-payment model: encoder + LightGBM booster + calibrator, one object end to end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np

from features.catalogue import CATALOGUE_VERSION
from models.calibration import Calibrator
from models.encoding import FeatureEncoder, FeatureTable


@dataclass
class LatePaymentModel:
    """Everything needed to score a feature frame: no caller re-derives any of it."""

    encoder: FeatureEncoder
    booster: lgb.Booster
    calibrator: Calibrator
    catalogue_version: str = CATALOGUE_VERSION
    grace_days: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.encoder.features

    def raw_score(self, frame: FeatureTable) -> np.ndarray:
        """Log-odds of being late, straight from the booster."""
        return raw_scores(self.booster, self.encoder, frame)

    def predict_proba(self, frame: FeatureTable) -> np.ndarray:
        """Calibrated probability of being late."""
        return self.calibrator.predict(self.raw_score(frame))


def raw_scores(booster: lgb.Booster, encoder: FeatureEncoder, frame: FeatureTable) -> np.ndarray:
    """The booster's log-odds of each row; a value training always knew, absent from a row, is
    averaged over the training mix (:meth:`FeatureEncoder.mixture`) instead of read as unknown.
    Training, evaluation and scoring all score through here."""
    mix = encoder.mixture(encoder.transform(frame))
    return mix.collapse(np.asarray(booster.predict(mix.rows, raw_score=True), dtype="float64"))
