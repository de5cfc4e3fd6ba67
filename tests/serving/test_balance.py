"""Keep-alive connections spread evenly over ``precollect serve --workers N``."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from service_helpers import KEYS, Served, headers, start_service, stop_service

from serving.balance import ConnectionCounts


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


@pytest.mark.slow
def test_a_burst_of_connections_ends_up_even_across_workers(served: Served, tmp_path: Path) -> None:
    folder = tmp_path / "counts"
    folder.mkdir()
    env = served.env(PRECOLLECT_WORKER_COUNTS=str(folder), PRECOLLECT_API_POLL_SECONDS="30")
    del env["PRECOLLECT_API_SESSION_SECRET"]  # development mode draws one for all workers
    process = start_service(env, tmp_path / "service.log", workers=2)
    try:
        deadline = time.monotonic() + 120
        while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # both workers up
        host, port = process.url.removeprefix("http://").split(":")
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
        counts = [ConnectionCounts.read(path) for path in folder.iterdir()]
        for conn in connections:
            conn.close()
        pages = _pages_over_new_connections(process.url)
    finally:
        stop_service(process)
    assert set(statuses) == {200}  # shedding closes connections, never fails a request
    assert sum(counts) == 16 and max(counts) - min(counts) <= 1, counts
    assert pages == [200] * 20  # a page login holds whichever worker answers


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
