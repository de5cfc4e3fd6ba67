"""What the service reads from MLflow: the alias's version, the model, its run's facts and plots."""

from __future__ import annotations

import base64
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient

from features.catalogue import describe
from models.model import LatePaymentModel
from models.registry.loading import load_model
from models.registry.tracking import tracking_uri


def connect(home: Path) -> None:
    """Point MLflow at the project's tracking and registry store (no experiment is created)."""
    uri = tracking_uri(home)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def resolve(name: str, alias: str) -> str:
    """The version an alias of ``name`` points at (a version number resolves to itself)."""
    if alias.isdigit():
        return alias
    return str(MlflowClient().get_model_version_by_alias(name, alias).version)


def load(name: str, version: str) -> tuple[LatePaymentModel, str]:
    return load_model(name, version)


def catalogue(model: LatePaymentModel) -> list[dict[str, str]]:
    entries = [describe(name) for name in model.features]
    return [
        {"name": f.name, "description": f.description, "unit": f.unit, "group": f.group}
        for f in entries
    ]


def _plots(client: MlflowClient, run_id: str) -> dict[str, str]:
    """The run's PNG plots as data URIs (pages embed them; no file is served)."""
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        try:
            local = Path(client.download_artifacts(run_id, "plots", folder))
        except Exception:  # a run without plots still describes its model
            return out
        for png in sorted(local.glob("*.png")):
            out[png.stem] = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
    return out


def describe_version(name: str, version: str, model: LatePaymentModel) -> dict[str, Any]:
    """Name, version, trained-at, training window, test metrics, catalogue and plots."""
    client = MlflowClient()
    mv = client.get_model_version(name, version)
    run = client.get_run(mv.run_id) if mv.run_id else None
    metrics = run.data.metrics if run else {}
    tags = run.data.tags if run else {}
    started = run.info.start_time if run else mv.creation_timestamp
    return {
        "name": name,
        "version": str(version),
        "aliases": sorted(mv.aliases),
        "run_id": mv.run_id,
        "trained_at": datetime.fromtimestamp(started / 1000, UTC) if started else None,
        "training_window": {
            k.removeprefix("window."): v for k, v in sorted(tags.items()) if k.startswith("window.")
        },
        "test_metrics": {
            k.removeprefix("test."): float(v)
            for k, v in sorted(metrics.items())
            if k.startswith("test.")
        },
        "features": catalogue(model),
        "plots": _plots(client, mv.run_id) if mv.run_id else {},
    }
