"""A value training always knew, absent from a row, is averaged over the training mix, not read
as a "not known" value the booster never saw (issue 21: leaving out ``channel`` moved the score)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.calibration import Calibrator
from models.encoding import FeatureEncoder
from models.explain.effects import explain
from models.model import LatePaymentModel

FEATURES = ["late_share_all", "channel", "segment"]
CHANNELS = {"email": 0.6, "portal": 0.3, "post": 0.1}


def _rows(n: int, seed: int, missing_channel: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(list(CHANNELS), size=n, p=list(CHANNELS.values())).astype(object)
    channel[rng.random(n) < missing_channel] = None
    frame = pd.DataFrame(
        {
            "late_share_all": rng.random(n),
            "channel": pd.array(channel, dtype="string"),
            "segment": pd.array(rng.choice(["smb", "enterprise"], size=n), dtype="string"),
        }
    )
    logit = (
        3 * frame["late_share_all"]
        - 1.5
        + frame["channel"]
        .map({"email": -1.0, "portal": 0.5, "post": 2.0})
        .fillna(3.0)
        .astype(float)
        + np.where(frame["segment"] == "smb", 0.7, -0.7)
    )
    frame["late"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    return frame


def _model(train: pd.DataFrame) -> LatePaymentModel:
    encoder = FeatureEncoder(FEATURES).fit(train)
    data = lgb.Dataset(
        encoder.transform(train),
        train["late"].astype(int),
        feature_name=FEATURES,
        categorical_feature=encoder.categorical_indices(),
    )
    params = {"objective": "binary", "num_leaves": 7, "verbose": -1, "min_data_per_group": 5}
    booster = lgb.train(params, data, num_boost_round=40)
    raw = booster.predict(encoder.transform(train), raw_score=True)
    return LatePaymentModel(
        encoder, booster, Calibrator("sigmoid").fit(raw, train["late"].to_numpy())
    )


def _with(frame: pd.DataFrame, **values: object) -> pd.DataFrame:
    return frame.assign(
        **{k: pd.array([v] * len(frame), dtype="string") for k, v in values.items()}
    )


def test_an_absent_channel_scores_the_share_weighted_mix_of_the_channels() -> None:
    model = _model(_rows(4000, seed=1))
    rows = _rows(5, seed=2)
    encoder = model.encoder
    shares = dict(zip(encoder.categories_["channel"], encoder.shares_["channel"], strict=True))
    assert sum(shares.values()) == pytest.approx(1.0)  # training knew every row's channel
    assert shares["email"] == pytest.approx(0.6, abs=0.03)
    expected = sum(s * model.raw_score(_with(rows, channel=c)) for c, s in shares.items())
    absent = _with(rows, channel=None)
    assert model.raw_score(absent) == pytest.approx(expected, abs=1e-9)
    # the explanation adds up to the same mixed score, and its channel share is the mix's
    explained = explain(model, absent)
    assert explained.raw == pytest.approx(expected, abs=1e-9)
    assert explained.p == pytest.approx(model.predict_proba(absent), abs=1e-12)
    by_channel = {c: explain(model, _with(rows, channel=c)) for c in shares}
    column = FEATURES.index("channel")
    mixed = sum(s * by_channel[c].contributions[:, column] for c, s in shares.items())
    assert explained.contributions[:, column] == pytest.approx(mixed, abs=1e-9)
    # rows that carry a channel are untouched, in any order beside absent ones
    both = pd.concat([absent.iloc[:2], _with(rows.iloc[:2], channel="post")], ignore_index=True)
    scored = model.raw_score(both)
    assert scored[:2] == pytest.approx(expected[:2], abs=1e-9)
    assert scored[2:] == pytest.approx(model.raw_score(_with(rows.iloc[:2], channel="post")))


def test_two_absent_columns_mix_every_combination() -> None:
    model = _model(_rows(4000, seed=3))
    rows = _rows(3, seed=4)
    encoder = model.encoder
    expected = sum(
        sc * ss * model.raw_score(_with(rows, channel=c, segment=g))
        for c, sc in zip(encoder.categories_["channel"], encoder.shares_["channel"], strict=True)
        for g, ss in zip(encoder.categories_["segment"], encoder.shares_["segment"], strict=True)
    )
    assert model.raw_score(_with(rows, channel=None, segment=None)) == pytest.approx(expected)


def test_a_channel_often_missing_in_training_keeps_its_learnt_meaning() -> None:
    model = _model(_rows(4000, seed=5, missing_channel=0.2))
    assert sum(model.encoder.shares_["channel"]) == pytest.approx(0.8, abs=0.03)
    rows = _with(_rows(5, seed=6), channel=None)
    matrix = model.encoder.transform(rows)
    learnt = model.booster.predict(matrix, raw_score=True)
    assert model.raw_score(rows) == pytest.approx(learnt, abs=1e-12)
    assert not model.encoder.mixture(matrix).mixed
