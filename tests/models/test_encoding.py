"""The encoder on hand-built frames: same matrix as a column-by-column reference, any dtype."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from models.encoding import FeatureEncoder

FEATURES = ["amount", "late_count_90d", "disputed", "segment", "channel", "extra_text"]


def _reference(encoder: FeatureEncoder, frame: pd.DataFrame) -> np.ndarray:
    """The straightforward per-column encoding the vectorised one must reproduce."""
    out = np.empty((len(frame), len(encoder.features)))
    for i, name in enumerate(encoder.features):
        if name in encoder.categories_:
            codes = pd.Index(encoder.categories_[name]).get_indexer(frame[name].astype("string"))
            out[:, i] = np.where(codes >= 0, codes, np.nan)
        else:
            out[:, i] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                "float64", na_value=np.nan
            )
    return out


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [100.0, np.nan, 3.5, 7.0],
            "late_count_90d": pd.array([1, None, 3, 0], dtype="Int64"),
            "disputed": [True, False, True, False],
            "segment": pd.array(["smb", None, "enterprise", "new"], dtype="string"),
            "channel": pd.Series(["web", "email", 3, None], dtype=object),
            "extra_text": pd.Series(["1.5", "x", None, 2], dtype=object),
        }
    )


def test_transform_equals_the_column_by_column_reference() -> None:
    train = _frame().iloc[[0, 2]]
    encoder = FeatureEncoder(FEATURES).fit(train)
    frame = _frame()
    got = encoder.transform(frame)
    np.testing.assert_array_equal(got, _reference(encoder, frame))
    assert np.isnan(got[1, 3]) and np.isnan(got[3, 3])  # missing and unseen segment
    np.testing.assert_array_equal(encoder.transform(frame.iloc[[2]]), got[[2]])
    assert encoder.transform(frame.iloc[:0]).shape == (0, len(FEATURES))


def test_encoder_pickled_before_the_lookups_still_transforms() -> None:
    encoder = FeatureEncoder(FEATURES).fit(_frame())
    expected = encoder.transform(_frame())
    old = pickle.loads(pickle.dumps(encoder))
    del old.__dict__["codes_"]
    np.testing.assert_array_equal(old.transform(_frame()), expected)


def test_unfitted_and_incomplete_frames_are_refused() -> None:
    with pytest.raises(NotFittedError):
        FeatureEncoder(FEATURES).transform(_frame())
    encoder = FeatureEncoder(FEATURES).fit(_frame())
    with pytest.raises(KeyError, match="amount"):
        encoder.transform(_frame().drop(columns=["amount"]))
