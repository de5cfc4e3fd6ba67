"""MLflow set-up: a local SQLite store by default, ``MLFLOW_TRACKING_URI`` when set."""

from __future__ import annotations

import os
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow

EXPERIMENT = "precollect"
MODEL_PREFIX = "precollect-"
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


def model_name(ledger: str | None) -> str:
    """The registered model of a ledger: one per ledger name (``precollect-<name>``)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", (ledger or "").strip().lower()).strip("-.")
    return MODEL_PREFIX + (slug or "ledger")


def local_uri(home: Path) -> str:
    """The embedded SQLite store of a home."""
    return f"sqlite:///{(home / 'mlflow.db').resolve()}"


def tracking_uri(home: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or local_uri(home)


def artifact_root(uri: str) -> str | None:
    """Artifacts of a SQLite store live beside its file; a server decides for itself."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()


def configure(home: Path) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id."""
    home.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(home)
    mlflow.set_tracking_uri(uri)  # note: MLflow 3 also exports it as MLFLOW_TRACKING_URI
    mlflow.set_registry_uri(uri)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        experiment_id = mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_root(uri))
    else:
        experiment_id = experiment.experiment_id
    # a run started without an experiment (a nested run: the pay dates, a tuning trial) would go
    # to MLflow's "Default" experiment, whose artifacts live in ./mlruns of the working folder
    mlflow.set_experiment(experiment_id=experiment_id)
    return str(experiment_id)


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


def installed_version(name: str) -> str:
    """The installed version of distribution ``name``, ``absent`` when it is not installed."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def package_versions() -> dict[str, str]:
    return {f"version.{name}": installed_version(name) for name in VERSIONED_PACKAGES}
