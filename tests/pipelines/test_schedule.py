"""``precollect schedule`` against a real Prefect server that the test starts: a triggered run
of the daily score deployment completes and its batch lands in the score store."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_server import free_port
from service_helpers import build_served

from pipelines.schedule import MONITOR_DEPLOYMENT, SCORE_DEPLOYMENT, TRAIN_DEPLOYMENT, deployments
from serving.settings import ScheduleSettings
from serving.store.store import ScoreStore

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def group(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in a process group of its own; kill the whole group at the end."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # and whatever it started


def wait_until(check, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what}: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_deployments_carry_cron_zone_and_no_password() -> None:
    plan = ScheduleSettings(timezone="Europe/Paris", score_cron="30 6 * * 1-5")
    url = "postgresql+psycopg://ar:S3cretPw@db.example/ledger"
    score, train, monitor = deployments(url, Path("map.toml"), plan)
    assert (score.name, train.name) == (SCORE_DEPLOYMENT, TRAIN_DEPLOYMENT)
    assert monitor.name == MONITOR_DEPLOYMENT
    assert monitor.entrypoint == "pipelines.flows.scheduled_monitor"
    assert monitor.schedules[0].schedule.cron == "30 6 * * *"
    assert monitor.schedules[0].schedule.timezone == "Europe/Paris"
    assert "S3cretPw" not in str(monitor.parameters)
    assert score.entrypoint == "pipelines.flows.scheduled_score"
    (cron,) = score.schedules
    assert cron.schedule.cron == "30 6 * * 1-5" and cron.schedule.timezone == "Europe/Paris"
    assert train.schedules[0].schedule.cron == "0 5 * * 1"
    assert "S3cretPw" not in str(score.parameters) and "***" in score.parameters["ledger"]


def test_bad_schedule_settings_are_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        ScheduleSettings(timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="five fields"):
        ScheduleSettings(score_cron="every day")


@pytest.mark.slow
def test_served_score_and_monitor_deployments_run_on_a_real_prefect_server(
    small_synthetic: Path, tmp_path: Path
) -> None:
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    served = build_served(tmp_path / "home", small_synthetic, n_versions=1)
    store_url = f"sqlite:///{tmp_path / 'scheduled.db'}"
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PRECOLLECT_", "PREFECT_"))}
    base.pop("MLFLOW_TRACKING_URI", None)
    base.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    server_env = {**base, "PREFECT_UI_ENABLED": "false"}
    prefect = str(Path(sys.executable).with_name("prefect"))
    server_cmd = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    with group(server_cmd, server_env, server_log) as server:
        # a loaded machine: the server migrates its database before it answers
        wait_until(lambda: answers(f"{api}/health"), "no Prefect server", server, server_log, 300)
        serve_env = {
            **base,
            "PREFECT_API_URL": api,
            "PRECOLLECT_HOME": str(served.home),
            "PRECOLLECT_DATABASE_URL": store_url,
            "PRECOLLECT_MODEL_NAME": served.model_name,
            "MPLBACKEND": "Agg",
        }
        schedule_cmd = [sys.executable, "-m", "precollect.cli", "schedule"]
        with group([*schedule_cmd, "--ledger", str(small_synthetic)], serve_env, serve_log) as cli:
            with temporary_settings({PREFECT_API_URL: api}):
                name = f"score/{SCORE_DEPLOYMENT}"
                wait_until(lambda: _deployed(name), "not served", cli, serve_log, 300)
                run = run_deployment(name, timeout=900, poll_interval=2, as_subflow=False)
            assert run.state is not None
            assert run.state.type == StateType.COMPLETED, (
                f"{run.state}: {serve_log.read_text(errors='replace')[-3000:]}"
            )
            with temporary_settings({PREFECT_API_URL: api}):
                checked = run_deployment(
                    f"monitor/{MONITOR_DEPLOYMENT}", timeout=900, poll_interval=2, as_subflow=False
                )
            assert checked.state is not None
            assert checked.state.type == StateType.COMPLETED, (
                f"{checked.state}: {serve_log.read_text(errors='replace')[-3000:]}"
            )
    batch = ScoreStore(store_url).latest_batch()
    assert batch is not None, "the scheduled run stored no batch"
    assert str(batch["as_of"])[:10] == str(served.as_of.date())
    report = ScoreStore(store_url).monitoring_report()
    assert report is not None, "the scheduled monitor stored no report"
    assert report["report"]["performance"]["cohorts"][-1]["as_of"] == str(served.as_of.date())
    runs = served.registry().search_runs(
        [served.registry().get_experiment_by_name("precollect").experiment_id],
        filter_string="tags.kind = 'monitor'",
    )
    assert len(runs) == 1


def _deployed(name: str) -> bool:
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(name)
        return True
    except Exception:  # not registered yet (404) or the server busy
        return False


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({}, "needs a Prefect server"),
        ({"PRECOLLECT_SCHEDULE_TIMEZONE": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_schedule_without_a_server_or_with_bad_settings_is_one_line(
    extra: dict[str, str], needle: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRECOLLECT_", "PREFECT_"))}
    env.update(PRECOLLECT_HOME=str(tmp_path), **extra)
    run = subprocess.run(
        [sys.executable, "-m", "precollect.cli", "schedule", "--ledger", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], run.stderr


def test_a_scheduled_run_gets_the_password_from_the_environment_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines.runtime import revealed

    url = "postgresql+psycopg://ar:An0therPw@db.example/books"
    shown = "postgresql+psycopg://ar:***@db.example/books"
    with pytest.raises(ValueError, match="PRECOLLECT_SCHEDULE_LEDGER"):
        revealed(shown)  # a new process (a deployment's run) does not know it...
    monkeypatch.setenv("PRECOLLECT_SCHEDULE_LEDGER", url)
    assert revealed(shown) == url  # ...unless the serving process's environment has it
    with pytest.raises(ValueError):  # and only for that URL
        revealed("postgresql+psycopg://ar:***@other.example/books")
