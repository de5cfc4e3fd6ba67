"""The train flow under Prefect's test harness, against a real (SQLite) MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from features.ledger.ingest import load_ledger
from models.registry.loading import load_model
from models.registry.tracking import model_name
from models.training.fit import TrainParams
from models.training.train import train_on_ledger
from pipelines.flows import train_flow
from pipelines.train import TrainRequest

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _own_mlflow_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow's home decides the store, not a URI another test's MLflow set-up exported."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def winning_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small ledger on which the model beats every baseline out of time (0.927 vs 0.906 when
    measured), so that a first run may be promoted. On the session's ``small_synthetic`` the
    logistic baseline ties the model, and the promotion floor rightly refuses it."""
    from precollect.synth import generate_ledger

    folder = tmp_path_factory.mktemp("winning")
    generate_ledger(folder, n_customers=60, n_invoices=3000, seed=22)
    return folder


def test_flow_registers_promotes_and_refuses_an_equal_model(
    prefect_harness: None, winning_ledger: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_synthetic = winning_ledger
    monkeypatch.setenv("PRECOLLECT_HOME", str(tmp_path))  # the flow reads its home from settings
    request = TrainRequest(ledger=str(small_synthetic))
    first = train_flow(request)
    assert first["promoted"], first["promotion_reason"]
    assert first["promotion_reason"] == "no champion yet"
    MODEL_NAME = model_name(load_ledger(small_synthetic).name)
    assert first["model_name"] == MODEL_NAME
    client = MlflowClient()
    assert (
        str(client.get_model_version_by_alias(MODEL_NAME, "champion").version)
        == first["model_version"]
    )

    second = train_flow(request)  # same data, same seed: same AUC, so no promotion
    assert not second["promoted"] and "not better" in second["promotion_reason"]
    assert (
        str(client.get_model_version_by_alias(MODEL_NAME, "champion").version)
        == first["model_version"]
    )
    assert (
        str(client.get_model_version_by_alias(MODEL_NAME, "challenger").version)
        == second["model_version"]
    )

    # the pay-date model is registered beside it, with its own aliases and figures
    pay_name = first["pay_dates"]["model_name"]
    assert pay_name == f"{MODEL_NAME}-paydates"
    assert first["pay_dates"]["refit"]["censored_rows"] > 0
    pay_champion = client.get_model_version_by_alias(pay_name, "challenger")
    assert str(pay_champion.version) == second["pay_dates"]["model_version"]
    if first["pay_dates"]["promoted"]:  # the same recipe on the same data is not better
        assert not second["pay_dates"]["promoted"]
        assert "not better" in second["pay_dates"]["promotion_reason"]
    from models.registry.paydates import load_pay_model

    # its backtest is logged as plots: the forecast against what came in, per evaluation date
    assert second["pay_dates"]["evaluation"]["dates"] >= 1
    pay_run = pay_champion.run_id
    plots = {a.path for a in client.list_artifacts(pay_run, "plots")}
    assert len(plots) == second["pay_dates"]["evaluation"]["dates"]
    assert all(p.startswith("plots/forecast_vs_actual_") for p in plots)
    pay_model, _ = load_pay_model(MODEL_NAME, second["pay_dates"]["model_version"])
    assert pay_model.features == load_model(MODEL_NAME, second["model_version"])[0].features
    _forecast_from_the_cli(small_synthetic, tmp_path, second["pay_dates"]["model_version"])

    run = client.get_run(second["run_id"])
    assert run.data.tags["data_fingerprint"] == load_ledger(small_synthetic).fingerprint()
    assert run.data.tags["promotion_decision"] == "rejected"
    assert "test.model.roc_auc" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(second["run_id"], "plots")}
    assert {"plots/roc.png", "plots/calibration.png", "plots/gains_amount.png"} <= artifacts
    summary = json.loads(json.dumps(second, default=str))  # what --metrics-out writes
    assert summary["metrics"]["model"]["roc_auc"] == run.data.metrics["test.model.roc_auc"]

    # a person overrides the decision, with a reason that is recorded
    from typer.testing import CliRunner

    from precollect.cli import app

    result = CliRunner().invoke(
        app,
        [
            "promote",
            "--model-name",
            MODEL_NAME,
            "--version",
            second["model_version"],
            "--reason",
            "approved by risk committee",
        ],
        env={"PRECOLLECT_HOME": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == second["model_version"]
    assert champion.tags["promotion_reason"] == "manual: approved by risk committee"
    model, version = load_model(MODEL_NAME, "champion")
    assert version == second["model_version"] and model.features
    _mlflow_ui_shows_runs_and_aliases(tmp_path, second)


def _forecast_from_the_cli(ledger: Path, home: Path, version: str) -> None:
    """``precollect forecast`` writes 13 weeks that add up to the open amount expected in them,
    and each open invoice's pay dates."""
    import pandas as pd
    from typer.testing import CliRunner

    from precollect.cli import app

    out, dates = home / "forecast.csv", home / "pay-dates.csv"
    args = ["forecast", "--ledger", str(ledger), "--out", str(out), "--model-alias", version]
    args += ["--pay-dates-out", str(dates), "--simulations", "200"]
    result = CliRunner().invoke(app, args, env={"PRECOLLECT_HOME": str(home)})
    assert result.exit_code == 0, result.output
    weekly = pd.read_csv(out)
    assert list(weekly.columns) == ["week_start", "expected", "p10", "p50", "p90", "forecast_dso"]
    assert len(weekly) == 13 and (weekly["p10"] <= weekly["p90"]).all()
    assert (weekly["forecast_dso"] > 0).all() and "DSO at its end" in result.output
    per_invoice = pd.read_csv(dates, parse_dates=["as_of", "pay_date_p10", "pay_date_p90"])
    assert (per_invoice["pay_date_p10"].dropna() > per_invoice["as_of"].iloc[0]).all()


def _mlflow_ui_shows_runs_and_aliases(home: Path, run: dict[str, object]) -> None:
    """``mlflow ui`` on the default store serves the runs, their plots and the model's aliases."""
    import os
    import sys
    import urllib.request

    from browser import SCREENSHOTS, chromium
    from local_server import free_port, running

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "mlflow", "ui", "--port", str(port)]
    command += ["--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}"]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running(command, f"{base}/health", env=env, log=home / "mlflow-ui.log"):
        url = f"{base}/api/2.0/mlflow/registered-models/get?name={run['model_name']}"
        with urllib.request.urlopen(url, timeout=30) as response:
            registered = json.load(response)["registered_model"]
        aliases = {a["alias"]: a["version"] for a in registered["aliases"]}
        assert aliases == {"champion": run["model_version"], "challenger": run["model_version"]}
        url = f"{base}/api/2.0/mlflow/artifacts/list?run_id={run['run_id']}&path=plots"
        with urllib.request.urlopen(url, timeout=30) as response:
            plots = {f["path"] for f in json.load(response)["files"]}
        assert "plots/roc.png" in plots
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/#/models/{run['model_name']}", timeout=120_000)
            page.get_by_text("champion").first.wait_for(timeout=120_000)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "mlflow-registered-model.png"))


def test_same_ledger_and_seed_give_identical_predictions(small_synthetic: Path) -> None:
    ledger = load_ledger(small_synthetic)
    a = train_on_ledger(ledger, params=TrainParams(seed=3))
    b = train_on_ledger(ledger, params=TrainParams(seed=3))
    np.testing.assert_array_equal(a.model.raw_score(a.test), b.model.raw_score(b.test))
    np.testing.assert_array_equal(a.test_scores["model"], b.test_scores["model"])
    c = train_on_ledger(ledger, params=TrainParams(seed=4))
    assert not np.array_equal(a.model.raw_score(a.test), c.model.raw_score(a.test))
    assert a.metrics == b.metrics
