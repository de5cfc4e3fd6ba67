"""MLflow runs and the model registry: log a training run with its model card, register it under
its ledger's name, decide its promotion fairly, and move the aliases with compare-and-set."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from features.catalogue import CATALOGUE_VERSION
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.monitoring.reference import INFO_KEY, build_reference
from models.registry.aliases import CHALLENGER, CHAMPION
from models.registry.artifact import LatePaymentPyfunc, pip_requirements
from models.registry.card import model_card, model_card_markdown
from models.registry.loading import alias_version, ledger_facts, load_model
from models.registry.promotion import Decision, PromotionPolicy, decide, floor
from models.registry.tracking import git_commit, package_versions
from models.training.fit import TrainParams, weights
from models.training.metrics import evaluate
from models.training.train import MODEL_KEY, TrainingResult, evaluate_recipe

if TYPE_CHECKING:  # matplotlib is imported only where figures are drawn
    from matplotlib.figure import Figure


def flat_metrics(metrics: dict[str, dict[str, float]], prefix: str = "test") -> dict[str, float]:
    return {
        f"{prefix}.{scorer}.{name}": value
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
    from models.training import plots

    figures: dict[str, Figure] = {
        **shap_figures(result.model, result.test),  # type: ignore[dict-item]
        "plots/roc.png": plots.roc_figure(y, result.test_scores),
        "plots/precision_recall.png": plots.pr_figure(y, result.test_scores),
        "plots/calibration.png": plots.calibration_figure(y, result.test_scores),
        "plots/gains_amount.png": plots.gains_figure(y, amount, result.test_scores),
        "plots/feature_importance.png": plots.importance_figure(importance),
    }
    if len(result.folds) > 1:
        figures["plots/rolling_origin.png"] = plots.rolling_figure(result.folds)
    return figures


def synthetic_example(frame: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """Rows with ``frame``'s columns and dtypes and made-up values, for MLflow's input example:
    no ledger row is logged with the model."""
    out: dict[str, Any] = {}
    for name, column in frame.items():
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels = list(column.cat.categories)
            picked = [levels[i % len(levels)] if levels else None for i in range(rows)]
            out[str(name)] = pd.Categorical(picked, categories=column.cat.categories)
        elif pd.api.types.is_bool_dtype(column.dtype):
            out[str(name)] = pd.Series([i % 2 == 0 for i in range(rows)], dtype=column.dtype)
        elif pd.api.types.is_numeric_dtype(column.dtype):
            out[str(name)] = pd.Series(range(rows), dtype=column.dtype)
        elif pd.api.types.is_datetime64_any_dtype(column.dtype):
            days = pd.to_timedelta(range(rows), unit="D")
            out[str(name)] = pd.Series(pd.Timestamp("2000-01-01") + days).astype(column.dtype)
        else:
            out[str(name)] = pd.Series([f"example-{i}" for i in range(rows)], dtype=column.dtype)
    return pd.DataFrame(out, columns=frame.columns)


def log_figures(figures: Mapping[str, Figure]) -> None:
    """Log figures to the active run as PNGs (by artifact path), and close them."""
    import matplotlib.pyplot as plt

    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plt.close(figure)


def log_training_run(
    result: TrainingResult,
    *,
    name: str,
    params: TrainParams,
    ledger: Ledger,
    extra_figures: dict[str, Figure] | None = None,
) -> tuple[str, str]:
    """Log params, metrics, plots, the model card, the monitoring reference and the pyfunc
    model in the active run; register it as the challenger of ``name``.

    The reference (:mod:`models.monitoring.reference`) goes inside the model, so a monitor
    finds it with the champion, and beside it as ``reference.json``; models logged before
    references existed load as before, without one.

    Returns:
        (run id, registered model version)
    """
    run = mlflow.active_run()
    assert run is not None, "call inside mlflow.start_run()"
    result.model.info.update({"ledger": ledger_facts(ledger), "params": asdict(params)})
    if INFO_KEY not in result.model.info:
        result.model.info[INFO_KEY] = build_reference(ledger, result.model, result.split.as_of)
    refit = result.model.info
    mlflow.log_params(
        {
            **{f"model.{k}": v for k, v in asdict(params).items()},
            **{f"window.{k}": v for k, v in result.split.as_dict().items()},
            "grace_days": result.model.grace_days,
            "features": len(result.model.features),
            "catalogue_version": CATALOGUE_VERSION,
            "calibration": result.model.calibrator.method,
            "best_iteration": result.model.booster.current_iteration(),
            "ledger": ledger.name,
        }
    )
    mlflow.log_metrics(flat_metrics(result.metrics))
    mlflow.log_metrics({f"rows.{k}": v for k, v in result.counts.items()})
    mlflow.log_metrics({"rows.refit": float(refit["rows"]), "folds": float(len(result.folds))})
    rolling = result.rolling()
    mlflow.log_metrics(
        {
            f"rolling.{scorer}.{metric}.{stat}": value
            for scorer, metrics in rolling.items()
            for metric, stats in metrics.items()
            for stat, value in stats.items()
            if metric in ("roc_auc", "ece", "pr_auc", "brier")
        }
    )
    mlflow.set_tags(
        {
            "data_fingerprint": ledger.fingerprint(),
            "ledger": str(ledger.name),
            "git_commit": git_commit(),
            "catalogue_version": CATALOGUE_VERSION,
            **package_versions(),
            **{f"window.{k}": v for k, v in result.split.as_dict().items()},
        }
    )
    log_figures({**training_figures(result), **(extra_figures or {})})
    card = model_card(result, name=name, params=params, ledger=ledger_facts(ledger))
    mlflow.log_dict(card, "model_card.json")
    mlflow.log_text(model_card_markdown(card), "model_card.md")
    mlflow.log_dict(result.model.info[INFO_KEY], "reference.json")
    mlflow.log_dict(
        {
            "metrics": result.metrics,
            "counts": result.counts,
            "split": result.split.as_dict(),
            "rolling": rolling,
        },
        "metrics.json",
    )
    example = synthetic_example(result.test[result.model.features])
    output = LatePaymentPyfunc(result.model).predict(None, example)
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=LatePaymentPyfunc(result.model),
        signature=infer_signature(example, output),
        input_example=example,
        pip_requirements=pip_requirements(),
        registered_model_name=name,
    )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(name, CHALLENGER, version)
    client.set_model_version_tag(
        name, version, "test_roc_auc", f"{result.metrics[MODEL_KEY]['roc_auc']:.4f}"
    )
    return run.info.run_id, version


def fair_comparison(
    result: TrainingResult,
    frame: pd.DataFrame,
    champion: LatePaymentModel,
    policy: PromotionPolicy,
) -> tuple[dict[str, float], dict[str, float], str]:
    """The challenger's and the champion's metrics on rows neither was trained on.

    Those are the challenger's test invoices that had not matured when the champion was
    trained. When there are too few, both recipes are evaluated on the challenger's window: the
    champion's parameters refit on the same training rows.

    Returns:
        (challenger metrics, champion metrics, where they were measured)
    """
    test = result.test
    trained_to = pd.Timestamp(champion.info.get("split", {}).get("as_of", pd.Timestamp.min))
    fresh = (test["due_date"] + pd.Timedelta(days=champion.grace_days) >= trained_to).to_numpy()
    rows = test[fresh]
    y = rows["late"].astype(int).to_numpy()
    if len(rows) >= policy.min_test_rows and 0 < y.mean() < 1:
        amount, w = rows["amount"].to_numpy("float64"), weights(rows)
        mine = evaluate(y, result.test_scores[MODEL_KEY][fresh], amount, w)
        theirs = evaluate(y, champion.predict_proba(rows), amount, w)
        return mine, theirs, f" on {len(rows)} invoices neither model was trained on"
    params = TrainParams(**_params_of(champion))
    recipe = evaluate_recipe(
        frame,
        result.split,
        result.model.features,
        params,
        champion.grace_days,
        tuple(result.model.encoder.extra_categorical),
        result.engine,
    )
    where = f" (both recipes on the test window from {result.split.test_from.date()})"
    return result.metrics[MODEL_KEY], recipe.metrics[MODEL_KEY], where


def _params_of(model: LatePaymentModel) -> dict[str, Any]:
    stored = dict(model.info.get("params") or {})
    if "snapshots" in stored:
        stored["snapshots"] = tuple(stored["snapshots"])
    known = set(TrainParams.__dataclass_fields__)
    return {k: v for k, v in stored.items() if k in known}


def decide_promotion(
    result: TrainingResult, frame: pd.DataFrame, name: str, policy: PromotionPolicy
) -> tuple[Decision, str | None]:
    """Floor, baselines, then the champion compared fairly.

    Returns:
        The decision and the champion version it was compared with (``None``: no champion),
        for the compare-and-set of the alias.
    """
    refused = floor(result.metrics, result.counts["test"], policy, result.rolling())
    current = alias_version(name)
    if refused is not None:
        return refused, current
    if current is None:
        return decide(result.metrics[MODEL_KEY], None, policy), None
    champion, _ = load_model(name, current)
    mine, theirs, where = fair_comparison(result, frame, champion, policy)
    return decide(mine, theirs, policy, where), current


@contextlib.contextmanager
def _alias_lock(name: str) -> Iterator[None]:
    """One alias move at a time on this machine (the registry has no compare-and-set)."""
    uri = mlflow.get_registry_uri() or ""
    key = hashlib.sha256(f"{uri}|{name}".encode()).hexdigest()[:16]
    # in the temporary folder, not beside the registry: no litter in a working folder
    with open(Path(tempfile.gettempdir()) / f".precollect-alias-{key}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apply_decision(
    name: str,
    version: str,
    decision: Decision,
    run_id: str | None = None,
    *,
    expected_champion: str | None = "",
) -> Decision:
    """Record the decision on the version (and run); move ``champion`` when promoting.

    The alias moves only if it still points at ``expected_champion`` (compare-and-set, under a
    lock): of two trainings that decide at once, one promotes and the other stays challenger.
    ``""`` skips the check (a promotion by hand).

    Returns:
        The decision as applied (a promotion can turn into a refusal).
    """
    client = MlflowClient()
    if decision.promote:
        with _alias_lock(name):
            now = alias_version(name, CHAMPION, client)
            if expected_champion != "" and now != expected_champion:
                decision = Decision(
                    False,
                    f"the champion moved to version {now} while this model was evaluated "
                    f"against {expected_champion or 'no champion'}; kept as challenger",
                )
            else:
                client.set_registered_model_alias(name, CHAMPION, version)
    label = "promoted" if decision.promote else "kept as challenger"
    client.set_model_version_tag(name, version, "promotion_decision", label)
    client.set_model_version_tag(name, version, "promotion_reason", decision.reason)
    if run_id is not None:
        client.set_tag(run_id, "promotion_decision", "promoted" if decision.promote else "rejected")
        client.set_tag(run_id, "promotion_reason", decision.reason)
    return decision


def promote_by_hand(name: str, version: str, reason: str) -> None:
    """Manual override: make ``version`` the champion and record why."""
    MlflowClient().get_model_version(name, version)  # raises if unknown
    apply_decision(name, version, Decision(True, f"manual: {reason}"))
