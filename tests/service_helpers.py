"""Helpers of the service tests: keys, where the test model lives, a real uvicorn process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd

from serving.security import hash_key

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "scorer": "scorer-key-0123456789",
    "viewer": "viewer-key-0123456789",
    "admin": "admin-key-0123456789",
}


def keys_json() -> str:
    return json.dumps(
        [{"name": f"{role}-1", "sha256": hash_key(key), "role": role} for role, key in KEYS.items()]
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

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a service process using this model, store and ledger."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRECOLLECT_")}
        env.pop("MLFLOW_TRACKING_URI", None)
        env.update(
            PRECOLLECT_HOME=str(self.home),
            PRECOLLECT_DATABASE_URL=self.store_url,
            PRECOLLECT_API_KEYS=keys_json(),
            PRECOLLECT_API_LEDGER=str(self.ledger),
            PRECOLLECT_API_POLL_SECONDS="0.5",
            PRECOLLECT_API_SESSION_SECRET="s" * 40,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            MPLBACKEND="Agg",
            PYTHONPATH=str(ROOT),
            **extra,
        )
        return env


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
    env: dict[str, str], log: Path, workers: int = 1, timeout: float = 120
) -> Process:
    """``precollect serve`` on a free port; returns once ``/healthz`` answers."""
    port = free_port()
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
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Process(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"service did not start: {log.read_text()[-3000:]}")


def stop_service(process: Process) -> None:
    process.proc.terminate()
    try:
        process.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.proc.kill()


def headers(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}
