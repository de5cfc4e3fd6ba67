"""The embedded MLflow default keeps runs and artifacts under the project's home."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from models.registry import tracking


def test_local_store_keeps_artifacts_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "unset-below")  # recorded, restored afterwards
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    experiment_id = tracking.configure(tmp_path)
    # MLflow 3 exports the URI to the environment; a second call must not lose the home
    assert tracking.configure(tmp_path) == experiment_id
    location = mlflow.get_experiment(experiment_id).artifact_location
    assert location == (tmp_path / "mlartifacts").resolve().as_uri()
    assert mlflow.get_tracking_uri() == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"


def test_a_tracking_server_chooses_its_own_artifact_root() -> None:
    assert tracking.artifact_root("http://127.0.0.1:5000") is None
    assert tracking.artifact_root("sqlite:////srv/ml/mlflow.db") == "file:///srv/ml/mlartifacts"


def test_a_nested_run_stays_in_the_experiment_and_out_of_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "unset-below")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    working = tmp_path / "working"
    working.mkdir()
    monkeypatch.chdir(working)
    home = tmp_path / "home"
    experiment_id = tracking.configure(home)
    with mlflow.start_run(experiment_id=experiment_id), mlflow.start_run(nested=True) as nested:
        mlflow.log_dict({"figure": 1}, "nested.json")
    assert nested.info.experiment_id == experiment_id
    assert nested.info.artifact_uri.startswith((home / "mlartifacts").resolve().as_uri())
    assert list(working.iterdir()) == []
