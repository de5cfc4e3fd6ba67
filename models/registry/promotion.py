"""When a challenger becomes champion: a pure decision, logged with its reason."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionPolicy:
    auc_margin: float = 0.0
    """The challenger's test ROC-AUC must exceed the champion's by more than this."""
    ece_tolerance: float = 0.02
    """... and its expected calibration error may be worse by at most this."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide(
    challenger: dict[str, float], champion: dict[str, float] | None, policy: PromotionPolicy
) -> Decision:
    """Compare test metrics measured on the same window."""
    if champion is None:
        return Decision(True, "no champion yet")
    auc_gain = challenger["roc_auc"] - champion["roc_auc"]
    ece_loss = challenger["ece"] - champion["ece"]
    numbers = (
        f"ROC-AUC {challenger['roc_auc']:.4f} vs champion {champion['roc_auc']:.4f}, "
        f"ECE {challenger['ece']:.4f} vs {champion['ece']:.4f}"
    )
    if auc_gain <= policy.auc_margin:
        return Decision(False, f"not better by more than {policy.auc_margin}: {numbers}")
    if ece_loss > policy.ece_tolerance:
        return Decision(False, f"calibration worse by more than {policy.ece_tolerance}: {numbers}")
    return Decision(True, f"better: {numbers}")
