"""Commands without ``PREFECT_API_URL``: the flow bodies run directly, no Prefect server starts,
and a killed command leaves no process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from pipelines.runtime import Step, step

ROOT = Path(__file__).resolve().parents[2]
# runs the CLI and says, as it exits, whether Prefect was imported at all
WATCHED = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('prefect imported:', 'prefect' in sys.modules, file=sys.stderr))\n"
    "from precollect.cli import main\n"
    "sys.argv = ['precollect', *sys.argv[1:]]\n"
    "main()\n"
)


def local_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRECOLLECT_", "PREFECT_"))}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(
        PRECOLLECT_HOME=str(home),
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        MPLBACKEND="Agg",
    )
    return env


def descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def run_watched(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], set]:
    """Run a command to its end, noting every descendant process and listening socket seen."""
    seen: set[tuple[int, str]] = set()
    proc = subprocess.Popen(
        [sys.executable, "-c", WATCHED, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        watched = psutil.Process(proc.pid)
        deadline = time.monotonic() + 900
        while proc.poll() is None and time.monotonic() < deadline:
            for child in [watched, *descendants(watched)]:
                try:
                    if child.pid != proc.pid:
                        seen.add((child.pid, " ".join(child.cmdline())))
                    for conn in child.net_connections(kind="inet"):
                        if conn.status == psutil.CONN_LISTEN:
                            seen.add((child.pid, f"listening on {conn.laddr}"))
                except psutil.Error:
                    pass
            time.sleep(0.2)
        out, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), seen


@pytest.mark.slow
def test_train_and_score_start_no_prefect_server(small_synthetic: Path, tmp_path: Path) -> None:
    env = local_env(tmp_path)
    ledger = ["--ledger", str(small_synthetic)]
    # version 1 scores whether or not the promotion floor made it the champion
    for command in (["train", *ledger], ["score", *ledger, "--model-alias", "1"]):
        run, seen = run_watched(env, *command)
        assert run.returncode == 0, run.stderr[-3000:]
        assert "prefect imported: False" in run.stderr, run.stderr[-2000:]
        # a child forked before its exec still shows this script's command line (which names
        # prefect), so it is judged by what runs, not by the words of the script
        started = [(pid, line.replace(WATCHED, "")) for pid, line in seen]
        servers = [
            s for s in started if "listening" in s[1] or "prefect" in s[1] or "uvicorn" in s[1]
        ]
        assert not servers, f"{command[0]} started a server: {servers}"  # (git is MLflow's)
    assert "scored" in run.stdout + run.stderr
    assert not (tmp_path / "prefect" / "prefect.db").exists(), "Prefect's database was created"
    store = sa.create_engine(f"sqlite:///{tmp_path / 'precollect.db'}")
    with store.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM batches")).scalar() == 1


@pytest.mark.slow
def test_kill_9_of_train_leaves_no_process(small_synthetic: Path, tmp_path: Path) -> None:
    env = local_env(tmp_path)
    command = [sys.executable, "-m", "precollect.cli", "train", "--ledger", str(small_synthetic)]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed whole in the teardown
    )
    try:
        deadline = time.monotonic() + 300  # until it is training: its MLflow store exists
        while not (tmp_path / "mlflow.db").exists():
            assert proc.poll() is None, "train ended before it could be killed"
            assert time.monotonic() < deadline, "train never reached MLflow"
            time.sleep(0.2)
        time.sleep(1.0)
        children = descendants(psutil.Process(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"survived the kill: {[p.cmdline() for p in alive]}"
        survivors = [
            p.pid for p in psutil.process_iter(["pid"]) if _group(p) == proc.pid and p.is_running()
        ]
        assert not survivors, f"processes of the killed command's group survive: {survivors}"
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _group(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except (ProcessLookupError, PermissionError):
        return None


def test_a_step_outside_a_flow_run_is_the_function_retrying_only_io(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("pipelines.runtime.time.sleep", lambda _s: None)
    calls: list[str] = []

    @step(retries=2)
    def flaky(kind: str) -> str:
        calls.append(kind)
        if kind == "io" and len(calls) < 3:
            raise OSError("share not mounted yet")
        if kind == "user":
            raise ValueError("bad ledger")
        return "done"

    assert isinstance(flaky, Step)
    assert flaky("io") == "done" and calls == ["io"] * 3  # retried twice, as Prefect would
    calls.clear()
    with pytest.raises(ValueError, match="bad ledger"):
        flaky("user")
    assert calls == ["user"]  # a user's mistake is not retried
    assert flaky._task is None  # no Prefect task was ever made
