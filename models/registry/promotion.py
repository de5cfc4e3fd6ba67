"""When a challenger becomes champion: a pure decision, logged with its reason.

A challenger is promoted only when its out-of-time test window is large enough
(``min_test_rows``), it beats the best baseline there (and on the rolling-origin mean when there
are several folds), and it is not worse than the champion measured fairly: on invoices neither
model was trained on, else the two recipes on the same window.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionPolicy:
    auc_margin: float = 0.0
    """The challenger's test ROC-AUC must exceed the champion's by more than this."""
    ece_tolerance: float = 0.02
    """... and its expected calibration error may be worse by at most this."""
    min_test_rows: int = 200
    """Fewer test rows than this say too little to promote on."""


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def floor(
    metrics: dict[str, dict[str, float]],
    test_rows: int,
    policy: PromotionPolicy,
    rolling: dict[str, dict[str, dict[str, float]]] | None = None,
) -> Decision | None:
    """A refusal when the evaluation is too small or a baseline does as well; else ``None``."""
    from models.training.train import MODEL_KEY  # here: settings import this module, light

    if test_rows < policy.min_test_rows:
        return Decision(
            False,
            f"only {test_rows} test rows, fewer than the {policy.min_test_rows} needed to promote "
            "(set a longer test window, or PRECOLLECT_TRAIN_MIN_TEST_ROWS)",
        )
    mine = metrics[MODEL_KEY]["roc_auc"]
    baselines = {k: v["roc_auc"] for k, v in metrics.items() if k != MODEL_KEY}
    best = max(baselines, key=lambda k: baselines[k])
    if mine <= baselines[best]:
        return Decision(
            False, f"does not beat the {best} baseline: ROC-AUC {mine:.4f} vs {baselines[best]:.4f}"
        )
    if rolling is not None and rolling[MODEL_KEY]["roc_auc"]["folds"] > 1:
        mean = rolling[MODEL_KEY]["roc_auc"]["mean"]
        means = {k: v["roc_auc"]["mean"] for k, v in rolling.items() if k != MODEL_KEY}
        top = max(means, key=lambda k: means[k])
        if mean <= means[top]:
            return Decision(
                False,
                f"does not beat the {top} baseline over the rolling folds: mean ROC-AUC "
                f"{mean:.4f} vs {means[top]:.4f}",
            )
    return None


def decide(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    policy: PromotionPolicy,
    where: str = "",
) -> Decision:
    """Compare test metrics measured on the same rows (``where`` says which)."""
    if champion is None:
        return Decision(True, "no champion yet")
    auc_gain = challenger["roc_auc"] - champion["roc_auc"]
    ece_loss = challenger["ece"] - champion["ece"]
    numbers = (
        f"ROC-AUC {challenger['roc_auc']:.4f} vs champion {champion['roc_auc']:.4f}, "
        f"ECE {challenger['ece']:.4f} vs {champion['ece']:.4f}{where}"
    )
    if auc_gain <= policy.auc_margin:
        return Decision(False, f"not better by more than {policy.auc_margin}: {numbers}")
    if ece_loss > policy.ece_tolerance:
        return Decision(False, f"calibration worse by more than {policy.ece_tolerance}: {numbers}")
    return Decision(True, f"better: {numbers}")
