"""Promotion rules: better, worse, no champion, calibration guard."""

from __future__ import annotations

from models.registry.promotion import PromotionPolicy, decide

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
