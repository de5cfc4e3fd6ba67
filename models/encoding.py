"""Turn feature frames into the model's matrix: fixed column order, categories as codes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from features.catalogue import describe

MAX_CATEGORIES = 50


@dataclass
class FeatureEncoder:
    """Estimator-style encoder; ``fit`` learns the categories seen in training.

    Unknown or missing categories become NaN, which LightGBM treats as missing.
    """

    features: list[str]
    max_categories: int = MAX_CATEGORIES
    categories_: dict[str, list[str]] = field(default_factory=dict, init=False)

    @property
    def categorical(self) -> list[str]:
        return [f for f in self.features if describe(f).kind == "categorical"]

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        self.categories_ = {}
        for name in self.categorical:
            counts = frame[name].astype("string").value_counts()
            self.categories_[name] = sorted(counts.index[: self.max_categories].tolist())
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The float matrix in ``features`` order."""
        if not self.categories_ and self.categorical:
            raise NotFittedError("FeatureEncoder is not fitted; call fit first")
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise KeyError(f"feature frame lacks columns {missing}")
        out = np.empty((len(frame), len(self.features)), dtype="float64")
        for i, name in enumerate(self.features):
            if name in self.categories_:
                codes = pd.Index(self.categories_[name]).get_indexer(frame[name].astype("string"))
                out[:, i] = np.where(codes >= 0, codes, np.nan)
            else:
                out[:, i] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                    "float64", na_value=np.nan
                )
        return out

    def categorical_indices(self) -> list[int]:
        return [self.features.index(name) for name in self.categories_]

    def decode(self, name: str, code: float) -> str | float:
        """The category behind a code, for explanations."""
        if name not in self.categories_ or np.isnan(code):
            return code
        return self.categories_[name][int(code)]
