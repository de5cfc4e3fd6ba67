"""A trained, registered model and one stored batch, shared by the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import Process, Served, build_served, start_service, stop_service


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, small_synthetic: Path) -> Served:
    """Two registered versions (1 = champion) and version 1's batch in a SQLite store."""
    return build_served(tmp_path_factory.mktemp("service-home"), small_synthetic)


@pytest.fixture(scope="session")
def service(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One real uvicorn process for the session's HTTP tests."""
    log = tmp_path_factory.mktemp("service-log") / "service.log"
    process = start_service(served.env(), log)
    yield process
    stop_service(process)


@pytest.fixture(scope="session")
def monitored(served: Served) -> dict:
    """The monitor flow's body run once on the served model: earlier batches stored first (every
    two weeks for two months), then the report as of the served batch's day, in the store."""
    import pandas as pd

    from features.ledger.ingest import load_ledger
    from models.decisions.scoring import score_ledger
    from models.registry import loading, tracking
    from pipelines.monitor import MonitorRequest, monitor
    from serving.store.store import ScoreStore

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.setenv("PRECOLLECT_HOME", str(served.home))
        patch.setenv("PRECOLLECT_DATABASE_URL", served.store_url)
        tracking.configure(served.home)
        model, version = loading.load_model(served.model_name, "champion")
        ledger = load_ledger(served.ledger)
        store = ScoreStore(served.store_url)
        for days in (60, 45, 30, 15):
            day = served.as_of - pd.Timedelta(days=days)
            store.write_scored(score_ledger(ledger, day, model, version))
        return monitor(MonitorRequest(ledger=str(served.ledger), as_of=served.as_of))
