"""MLflow set-up: a local SQLite store by default, ``MLFLOW_TRACKING_URI`` when set."""

from __future__ import annotations

import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow

EXPERIMENT = "precollect"
MODEL_NAME = "precollect-late-payment"
VERSIONED_PACKAGES = (
    "precollect",
    "lightgbm",
    "scikit-learn",
    "pandas",
    "numpy",
    "shap",
    "mlflow",
    "prefect",
    "pandera",
)


def tracking_uri(home: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(home / 'mlflow.db').resolve()}"


def configure(home: Path) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id."""
    home.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri(home))
    mlflow.set_registry_uri(tracking_uri(home))
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return str(experiment.experiment_id)
    artifacts = None
    if "MLFLOW_TRACKING_URI" not in os.environ:
        artifacts = (home / "mlartifacts").resolve().as_uri()
    return str(mlflow.create_experiment(EXPERIMENT, artifact_location=artifacts))


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED_PACKAGES:
        try:
            found[f"version.{name}"] = version(name)
        except PackageNotFoundError:
            found[f"version.{name}"] = "absent"
    return found
