"""A trained, registered model and one stored batch, shared by the service tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from service_helpers import Process, Served, start_service, stop_service

from features.ingest import load_ledger
from models import registry, tracking
from models.model import TrainParams
from models.promotion import Decision
from models.scoring import score_ledger
from models.training import train_on_ledger
from models.worklist import WorklistConfig, build_worklist
from serving.store import ScoreStore


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, small_synthetic: Path) -> Served:
    """Two registered versions (1 = champion) and version 1's batch in a SQLite store."""
    home = tmp_path_factory.mktemp("service-home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    experiment = tracking.configure(home)
    ledger = load_ledger(small_synthetic)
    versions = []
    for seed in (1, 2):
        params = TrainParams(seed=seed)
        result = train_on_ledger(ledger, params=params)
        with mlflow.start_run(experiment_id=experiment):
            _, version = registry.log_training_run(result, params=params, data_fingerprint="test")
        versions.append(version)
    registry.apply_decision(versions[0], Decision(True, "test champion"))
    model, version = registry.load_model("champion")
    as_of = ledger.last_date()
    batch = score_ledger(ledger, as_of, model, version)
    store_url = f"sqlite:///{home / 'store.db'}"
    store = ScoreStore(store_url)
    store.migrate()
    store.write_batch(
        as_of=batch.as_of,
        model_version=version,
        invoices=batch.invoices,
        accounts=batch.accounts,
        reasons=batch.reasons,
        p_base=batch.p_base,
    )
    work = build_worklist(batch.invoices, batch.accounts, WorklistConfig(capacity=10), as_of=as_of)
    store.write_worklist(batch.as_of, version, work)
    accounts = batch.accounts.sort_values("amount_at_risk_total", ascending=False)
    return Served(
        home=home,
        store_url=store_url,
        ledger=small_synthetic,
        versions=versions,
        as_of=pd.Timestamp(as_of),
        account_ids=accounts["customer_id"].astype(str).tolist(),
        invoice_ids=batch.invoices["invoice_id"].astype(str).tolist(),
        customers=ledger.invoices["customer_id"].astype(str).unique().tolist(),
    )


@pytest.fixture(scope="session")
def service(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One real uvicorn process for the session's HTTP tests."""
    log = tmp_path_factory.mktemp("service-log") / "service.log"
    process = start_service(served.env(), log)
    yield process
    stop_service(process)
