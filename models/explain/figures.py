"""Global SHAP plots of a trained model, logged with its training run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.explain.effects import contributions
from models.model import LatePaymentModel


def shap_figures(
    model: LatePaymentModel, frame: pd.DataFrame, max_rows: int = 1000, seed: int = 0
) -> dict[str, object]:
    """Global SHAP plots (beeswarm, mean |SHAP| bar), overall and per segment when known."""
    import matplotlib.pyplot as plt
    import shap

    sample = frame.sample(min(max_rows, len(frame)), random_state=seed) if len(frame) else frame
    figures: dict[str, object] = {}
    slices = {"all": sample}
    if "segment" in sample and sample["segment"].notna().any():
        for segment, part in sample.groupby("segment"):
            if len(part) >= 30:
                slices[f"segment-{segment}"] = part
    for name, part in slices.items():
        values, base = contributions(model, part)
        exp = shap.Explanation(
            values=values,
            base_values=np.full(len(part), base),
            data=model.encoder.transform(part),
            feature_names=model.features,
        )
        for kind, draw in (("beeswarm", shap.plots.beeswarm), ("bar", shap.plots.bar)):
            plt.figure()
            draw(exp, max_display=15, show=False)
            figure = plt.gcf()
            figure.suptitle(f"SHAP {kind} ({name}, log-odds of late)", fontsize=10)
            figures[f"shap/{kind}-{name}.png"] = figure
    return figures
