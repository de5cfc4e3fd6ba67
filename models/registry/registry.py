"""MLflow runs and the model registry: log a training run, register it, move the aliases."""

from __future__ import annotations

from dataclasses import asdict

import mlflow
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from features.catalogue import CATALOGUE_VERSION
from models.model import LatePaymentModel
from models.registry.aliases import CHALLENGER, CHAMPION
from models.registry.artifact import LatePaymentPyfunc, pip_requirements, unwrap
from models.registry.promotion import Decision
from models.registry.tracking import MODEL_NAME, git_commit, package_versions
from models.training import plots
from models.training.fit import TrainParams
from models.training.metrics import evaluate
from models.training.train import MODEL_KEY, TrainingResult


def flat_metrics(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    return {
        f"test.{scorer}.{name}": value
        for scorer, values in metrics.items()
        for name, value in values.items()
    }


def training_figures(result: TrainingResult) -> dict[str, Figure]:
    y = result.test["late"].astype(int).to_numpy()
    amount = result.test["amount"].to_numpy("float64")
    importance = pd.Series(
        result.model.booster.feature_importance("gain"), index=result.model.features
    )
    from models.explain.figures import shap_figures

    return {
        **shap_figures(result.model, result.test),  # type: ignore[dict-item]
        "plots/roc.png": plots.roc_figure(y, result.test_scores),
        "plots/precision_recall.png": plots.pr_figure(y, result.test_scores),
        "plots/calibration.png": plots.calibration_figure(y, result.test_scores),
        "plots/gains_amount.png": plots.gains_figure(y, amount, result.test_scores),
        "plots/feature_importance.png": plots.importance_figure(importance),
    }


def log_training_run(
    result: TrainingResult,
    *,
    params: TrainParams,
    data_fingerprint: str,
    extra_figures: dict[str, Figure] | None = None,
) -> tuple[str, str]:
    """Log params, metrics, plots and the pyfunc model in the active run; register it.

    Returns:
        (run id, registered model version)
    """
    import matplotlib.pyplot as plt

    run = mlflow.active_run()
    assert run is not None, "call inside mlflow.start_run()"
    mlflow.log_params(
        {
            **{f"model.{k}": v for k, v in asdict(params).items()},
            **{f"window.{k}": v for k, v in result.split.as_dict().items()},
            "grace_days": result.model.grace_days,
            "features": len(result.model.features),
            "catalogue_version": CATALOGUE_VERSION,
            "calibration": result.model.calibrator.method,
            "best_iteration": result.model.booster.current_iteration(),
        }
    )
    mlflow.log_metrics(flat_metrics(result.metrics))
    mlflow.log_metrics({f"rows.{k}": v for k, v in result.counts.items()})
    mlflow.set_tags(
        {
            "data_fingerprint": data_fingerprint,
            "git_commit": git_commit(),
            "catalogue_version": CATALOGUE_VERSION,
            **package_versions(),
            **{f"window.{k}": v for k, v in result.split.as_dict().items()},
        }
    )
    for path, figure in {**training_figures(result), **(extra_figures or {})}.items():
        mlflow.log_figure(figure, path)
        plt.close(figure)
    mlflow.log_dict(
        {"metrics": result.metrics, "counts": result.counts, "split": result.split.as_dict()},
        "metrics.json",
    )
    example = result.test[result.model.features].head(5).reset_index(drop=True)
    output = LatePaymentPyfunc(result.model).predict(None, example)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=LatePaymentPyfunc(result.model),
        signature=infer_signature(example, output),
        input_example=example,
        pip_requirements=pip_requirements(),
        registered_model_name=MODEL_NAME,
    )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)
    client.set_model_version_tag(
        MODEL_NAME, version, "test_roc_auc", f"{result.metrics[MODEL_KEY]['roc_auc']:.4f}"
    )
    return run.info.run_id, version


def champion_version(client: MlflowClient | None = None) -> str | None:
    client = client or MlflowClient()
    try:
        return str(client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except MlflowException:
        return None


def load_model(alias_or_version: str = CHAMPION) -> tuple[LatePaymentModel, str]:
    """Load the registered model by alias (``champion``) or version number."""
    uri = (
        f"models:/{MODEL_NAME}/{alias_or_version}"
        if alias_or_version.isdigit()
        else f"models:/{MODEL_NAME}@{alias_or_version}"
    )
    pyfunc_model = mlflow.pyfunc.load_model(uri)
    version = alias_or_version
    if not alias_or_version.isdigit():
        version = str(
            MlflowClient().get_model_version_by_alias(MODEL_NAME, alias_or_version).version
        )
    return unwrap(pyfunc_model), version


def champion_metrics_on(test: pd.DataFrame) -> dict[str, float] | None:
    """The current champion's test metrics on the challenger's test rows (None if no champion)."""
    if champion_version() is None:
        return None
    model, _ = load_model(CHAMPION)
    y = test["late"].astype(int).to_numpy()
    p: np.ndarray = model.predict_proba(test)
    return evaluate(y, p, test["amount"].to_numpy("float64"))


def apply_decision(version: str, decision: Decision, run_id: str | None = None) -> None:
    """Record the decision on the model version (and run); move ``champion`` when promoting."""
    client = MlflowClient()
    client.set_model_version_tag(
        MODEL_NAME,
        version,
        "promotion_decision",
        "promoted" if decision.promote else "kept as challenger",
    )
    client.set_model_version_tag(MODEL_NAME, version, "promotion_reason", decision.reason)
    if run_id is not None:
        client.set_tag(run_id, "promotion_decision", "promoted" if decision.promote else "rejected")
        client.set_tag(run_id, "promotion_reason", decision.reason)
    if decision.promote:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)


def promote_by_hand(version: str, reason: str) -> None:
    """Manual override: make ``version`` the champion and record why."""
    client = MlflowClient()
    client.get_model_version(MODEL_NAME, version)  # raises if unknown
    apply_decision(version, Decision(True, f"manual: {reason}"))
