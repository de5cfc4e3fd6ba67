"""The Prefect flows: the same bodies as the commands, run with a Prefect server.

Inside these flow runs every :func:`pipelines.runtime.step` is a Prefect task with its retries.
Importing this module imports Prefect: only the scheduled runs, ``precollect schedule`` and a
command with ``PREFECT_API_URL`` set do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from pipelines.monitor import MonitorRequest, monitor
from pipelines.score import ScoreRequest, score
from pipelines.train import TrainRequest, train


@flow(name="train", log_prints=True)
def train_flow(request: TrainRequest) -> dict[str, Any]:
    """Load and validate; evaluate out of time; refit; log, register and decide the promotion."""
    return train(request)


@flow(name="score", log_prints=True)
def score_flow(request: ScoreRequest) -> dict[str, Any]:
    """Load and validate, load the model by alias, score and explain, store, build the worklist."""
    return score(request)


@flow(name="score", log_prints=True)
def scheduled_score(ledger: str, mapping: str | None = None) -> dict[str, Any]:
    """The daily deployment's run: score the ledger as of its extraction date with the settings'
    model alias, store the batch, build the worklist (JSON parameters: a location and a file)."""
    summary = score(ScoreRequest(ledger=ledger, mapping=Path(mapping) if mapping else None))
    return {k: v for k, v in summary.items() if k not in ("batch", "worklist")}


@flow(name="train", log_prints=True)
def scheduled_train(ledger: str, mapping: str | None = None) -> dict[str, Any]:
    """The weekly deployment's run: retrain on everything matured, promote when fairly better."""
    summary = train(TrainRequest(ledger=ledger, mapping=Path(mapping) if mapping else None))
    return {k: summary[k] for k in ("run_id", "model_name", "model_version", "promoted")}


@flow(name="monitor", log_prints=True)
def monitor_flow(request: MonitorRequest) -> dict[str, Any]:
    """Drift, data quality, performance and deteriorating accounts as of a day; log and store."""
    return monitor(request)


@flow(name="monitor", log_prints=True)
def scheduled_monitor(ledger: str, mapping: str | None = None) -> dict[str, Any]:
    """The daily deployment's run: monitor the champion as of the ledger's extraction date."""
    summary = monitor(MonitorRequest(ledger=ledger, mapping=Path(mapping) if mapping else None))
    return {k: v for k, v in summary.items() if k != "report"}
