"""Keep-alive connections spread evenly over ``precollect serve --workers N``."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from service_helpers import KEYS, Served, headers, start_service, stop_service

from serving.balance import ConnectionCounts, folder_prefix


def test_a_worker_above_the_least_loaded_one_sheds(tmp_path: Path) -> None:
    busy = ConnectionCounts(tmp_path, pid=os.getpid())
    quiet = ConnectionCounts(tmp_path, pid=os.getppid())
    for _ in range(3):
        busy.add(1)
    quiet.add(1)
    assert busy.over_share() and not quiet.over_share()  # 3 vs 1
    busy.add(-1)
    assert not busy.over_share() and not quiet.over_share()  # 2 vs 1: as even as it gets
    assert busy.others() == {os.getppid(): 1} and quiet.others() == {os.getpid(): 2}


def test_a_dead_workers_count_is_ignored_and_removed(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(gone.stdout)
    ConnectionCounts(tmp_path, pid=dead)  # its file stays behind, count 0
    alive = ConnectionCounts(tmp_path, pid=os.getpid())
    for _ in range(5):
        alive.add(1)
    assert not alive.over_share()  # a dead worker's 0 is not a share to even out with
    assert not (tmp_path / str(dead)).exists()


def _burst(url: str, folder: Path) -> tuple[list[int], list[int]]:
    """16 keep-alive clients, each sending until a reply keeps its connection open; the
    statuses, and the connections each worker holds at the end."""
    host, port = url.removeprefix("http://").split(":")
    statuses: list[int] = []
    connections = [http.client.HTTPConnection(host, int(port), timeout=30) for _ in range(16)]

    def client(conn: http.client.HTTPConnection) -> None:
        sent, settled = 0, False
        while (sent < 40 or not settled) and sent < 1000:  # until a reply keeps it open
            conn.request("GET", "/v1/model", headers=headers("viewer"))
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            sent, settled = sent + 1, not response.will_close

    threads = [threading.Thread(target=client, args=(c,)) for c in connections]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(0.5)  # the workers see the last shed connections go
    counts = [ConnectionCounts.read(p) for p in folder.iterdir() if p.name.isdigit()]
    for conn in connections:
        conn.close()
    return statuses, counts


def _pages_over_new_connections(url: str) -> list[int]:
    """Sign in to the pages once, then open the accounts page 20 times, a new connection each."""
    with httpx.Client(base_url=url, timeout=30) as browser:
        signed_in = browser.post(
            "/pages/login", data={"key": KEYS["viewer"]}, follow_redirects=True
        )
        assert signed_in.status_code == 200 and "/pages/accounts" in str(signed_in.url)
        cookies = browser.cookies
    statuses = []
    for _ in range(20):
        with httpx.Client(base_url=url, timeout=30, cookies=cookies) as fresh:
            statuses.append(fresh.get("/pages/accounts", follow_redirects=False).status_code)
    return statuses


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not sys.platform.startswith("linux") and _signalled(pid)
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signalled(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_two_workers_share_connections_evenly_and_end_with_a_killed_parent(
    served: Served, tmp_path: Path
) -> None:
    """One ``--workers 2`` service (starting one costs most of this test): a burst of
    keep-alive connections ends up even, page logins hold on either worker, and a kill -9 of
    the parent ends its workers, frees the port and leaves a counts folder the next start
    removes."""
    env = served.env(PRECOLLECT_API_POLL_SECONDS="30")
    del env["PRECOLLECT_API_SESSION_SECRET"]  # development mode draws one for all workers
    process = start_service(env, tmp_path / "first.log", workers=2)
    restarted = None
    try:
        parent = process.proc.pid
        shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
        deadline = time.monotonic() + 120
        folders: list[Path] = []
        while time.monotonic() < deadline:
            folders = list(shm.glob(f"{folder_prefix(parent)}*"))
            if folders and len([p for p in folders[0].iterdir() if p.name.isdigit()]) == 2:
                break  # both workers up
            time.sleep(0.2)
        workers = [int(p.name) for p in folders[0].iterdir() if p.name.isdigit()]
        assert len(workers) == 2 and parent not in workers
        statuses, counts = _burst(process.url, folders[0])
        assert set(statuses) == {200}  # shedding closes connections, never fails a request
        assert sum(counts) == 16 and max(counts) - min(counts) <= 1, counts
        assert _pages_over_new_connections(process.url) == [200] * 20  # login holds anywhere

        os.kill(parent, signal.SIGKILL)  # the parent only: its workers are not signalled
        killed = time.monotonic()
        process.proc.wait(timeout=10)
        while any(map(_running, workers)) and time.monotonic() - killed < 10:
            time.sleep(0.1)
        assert not any(map(_running, workers)), "workers outlived their parent"
        port = int(process.url.rsplit(":", 1)[1])
        assert _port_free(port) and time.monotonic() - killed < 10
        assert folders[0].exists()  # a kill -9 leaves it; the next start removes it

        restarted = start_service(env, tmp_path / "second.log", workers=1, port=port)
        assert httpx.get(f"{restarted.url}/healthz", timeout=10).status_code == 200
        assert not folders[0].exists()
    finally:
        stop_service(process)
        if restarted is not None:
            stop_service(restarted)
    assert restarted is not None
