"""Explanations on a trained model: additivity, equality with shap, consistency, direction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shap

from features.catalogue import describe
from models.explain.effects import explain, probability_effects
from models.explain.reasons import invoice_reasons, sentence, top_reasons
from models.explain.treeshap import grouped_contrib, splits
from models.training.train import TrainingResult


def test_additivity_base_plus_contributions_is_raw_output(trained: TrainingResult) -> None:
    exp = explain(trained.model, trained.test)
    raw = trained.model.raw_score(trained.test)
    np.testing.assert_allclose(exp.base_raw + exp.contributions.sum(axis=1), raw, atol=1e-6)


def test_fast_path_equals_shap_tree_explainer(trained: TrainingResult) -> None:
    exp = explain(trained.model, trained.test)
    matrix = trained.model.encoder.transform(trained.test)
    reference = shap.TreeExplainer(trained.model.booster).shap_values(matrix)
    reference = reference[1] if isinstance(reference, list) else reference
    np.testing.assert_allclose(exp.contributions, reference, atol=1e-6)


def test_probability_effects_reconstruct_the_calibrated_score(trained: TrainingResult) -> None:
    exp = explain(trained.model, trained.test)
    np.testing.assert_allclose(exp.p_base + exp.effects.sum(axis=1), exp.p, atol=1e-9)
    np.testing.assert_allclose(exp.p, trained.model.predict_proba(trained.test), atol=1e-12)
    same_sign = np.sign(exp.effects) * np.sign(exp.contributions) >= 0
    assert same_sign.all()


def test_reasons_are_readable_and_signed(trained: TrainingResult) -> None:
    frame = trained.test.reset_index(drop=True)
    exp = explain(trained.model, frame)
    reasons = invoice_reasons(exp, frame, int(np.argmax(exp.p)))
    assert 1 <= len(reasons) <= 5
    for r in reasons:
        assert r["direction"] == ("raises risk" if float(r["contribution"]) > 0 else "lowers risk")
        assert isinstance(r["text"], str) and "{" not in r["text"] and "nan" not in r["text"]
    assert reasons[0]["direction"] == "raises risk"  # the riskiest invoice's main reason


def test_more_late_history_never_lowers_risk_or_flips_its_reason(trained: TrainingResult) -> None:
    history = [
        f
        for f in trained.model.features
        if f.startswith("late_share_") and describe(f).monotone == 1
    ]
    assert len(history) == 5  # the four windows and the undisputed share
    frame = trained.test.dropna(subset=history).reset_index(drop=True)  # customers with a history
    assert len(frame) > 100
    worse = frame.copy()
    for f in history:
        worse[f] = np.minimum(1.0, worse[f] + 0.3)
    before, after = explain(trained.model, frame), explain(trained.model, worse)
    assert (after.raw >= before.raw - 1e-9).all()
    assert (after.p >= before.p - 1e-9).all()
    idx = [trained.model.features.index(f) for f in history]
    contrib_before = before.contributions[:, idx].sum(axis=1)
    contrib_after = after.contributions[:, idx].sum(axis=1)
    assert (contrib_after >= contrib_before - 1e-9).all()
    raises_before = contrib_before > 0
    assert (contrib_after[raises_before] > 0).all()  # a raising reason never turns into lowering
    assert (after.p > before.p + 1e-6).mean() > 0.1  # the worse history does move many scores


def test_reason_texts_equal_the_row_by_row_sentences(trained: TrainingResult) -> None:
    frame = trained.test.reset_index(drop=True).iloc[:300]
    exp = explain(trained.model, frame)
    reasons = top_reasons(exp, frame)
    for r in reasons.itertuples():
        assert r.text == sentence(str(r.feature), frame.iloc[int(r.row)])
        value = frame.at[int(r.row), str(r.feature)]
        assert (r.value is None) if pd.isna(value) else r.value == value
    one = invoice_reasons(exp, frame, 7)
    mine = reasons[reasons["row"] == 7].drop(columns=["row"]).to_dict("records")
    assert [r["text"] for r in one] == [r["text"] for r in mine]
    np.testing.assert_allclose(
        [r["contribution"] for r in one], [r["contribution"] for r in mine], atol=1e-12
    )


def test_cancelling_contributions_split_the_change_by_share() -> None:
    values = np.array([[0.5, -0.5, 0.0], [1.0, 1.0, -0.5], [0.0, 0.0, 0.0]])
    delta = np.array([0.1, 0.3, 0.0])
    effects = probability_effects(values, delta)
    np.testing.assert_allclose(effects.sum(axis=1), delta, atol=1e-15)
    np.testing.assert_allclose(effects[0], [0.05, 0.05, 0.0])  # by |contribution| share
    np.testing.assert_allclose(effects[1], [0.2, 0.2, -0.1])  # proportional
    assert (effects[2] == 0).all()


def test_grouped_treeshap_equals_lightgbm_on_awkward_values(trained: TrainingResult) -> None:
    booster = trained.model.booster
    matrix = trained.model.encoder.transform(trained.test)
    rng = np.random.default_rng(0)
    matrix[rng.random(matrix.shape) < 0.05] = np.nan
    matrix[rng.random(matrix.shape) < 0.05] = 0.0
    cuts = splits(booster).model
    for f, c in cuts.items():  # on and beside thresholds, near zero, unseen categories
        rows = rng.integers(0, len(matrix), 200)
        t = c.thresholds
        pool = (
            np.append(t, [-1.0, t.max() + 7])
            if c.categorical
            else np.concatenate(
                [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), [0.0, -0.0, 5e-36, -5e-36]]
            )
        )
        matrix[rows, f] = rng.choice(pool, len(rows))
    expected = np.asarray(booster.predict(matrix, pred_contrib=True))
    np.testing.assert_allclose(grouped_contrib(booster, matrix), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grouped_contrib(booster, matrix[:1]), expected[:1], atol=1e-12)
