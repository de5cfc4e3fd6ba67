"""Evaluation plots: each function returns a matplotlib figure (logged to MLflow as a PNG)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from models.training.metrics import late_amount_captured

LABELS = {
    "model": "precollect model",
    "amount_and_age": "amount and age (traditional)",
    "prior_late_share": "prior late share",
    "logistic_regression": "logistic regression",
}


def _label(name: str) -> str:
    return LABELS.get(name, name)


def roc_figure(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in scores.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=_label(name))
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test window")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def pr_figure(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in scores.items():
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=_label(name))
    ax.axhline(y.mean(), ls=":", color="grey", label="late rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, test window")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def calibration_figure(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, p in scores.items():
        observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
        ax.plot(predicted, observed, marker="o", ms=3, label=_label(name))
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect")
    ax.set(
        xlabel="predicted probability of late",
        ylabel="observed share late",
        title="Calibration, test window",
    )
    ax.legend(loc="upper left", fontsize=8)
    return fig


def gains_figure(y: np.ndarray, amount: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    """Share of the late amount reached when contacting the top x % of invoices."""
    shares = np.linspace(0.01, 1, 100)
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, p in scores.items():
        captured = [late_amount_captured(y, amount, p * amount, s) for s in shares]
        ax.plot(shares, captured, label=f"{_label(name)} (by p x amount)")
    by_amount = [late_amount_captured(y, amount, amount, s) for s in shares]
    ax.plot(shares, by_amount, ls="--", color="black", label="by amount only")
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set(
        xlabel="share of invoices contacted",
        ylabel="share of late amount reached",
        title="Amount-weighted gains, test window",
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def importance_figure(importance: pd.Series, top: int = 20) -> Figure:
    data = importance.sort_values(ascending=True).tail(top)
    fig, ax = plt.subplots(figsize=(6.5, 0.3 * len(data) + 1))
    ax.barh(data.index, data.to_numpy())
    ax.set(xlabel="total gain", title="Feature importance (LightGBM gain)")
    fig.tight_layout()
    return fig


def rolling_figure(folds: list[Any]) -> Figure:
    """ROC-AUC of each scorer at each rolling-origin fold (``folds``: evaluations, oldest first)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    days = [fold.split.as_of for fold in folds]
    for name in folds[-1].metrics:
        ax.plot(
            days, [fold.metrics[name]["roc_auc"] for fold in folds], marker="o", label=_label(name)
        )
    ax.set(
        xlabel="as-of date of the fold", ylabel="ROC-AUC on its test window", title="Rolling origin"
    )
    ax.legend(loc="lower left", fontsize=8)
    fig.autofmt_xdate()
    return fig
