"""The ``train`` flow's body: thin steps around :mod:`features` and :mod:`models`.

:func:`run_train` runs it as the Prefect flow ``train`` (:mod:`pipelines.flows`) when
``PREFECT_API_URL`` is set, and as a plain function, with no Prefect server, otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from features.ledger.ledger import Ledger
from models.paydates.fit import fit_pay_dates_on_ledger
from models.paydates.hazard import PayDateModel, PayParams
from models.registry import paydates, registry, tracking
from models.registry.promotion import Decision, PromotionPolicy
from models.training.fit import TrainParams
from models.training.train import TrainingResult, train_on_ledger
from pipelines.cluster import current_client, dask_client
from pipelines.runtime import orchestrated, say, step
from pipelines.tasks import load
from serving.settings import Settings


@dataclass(frozen=True)
class TrainRequest:
    """What the user chose for this training; home, grace days and limits come from settings."""

    ledger: str
    mapping: Path | None = None
    as_of: pd.Timestamp | None = None
    test_from: pd.Timestamp | None = None
    valid_from: pd.Timestamp | None = None
    params: TrainParams = field(default_factory=TrainParams)
    tune_trials: int = 0
    folds: int | None = None
    """Rolling-origin folds [default: the settings' (1)]."""
    policy: PromotionPolicy | None = None
    """[default: the settings' promotion policy]"""
    model_name: str | None = None
    """Registered model [default: the ledger's own, precollect-<ledger name>]."""
    dask: str | None = None
    """Dask scheduler address, or ``local`` [default: the settings' (none: in memory)]."""


@step()
def tune_params(
    ledger: Ledger, request: TrainRequest, as_of: pd.Timestamp, grace_days: int
) -> TrainParams:
    from models.training.tuning import tune_on_ledger

    return tune_on_ledger(
        ledger,
        as_of,
        request.test_from,
        request.valid_from,
        request.tune_trials,
        request.params,
        grace_days,
    )


@step()
def fit(
    ledger: Ledger,
    request: TrainRequest,
    params: TrainParams,
    as_of: pd.Timestamp,
    grace_days: int,
    folds: int,
    on_dask: bool = False,
) -> TrainingResult:
    """Train in memory, or on the cluster of the enclosing :func:`pipelines.cluster.dask_client`."""
    windows = {"as_of": as_of, "test_from": request.test_from, "valid_from": request.valid_from}
    if on_dask:
        from models.training.distributed import train_on_dask

        return train_on_dask(
            ledger, current_client(), params=params, grace_days=grace_days, folds=folds, **windows
        )
    return train_on_ledger(ledger, params=params, grace_days=grace_days, folds=folds, **windows)


@step()
def log_and_register(
    result: TrainingResult, name: str, params: TrainParams, ledger: Ledger
) -> tuple[str, str]:
    return registry.log_training_run(result, name=name, params=params, ledger=ledger)


@step()
def promote(
    result: TrainingResult, name: str, version: str, run_id: str, policy: PromotionPolicy
) -> Decision:
    decision, compared_with = registry.decide_promotion(result, result.frame, name, policy)
    return registry.apply_decision(name, version, decision, run_id, expected_champion=compared_with)


@step()
def fit_pay_dates(ledger: Ledger, as_of: pd.Timestamp, grace_days: int) -> PayDateModel:
    return fit_pay_dates_on_ledger(ledger, as_of, PayParams(), grace_days)


@step()
def evaluate_and_register_pay_dates(
    model: PayDateModel, ledger: Ledger, as_of: pd.Timestamp, name: str, example: pd.DataFrame
) -> dict[str, Any]:
    """Judge the recipe out of time, log and register the refit, decide its promotion."""
    params = PayParams()
    evaluation = paydates.evaluate_pay_recipe(ledger, as_of, params)
    run_id, version = paydates.log_pay_dates(
        model, evaluation, name=name, params=params, example=example
    )
    decision = paydates.promote_pay_dates(
        name, version, run_id, evaluation.figures, ledger=ledger, cutoff=as_of, params=params
    )
    return {
        "model_name": paydates.pay_model_name(name),
        "model_version": version,
        "promoted": decision.promote,
        "promotion_reason": decision.reason,
        "evaluation": evaluation.figures,
        "refit": {k: v for k, v in model.info.items() if k != "params"},
    }


def train(request: TrainRequest) -> dict[str, Any]:
    """Load and validate; evaluate out of time (rolling origin); refit on every matured row;
    log, register under the ledger's name and decide the promotion."""
    settings = Settings()
    # the ledger first: a command that fails on its input leaves no MLflow store behind
    ledger = load(request.ledger, request.mapping, settings.max_bad_fraction)
    experiment_id = tracking.configure(settings.home)
    as_of = pd.Timestamp(request.as_of or ledger.default_as_of()).normalize()
    name = request.model_name or settings.model_name or tracking.model_name(ledger.name)
    address = request.dask or settings.dask_address
    with (
        dask_client(address),
        mlflow.start_run(
            experiment_id=experiment_id, run_name=f"train {ledger.name} as of {as_of.date()}"
        ) as run,
    ):
        params = request.params
        if request.tune_trials:
            params = tune_params(ledger, request, as_of, settings.grace_days)
        folds = request.folds or settings.training.folds
        result = fit(
            ledger, request, params, as_of, settings.grace_days, folds, on_dask=bool(address)
        )
        run_id, version = log_and_register(result, name, params, ledger)
        policy = request.policy or settings.training.policy()
        decision = promote(result, name, version, run.info.run_id, policy)
        pay = fit_pay_dates(ledger, as_of, settings.grace_days)
        pay_summary = evaluate_and_register_pay_dates(pay, ledger, as_of, name, result.test)
    verdict = "promoted to champion" if decision.promote else "kept as challenger"
    say(f"{name} version {version}: {verdict} ({decision.reason})")
    pay_verdict = "promoted to champion" if pay_summary["promoted"] else "kept as challenger"
    say(
        f"{pay_summary['model_name']} version {pay_summary['model_version']}: {pay_verdict} "
        f"({pay_summary['promotion_reason']})"
    )
    refit = result.model.info
    return {
        "run_id": run_id,
        "model_name": name,
        "model_version": version,
        "promoted": decision.promote,
        "promotion_reason": decision.reason,
        "split": result.split.as_dict(),
        "counts": result.counts,
        "metrics": result.metrics,
        "refit": {"rows": refit["rows"], "window": refit["window"], "trees": refit["rounds"]},
        "rolling": {
            "folds": [
                {
                    "as_of": str(f.split.as_of.date()),
                    "test_rows": f.counts["test"],
                    "metrics": f.metrics,
                }
                for f in result.folds
            ],
            "summary": result.rolling(),
        },
        "pay_dates": pay_summary,
        "tracking_uri": mlflow.get_tracking_uri(),
    }


def run_train(request: TrainRequest) -> dict[str, Any]:
    """The Prefect flow ``train`` when a server is configured, else :func:`train` directly."""
    if orchestrated():
        from pipelines.flows import train_flow

        return train_flow(request)
    return train(request)
