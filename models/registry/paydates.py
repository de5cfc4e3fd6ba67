"""The pay-date model in MLflow: logged in its own nested run beside the late-payment model's,
registered as ``<model name>-paydates`` with its own champion and challenger aliases, and
promoted on its own out-of-time figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from features.build import History
from features.ledger.ledger import Ledger
from models.paydates.backtest import backtest_weeks_at
from models.paydates.distribution import HORIZON
from models.paydates.hazard import PayDateModel, PayParams
from models.paydates.predict import pay_dates
from models.registry.aliases import CHALLENGER, CHAMPION
from models.registry.artifact import pip_requirements
from models.registry.loading import alias_version, load_pyfunc
from models.registry.promotion import Decision
from models.registry.registry import apply_decision, log_figures

COVERAGE_TOLERANCE = 0.05
"""A challenger's P10-P90 coverage may be this much further from 80 % than the champion's."""


def pay_model_name(name: str) -> str:
    return f"{name}-paydates"


class PayDatePyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
    """Input: the feature frame (``features.build``); output: the pay-date columns."""

    def __init__(self, model: PayDateModel) -> None:
        self.model = model

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return pay_dates(self.model, model_input)


EVALUATION_DATES = 3
EVALUATION_EVERY_DAYS = 30
ENOUGH_INVOICES = 500
"""Evaluation dates are added (up to :data:`EVALUATION_DATES`) until this many invoices were
judged: a single date of a small ledger judges too few to read a coverage from."""


def evaluation_dates(ledger: Ledger, cutoff: pd.Timestamp) -> list[pd.Timestamp]:
    """The latest as-of dates (30 days apart) whose open invoices were followed for a whole
    horizon by ``cutoff``; none when the ledger is too short."""
    known = min(pd.Timestamp(cutoff).normalize(), ledger.last_date().normalize())
    last = known - pd.Timedelta(days=HORIZON)
    first = pd.Timestamp(ledger.invoices["issue_date"].min()).normalize()
    days = [last - pd.Timedelta(days=EVALUATION_EVERY_DAYS * k) for k in range(EVALUATION_DATES)]
    return sorted(d for d in days if d > first + pd.Timedelta(days=HORIZON))


def pooled(figures: list[dict[str, float]]) -> dict[str, float]:
    """Figures of several dates as one: each date weighs by the invoices it judged."""
    if not figures:
        return {}
    weight = np.array([f["paid_in_horizon"] for f in figures])
    out = {
        k: float(np.average([f[k] for f in figures], weights=weight))
        for k in figures[0]
        if k not in ("open_invoices", "paid_in_horizon")
    }
    out["open_invoices"] = float(sum(f["open_invoices"] for f in figures))
    out["paid_in_horizon"] = float(weight.sum())
    out["dates"] = float(len(figures))
    return out


@dataclass(frozen=True)
class PayEvaluation:
    """A recipe's out-of-time figures (pooled over dates; empty when the ledger is too short to
    judge) and, per evaluation date, the weeks behind its forecast figures."""

    figures: dict[str, float]
    weeks: dict[pd.Timestamp, pd.DataFrame] = field(default_factory=dict)


def evaluate_pay_recipe(
    ledger: Ledger, cutoff: pd.Timestamp, params: PayParams, history: History | None = None
) -> PayEvaluation:
    """The recipe fit as known at the latest evaluation dates and judged on what followed."""
    history = history or History.from_ledger(ledger)
    figures: list[dict[str, float]] = []
    weeks: dict[pd.Timestamp, pd.DataFrame] = {}
    for day in reversed(evaluation_dates(ledger, cutoff)):  # the latest first
        found, weeks[day] = backtest_weeks_at(ledger, day, history, params)
        figures.append(found)
        if sum(f["paid_in_horizon"] for f in figures) >= ENOUGH_INVOICES:
            break
    return PayEvaluation(pooled(figures), weeks)


def _coverage_error(figures: dict[str, float]) -> float:
    return abs(figures["coverage"] - 0.8)


def decide_pay_promotion(mine: dict[str, float], theirs: dict[str, float] | None) -> Decision:
    """Promote a pay-date model whose evaluation beats the customer-mean baseline and, when
    there is a champion, has a lower pay-date error on the same invoices without an interval
    further from 80 % coverage (by more than :data:`COVERAGE_TOLERANCE`)."""
    if not mine:
        if theirs is None:
            return Decision(True, "no champion yet (the ledger is too short to judge pay dates)")
        return Decision(False, "the ledger is too short to judge pay dates against the champion")
    if mine["mae_model"] >= mine["mae_customer_mean"]:
        return Decision(
            False,
            f"pay-date MAE {mine['mae_model']:.1f} days does not beat the customer-mean "
            f"baseline's {mine['mae_customer_mean']:.1f}",
        )
    covered = f"P10-P90 covered {mine['coverage']:.0%}"
    if theirs is None:
        return Decision(
            True, f"no champion yet; pay-date MAE {mine['mae_model']:.2f} days, {covered}"
        )
    if not theirs:
        return Decision(True, f"the champion cannot be judged on this ledger; {covered}")
    if mine["mae_model"] >= theirs["mae_model"]:
        return Decision(
            False,
            f"not better than the champion's recipe: pay-date MAE {mine['mae_model']:.2f} vs "
            f"{theirs['mae_model']:.2f} days on the same invoices",
        )
    if _coverage_error(mine) > _coverage_error(theirs) + COVERAGE_TOLERANCE:
        return Decision(
            False,
            f"{covered}, against the champion's {theirs['coverage']:.0%}: a less honest interval",
        )
    return Decision(
        True,
        f"pay-date MAE {mine['mae_model']:.2f} vs the champion's {theirs['mae_model']:.2f} days, {covered}",
    )


def log_pay_dates(
    model: PayDateModel,
    evaluation: PayEvaluation,
    *,
    name: str,
    params: PayParams,
    example: pd.DataFrame,
) -> tuple[str, str]:
    """Log and register the pay-date model in a nested run; it becomes the challenger.

    Returns:
        (run id, registered model version)
    """
    from models.paydates.plots import backtest_figures  # matplotlib only where figures are drawn

    registered = pay_model_name(name)
    with mlflow.start_run(run_name="pay dates", nested=True) as run:
        mlflow.log_params({f"paydates.{k}": v for k, v in asdict(params).items()})
        mlflow.log_metrics({f"evaluation.{k}": float(v) for k, v in evaluation.figures.items()})
        log_figures(backtest_figures(evaluation.weeks))
        mlflow.log_metrics(
            {
                f"refit.{k}": float(v)
                for k, v in model.info.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
        )
        mlflow.log_dict({"evaluation": evaluation.figures, "refit": model.info}, "paydates.json")
        sample = example[model.features].head(5).reset_index(drop=True)
        sample = sample.assign(as_of=example["as_of"].head(5).to_numpy())
        # the signature describes the columns; no ledger row is logged as an example
        signature = infer_signature(sample, PayDatePyfunc(model).predict(None, sample))
        info = mlflow.pyfunc.log_model(
            name="paydates",
            python_model=PayDatePyfunc(model),
            signature=signature,
            pip_requirements=pip_requirements(),
            registered_model_name=registered,
        )
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(registered, CHALLENGER, version)
    return run.info.run_id, version


def load_pay_model(name: str, alias_or_version: str = CHAMPION) -> tuple[PayDateModel, str]:
    """The registered pay-date model of late-payment model ``name``."""
    registered = pay_model_name(name)
    version = (
        alias_or_version
        if alias_or_version.isdigit()
        else alias_version(registered, alias_or_version)
    )
    if version is None:
        raise LookupError(f"no pay-date model {registered!r} with alias {alias_or_version!r}")
    inner = load_pyfunc(f"models:/{registered}/{version}").unwrap_python_model()
    if not isinstance(inner, PayDatePyfunc):
        raise TypeError(f"not a precollect pay-date model: {type(inner).__name__}")
    model = replace(inner.model, info={**inner.model.info, "version": version})
    return model, version


def promote_pay_dates(
    name: str,
    version: str,
    run_id: str,
    evaluation: dict[str, float],
    *,
    ledger: Ledger,
    cutoff: pd.Timestamp,
    params: PayParams,
    history: History | None = None,
) -> Decision:
    """Decide against the champion measured fairly, then move the alias (compare-and-set).

    The champion saw rows this evaluation judges on, so its *recipe* (its parameters) is fit
    at the same evaluation date and judged on the same invoices; the same recipe is not better.
    """
    registered = pay_model_name(name)
    current = alias_version(registered, CHAMPION)
    theirs = None
    if current is not None:
        champion, _ = load_pay_model(name, current)
        recipe = PayParams(**champion.info.get("params", {}))
        theirs = (
            evaluation
            if recipe == params
            else evaluate_pay_recipe(ledger, cutoff, recipe, history).figures
        )
    decision = decide_pay_promotion(evaluation, theirs)
    return apply_decision(registered, version, decision, run_id, expected_champion=current)
