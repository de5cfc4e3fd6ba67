"""Helpers of the service tests: keys, where the test model lives, a real uvicorn process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
from mlflow import MlflowClient

from features.ledger.ingest import load_ledger
from models.decisions.playbook import WorklistConfig
from models.paydates.fit import fit_pay_dates_on_ledger
from models.registry import loading, registry, tracking
from models.registry.promotion import Decision
from models.training.fit import TrainParams
from models.training.train import train_on_ledger
from serving.security import peppered_key
from serving.settings import ApiSettings, Settings
from serving.store.publish import score_and_store
from serving.store.store import ScoreStore

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "scorer": "scorer-key-0123456789abcdefgh",
    "viewer": "viewer-key-0123456789abcdefgh",
    "admin": "admin-key-0123456789abcdefgh",
    "collector": "collector-key-0123456789abcdefgh",
}


PEPPER = "test-pepper-0123456789abcdefghijklmnop"
"""The services under test compare keys by their HMAC under this pepper, as production does."""


def keys_json() -> str:
    return json.dumps(
        [
            {"name": f"{role}-1", "hmac_sha256": peppered_key(key, PEPPER), "role": role}
            for role, key in KEYS.items()
        ]
    )


@dataclass
class Served:
    """Where the test model and store live, and facts about the stored batch."""

    home: Path
    store_url: str
    ledger: Path
    versions: list[str]
    as_of: pd.Timestamp
    account_ids: list[str]
    invoice_ids: list[str]
    customers: list[str] = field(default_factory=list)
    model_name: str = ""

    def registry(self) -> MlflowClient:
        """A client of this home's MLflow store, whatever the process-wide MLflow URI is now."""
        uri = tracking.local_uri(self.home)
        return MlflowClient(tracking_uri=uri, registry_uri=uri)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a service process using this model, store and ledger."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRECOLLECT_")}
        env.pop("MLFLOW_TRACKING_URI", None)
        env.update(
            PRECOLLECT_HOME=str(self.home),
            PRECOLLECT_DATABASE_URL=self.store_url,
            PRECOLLECT_API_KEYS=keys_json(),
            PRECOLLECT_API_KEY_PEPPER=PEPPER,
            PRECOLLECT_API_LEDGER=str(self.ledger),
            PRECOLLECT_API_POLL_SECONDS="0.5",
            PRECOLLECT_API_SESSION_SECRET="s" * 40,
            PRECOLLECT_API_MAX_FAILED_KEYS="100000",  # tests send wrong keys on purpose
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            MPLBACKEND="Agg",
            PYTHONPATH=str(ROOT),
        )
        env.update(extra)
        return env


def build_served(home: Path, ledger_folder: Path, n_versions: int = 2) -> Served:
    """Train and register ``n_versions`` models (1 = champion) and store version 1's batch."""
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    experiment = tracking.configure(home)
    ledger = load_ledger(ledger_folder)
    versions: list[str] = []
    name = tracking.model_name(ledger.name)
    for seed in range(1, n_versions + 1):
        params = TrainParams(seed=seed)
        result = train_on_ledger(ledger, params=params)
        with mlflow.start_run(experiment_id=experiment):
            _, version = registry.log_training_run(result, name=name, params=params, ledger=ledger)
        versions.append(version)
    registry.apply_decision(name, versions[0], Decision(True, "test champion"))
    model, version = loading.load_model(name, "champion")
    as_of = ledger.last_date()
    store_url = f"sqlite:///{home / 'store.db'}"
    pay_model = fit_pay_dates_on_ledger(ledger)
    pay_model.info["version"] = "1"
    published = score_and_store(
        ledger,
        as_of,
        model,
        version,
        ScoreStore(store_url),
        WorklistConfig(capacity=10),
        pay_model=pay_model,
    )
    batch = published.batch
    accounts = batch.accounts.sort_values("amount_at_risk", ascending=False)
    return Served(
        home=home,
        store_url=store_url,
        ledger=ledger_folder,
        versions=versions,
        as_of=pd.Timestamp(as_of),
        account_ids=accounts["customer_id"].astype(str).tolist(),
        invoice_ids=batch.invoices["invoice_id"].astype(str).tolist(),
        customers=ledger.invoices["customer_id"].astype(str).unique().tolist(),
        model_name=name,
    )


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``precollect ARGS`` as a real process with ``env`` (wide output: no wrapped lines)."""
    return subprocess.run(
        [sys.executable, "-c", "from precollect.cli import app; app()", *args],
        env={**env, "COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_service(
    env: dict[str, str], log: Path, workers: int = 1, timeout: float = 120, port: int | None = None
) -> Process:
    """``precollect serve`` on ``port`` (a free one by default); returns once ``/healthz`` answers."""
    port = port or free_port()
    command = [
        sys.executable,
        "-c",
        "from precollect.cli import app; app()",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    handle = log.open("wb")
    proc = subprocess.Popen(  # its own process group: teardown stops the workers with it
        command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _stop_group(proc)
            raise RuntimeError(f"service exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Process(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    _stop_group(proc)
    raise RuntimeError(f"service did not start: {log.read_text()[-3000:]}")


def _stop_group(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM the process group, then SIGKILL what is left: no worker outlives a test."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout)
            os.killpg(proc.pid, 0)  # the parent is gone; are its workers?
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return
        time.sleep(0.5)


def stop_service(process: Process) -> None:
    _stop_group(process.proc)


def headers(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


def settings_for(served: Served, **overrides: Any) -> Settings:
    """The service's settings for the test model; ``overrides`` go to the top level or ``api``."""
    top = {k: overrides.pop(k) for k in list(overrides) if k in Settings.model_fields}
    api: dict[str, Any] = {
        "ledger": str(served.ledger),
        "keys": json.loads(keys_json()),
        "key_pepper": PEPPER,
        "poll_seconds": 3600,
        "max_batch": 50,
        "max_body_bytes": 64 * 1024,
        "max_failed_keys": 100_000,  # tests send wrong keys on purpose
        **overrides,
    }
    return Settings(
        **{"home": served.home, "database_url": served.store_url, **top},
        api=ApiSettings.model_validate(api),
    )
