"""The ``monitor`` flow's body: the daily check of the champion, thin steps around
:mod:`models.monitoring`.

Read the ledger (the quarantine counted, not refused: a monitor reports bad rows), load the
champion and its pay-date model, read the stored batches, build the report as of T, log it as
an MLflow run, store it, and start a retrain when an alert of a kind named in
``PRECOLLECT_MONITOR_RETRAIN_ON`` is raised. :func:`run_monitor` runs it as the Prefect flow
``monitor`` when ``PREFECT_API_URL`` is set, and as a plain function otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.monitoring.limits import Thresholds
from models.monitoring.monitor import SCORE_COLUMNS, headline, monitor_at
from models.paydates.hazard import PayDateModel
from models.registry import loading, tracking
from pipelines.runtime import orchestrated, revealed, say, step
from pipelines.score import load_model, load_pay_model
from serving.settings import Settings
from serving.store.store import ScoreStore


@dataclass(frozen=True)
class MonitorRequest:
    ledger: str
    as_of: pd.Timestamp | None = None
    mapping: Path | None = None
    model_alias: str | None = None
    model_name: str | None = None
    out: Path | None = None


@step(retries=2)
def read_ledger(ledger: str, mapping: Path | None) -> tuple[Ledger, dict[str, tuple[int, int]]]:
    """The valid ledger and, per table, (rows read, rows quarantined)."""
    from features.ledger.ingest import ingest

    result = ingest(revealed(ledger), mapping)
    result.ledger.require_invoices()
    counts = {name: (t.rows_in, t.rows_quarantined) for name, t in result.tables.items()}
    return result.ledger, counts


@step(retries=2)
def stored_scores(as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    # the store comes from the settings inside the step: its URL is never a task parameter
    store = ScoreStore.from_settings(Settings())
    store.migrate()
    return store.scored_invoices(as_of - pd.Timedelta(days=days), as_of, SCORE_COLUMNS)


@step()
def build_report(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    scores: pd.DataFrame,
    pay_model: PayDateModel | None,
    quarantine: dict[str, tuple[int, int]],
    limits: Thresholds,
) -> dict[str, Any]:
    return monitor_at(
        ledger,
        as_of,
        model,
        scores=scores,
        pay_model=pay_model,
        quarantine=quarantine,
        limits=limits,
    )


@step()
def log_run(home: Path, report: dict[str, Any], name: str, version: str, ledger: Ledger) -> str:
    experiment = tracking.configure(home)
    with mlflow.start_run(
        experiment_id=experiment, run_name=f"monitor {ledger.name} as of {report['as_of']}"
    ) as run:
        mlflow.set_tags(
            {"kind": "monitor", "model_name": name, "model_version": version, "ledger": ledger.name}
        )
        mlflow.log_param("as_of", report["as_of"])
        mlflow.log_metrics(headline(report))
        mlflow.log_dict(report, "monitor.json")
        return str(run.info.run_id)


@step(retries=2)
def store_report(report: dict[str, Any], version: str) -> None:
    ScoreStore.from_settings(Settings()).write_monitoring(report, version)


def retrain_kinds(report: dict[str, Any], wanted: list[str]) -> list[str]:
    """The alert kinds raised that the settings say start a retrain."""
    return sorted({a["kind"] for a in report["alerts"]} & set(wanted))


def monitor(request: MonitorRequest) -> dict[str, Any]:
    """Build the report as of T, log it to MLflow, store it; retrain when told to."""
    settings = Settings()
    limits = settings.monitor.thresholds()
    ledger, quarantine = read_ledger(request.ledger, request.mapping)
    as_of = pd.Timestamp(request.as_of or ledger.default_as_of()).normalize()
    chosen = request.model_name or settings.model_name
    name = chosen or tracking.model_name(ledger.name)
    alias = request.model_alias or settings.model_alias
    model, version = load_model(settings.home, name, alias)
    loading.check_ledger(model, ledger, by_name=chosen is None)
    pay_model = load_pay_model(settings.home, name, alias)
    scores = stored_scores(as_of, limits.cohort_days)
    report = build_report(ledger, as_of, model, scores, pay_model, quarantine, limits)
    report = {"model": {"name": name, "version": version}, **report}
    run_id = log_run(settings.home, report, name, version, ledger)
    store_report(report, version)
    if request.out is not None:
        request.out.parent.mkdir(parents=True, exist_ok=True)
        request.out.write_text(json.dumps(report, indent=2, allow_nan=False))
    kinds = retrain_kinds(report, settings.monitor.retrain_on)
    retrained = None
    if kinds:
        from pipelines.train import TrainRequest, train

        say(f"alerts {', '.join(kinds)}: retraining")
        summary = train(TrainRequest(ledger=request.ledger, mapping=request.mapping, as_of=as_of))
        retrained = {k: summary[k] for k in ("model_version", "promoted", "promotion_reason")}
    say(f"monitor as of {report['as_of']}: {len(report['alerts'])} alerts")
    return {
        "as_of": report["as_of"],
        "model_name": name,
        "model_version": version,
        "run_id": run_id,
        "alerts": report["alerts"],
        "accounts": len(report["accounts"]),
        "retrained": retrained,
        "report": report,
    }


def run_monitor(request: MonitorRequest) -> dict[str, Any]:
    """The Prefect flow ``monitor`` when a server is configured, else :func:`monitor`."""
    if orchestrated():
        from pipelines.flows import monitor_flow

        return monitor_flow(request)
    return monitor(request)
