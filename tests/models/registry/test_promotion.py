"""Promotion rules: better, worse, no champion, calibration guard."""

from __future__ import annotations

from models.registry.promotion import PromotionPolicy, decide, floor

POLICY = PromotionPolicy(auc_margin=0.0, ece_tolerance=0.02)


def metrics(auc: float, ece: float) -> dict[str, float]:
    return {"roc_auc": auc, "ece": ece}


def test_no_champion_promotes() -> None:
    assert decide(metrics(0.7, 0.1), None, POLICY).promote


def test_better_auc_and_calibration_promotes() -> None:
    decision = decide(metrics(0.91, 0.03), metrics(0.90, 0.03), POLICY)
    assert decision.promote and "0.9100" in decision.reason


def test_equal_or_worse_auc_is_rejected() -> None:
    assert not decide(metrics(0.90, 0.01), metrics(0.90, 0.03), POLICY).promote
    assert not decide(metrics(0.89, 0.01), metrics(0.90, 0.03), POLICY).promote


def test_margin_is_honoured() -> None:
    policy = PromotionPolicy(auc_margin=0.02)
    assert not decide(metrics(0.91, 0.03), metrics(0.90, 0.03), policy).promote
    assert decide(metrics(0.93, 0.03), metrics(0.90, 0.03), policy).promote


def test_worse_calibration_blocks_promotion() -> None:
    decision = decide(metrics(0.95, 0.08), metrics(0.90, 0.03), POLICY)
    assert not decision.promote and "calibration" in decision.reason


def evaluation(model: float, **baselines: float) -> dict[str, dict[str, float]]:
    return {"model": metrics(model, 0.02), **{k: metrics(v, 0.02) for k, v in baselines.items()}}


def test_the_floor_refuses_a_small_test_window() -> None:
    refused = floor(evaluation(0.9, logistic_regression=0.8), 46, POLICY)
    assert refused is not None and not refused.promote
    assert "46 test rows" in refused.reason and "200" in refused.reason
    lower = PromotionPolicy(min_test_rows=40)
    assert floor(evaluation(0.9, logistic_regression=0.8), 46, lower) is None


def test_the_floor_refuses_a_model_no_better_than_a_baseline() -> None:
    refused = floor(evaluation(0.80, logistic_regression=0.81, prior_late_share=0.7), 500, POLICY)
    assert refused is not None and "logistic_regression" in refused.reason
    rolling = {
        "model": {"roc_auc": {"mean": 0.80, "std": 0.01, "folds": 3.0}},
        "logistic_regression": {"roc_auc": {"mean": 0.82, "std": 0.01, "folds": 3.0}},
    }
    refused = floor(evaluation(0.85, logistic_regression=0.81), 500, POLICY, rolling)
    assert refused is not None and "rolling folds" in refused.reason
    assert floor(evaluation(0.85, logistic_regression=0.81), 500, POLICY) is None
