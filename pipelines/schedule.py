"""``precollect schedule``: the flows as Prefect deployments, served by this process.

Score daily, retrain weekly, monitor daily, on cron schedules in the settings' time zone
(``PRECOLLECT_SCHEDULE_*``). The ledger is a deployment parameter only as
:func:`pipelines.runtime.hidden` shows it: Prefect stores parameters, so a URL's password stays
in the environment (``PRECOLLECT_SCHEDULE_LEDGER``) of the serving process and its runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.runtime import hidden
from serving.settings import ScheduleSettings

SCORE_DEPLOYMENT = "daily-score"
TRAIN_DEPLOYMENT = "weekly-train"
MONITOR_DEPLOYMENT = "daily-monitor"


def deployments(ledger: str, mapping: Path | None, schedule: ScheduleSettings) -> list[Any]:
    """The score, retrain and monitor deployments of ``ledger`` (Prefect ``RunnerDeployment``s)."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from pipelines.flows import scheduled_monitor, scheduled_score, scheduled_train

    parameters = {"ledger": hidden(ledger), "mapping": str(mapping) if mapping else None}
    return [
        flow.to_deployment(
            name=name,
            # Prefect 3 refuses to_deployment(timezone=): the zone goes with the schedule
            schedule=Cron(cron, timezone=schedule.timezone),
            parameters=parameters,
            description=description,
            tags=["precollect"],
            # found by module, not by file: works from any folder and an installed package
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for flow, name, cron, description in (
            (scheduled_score, SCORE_DEPLOYMENT, schedule.score_cron, "score the open invoices"),
            (scheduled_train, TRAIN_DEPLOYMENT, schedule.train_cron, "retrain and promote"),
            (
                scheduled_monitor,
                MONITOR_DEPLOYMENT,
                schedule.monitor_cron,
                "monitor drift, quality and performance",
            ),
        )
    ]


def serve_deployments(ledger: str, mapping: Path | None, schedule: ScheduleSettings) -> None:
    """Register the deployments with the Prefect server and run their flow runs until stopped."""
    from prefect import serve

    serve(*deployments(ledger, mapping, schedule), print_starting_message=False)
