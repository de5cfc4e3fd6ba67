"""Pay-date backtest plots (logged to MLflow as PNGs beside the pay-date model)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

NAIVE_LABELS = {
    "due_date": "everyone pays on the due date",
    "customer_mean": "each customer at its mean days to pay",
}


def forecast_backtest_figure(as_of: pd.Timestamp, weeks: pd.DataFrame) -> Figure:
    """Weekly collections after ``as_of``: what came in, the forecast with its P10-P90 band,
    and the naive forecasts (``weeks``: from :func:`models.paydates.backtest.backtest_weeks_at`)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(1, len(weeks) + 1)
    ax.fill_between(x, weeks["p10"], weeks["p90"], alpha=0.25, label="forecast P10-P90")
    ax.plot(x, weeks["expected"], marker="o", label="forecast (expected)")
    ax.plot(x, weeks["actual"], marker="s", color="black", label="collected")
    for name, label in NAIVE_LABELS.items():
        if name in weeks:
            ax.plot(x, weeks[name], ls="--", label=label)
    ax.set(
        xlabel=f"week after {pd.Timestamp(as_of).date()}",
        ylabel="collected from the invoices open then",
        title="Cash-in forecast against what came in",
    )
    ax.legend(fontsize=8)
    return fig


def backtest_figures(weeks: dict[pd.Timestamp, pd.DataFrame]) -> dict[str, Figure]:
    """One forecast-versus-actual figure per evaluation date, by artifact path."""
    return {
        f"plots/forecast_vs_actual_{pd.Timestamp(d).date()}.png": forecast_backtest_figure(d, w)
        for d, w in sorted(weeks.items())
    }
