"""The MLflow artifact: one pyfunc model that scores a feature frame end to end."""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd

from models.model import LatePaymentModel

PIP_PACKAGES = ("lightgbm", "scikit-learn", "pandas", "numpy", "numba", "pandera", "mlflow")


class LatePaymentPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
    """Input: the feature frame (``features.build``); output: raw log-odds and calibrated p_late."""

    def __init__(self, model: LatePaymentModel) -> None:
        self.model = model

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        raw = self.model.raw_score(model_input)
        return pd.DataFrame({"raw_score": raw, "p_late": self.model.calibrator.predict(raw)})


def pip_requirements() -> list[str]:
    """Pinned to the versions installed here, so the artifact can be rebuilt elsewhere."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in PIP_PACKAGES]


def unwrap(pyfunc_model: Any) -> LatePaymentModel:
    """The :class:`LatePaymentModel` inside a loaded pyfunc model."""
    inner = pyfunc_model.unwrap_python_model()
    if not isinstance(inner, LatePaymentPyfunc):
        raise TypeError(f"not a precollect model: {type(inner).__name__}")
    return inner.model
