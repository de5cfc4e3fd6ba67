"""Throughput and latency of the API against ``mlflow models serve`` on the same model.

Run with ``pytest -m benchmark tests/benchmarks/test_api_benchmark.py -s``. Both servers run at
the same time on loopback; a load generator (processes of threads, keep-alive connections sending
prepared requests) drives each scenario for a bounded time. mlflow is sent the ready feature
frame; precollect is sent raw invoices and computes the features itself (and, unless
``top_reasons=0``, the reasons too). Figures, not pass/fail.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from service_helpers import (
    KEYS,
    Served,
    build_served,
    free_port,
    start_service,
    stop_service,
)

from features.build import History
from features.ledger.ingest import load_ledger
from models.registry.loading import load_model
from models.registry.tracking import tracking_uri

pytestmark = pytest.mark.benchmark
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
BATCH_ROWS = 10_000
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


def _wire(method: str, path: str, body: bytes, headers: dict[str, str], host: str) -> bytes:
    """One HTTP/1.1 request as bytes, built before the clock starts."""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class _Connection:
    """A keep-alive connection that sends prepared requests and reads of each response just
    what marks its end (status, ``Content-Length``, ``Connection: close``).

    ``http.client`` parses every response's headers with the email package: on 2 cores shared
    with the servers, that load generator took CPU the servers then lacked.
    """

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = bytearray()

    def exchange(self, request: bytes) -> int:
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=120)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer.clear()
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head = self.buffer[:end].decode("latin-1").lower()
        length = re.search(r"\r\ncontent-length: *(\d+)", head)
        if length is None:
            raise ValueError("response without Content-Length")
        total = end + 4 + int(length.group(1))
        while len(self.buffer) < total:
            self._fill()
        del self.buffer[:total]
        if "\r\nconnection: close" in head:  # the server sheds this connection: reconnect
            self.close()
        return int(head[9:12])

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _client_thread(
    host: str, port: int, requests: list[bytes], until: float, out: list[float], errors: list[int]
) -> None:
    conn = _Connection(host, port)
    k = 0
    while time.perf_counter() < until:
        request = requests[k % len(requests)]
        k += 1
        start = time.perf_counter()
        try:
            status = conn.exchange(request)
        except (OSError, ValueError):
            errors.append(0)
            conn.close()
            continue
        if status != 200:
            errors.append(status)
            continue
        out.append(time.perf_counter() - start)
    conn.close()


def _client_process(args: tuple[Any, ...]) -> tuple[list[float], list[int]]:
    host, port, requests, threads, until = args
    out: list[float] = []
    errors: list[int] = []
    pool = [
        threading.Thread(target=_client_thread, args=(host, port, requests, until, out, errors))
        for _ in range(threads)
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return out, errors


def load(
    url: str,
    requests: list[tuple[str, str, bytes, dict[str, str]]],
    concurrency: int,
    seconds: float = SECONDS,
) -> dict[str, float]:
    """Drive ``concurrency`` keep-alive connections for ``seconds``; requests/s and latency."""
    host, port = url.removeprefix("http://").split(":")
    wires = [
        _wire(method, path, body, headers, f"{host}:{port}")
        for method, path, body, headers in requests
    ]
    processes = min(concurrency, 4)
    per = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    start = time.perf_counter()
    until = start + seconds
    with mp.get_context("fork").Pool(processes) as pool:
        results = pool.map(_client_process, [(host, int(port), wires, n, until) for n in per])
    elapsed = time.perf_counter() - start
    latencies = np.array([x for r in results for x in r[0]])
    errors = sum(len(r[1]) for r in results)
    return {
        "requests": float(len(latencies)),
        "errors": float(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(latencies, 50) * 1000) if len(latencies) else math.nan,
        "p99_ms": float(np.percentile(latencies, 99) * 1000) if len(latencies) else math.nan,
    }


def _mlflow_serve(served: Served, version: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)  # mlflow execs ``uvicorn`` from PATH
    env = {
        **served.env(),
        "MLFLOW_TRACKING_URI": tracking_uri(served.home),
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
    }
    command = [
        f"{bin_dir}/mlflow",
        "models",
        "serve",
        "-m",
        f"models:/{served.model_name}/{version}",
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),  # and mlflow's default worker count
    ]
    proc = subprocess.Popen(  # its own process group: mlflow runs uvicorn workers under bash
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("mlflow models serve did not start")


def _invoices(served: Served, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Plausible new invoices of known customers, due after the as-of day."""
    rng = np.random.default_rng(seed)
    as_of = served.as_of
    out = []
    for i in range(n):
        issue = as_of - pd.Timedelta(days=int(rng.integers(0, 20)))
        out.append(
            {
                "invoice_id": f"B{seed}-{i}",
                "customer_id": served.customers[int(rng.integers(len(served.customers)))],
                "issue_date": str(issue.date()),
                "due_date": str((issue + pd.Timedelta(days=30)).date()),
                "amount": float(round(rng.lognormal(7, 1), 2)),
                "currency": "EUR",
            }
        )
    return out


def _mlflow_body(served: Served, invoices: list[dict[str, Any]]) -> bytes:
    """The same invoices as mlflow's input: the feature frame, computed here beforehand."""
    model, _ = load_model(served.model_name, served.versions[0])
    history = History.from_ledger(load_ledger(served.ledger), model.grace_days)
    targets = pd.DataFrame(invoices).assign(as_of=served.as_of)
    for column in ("issue_date", "due_date"):
        targets[column] = pd.to_datetime(targets[column])
    features = history.features(targets)[model.features]
    frame = features.astype(object).where(features.notna(), None)
    return json.dumps(
        {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
    ).encode()


def test_api_against_mlflow_serve(tmp_path: Path, small_synthetic: Path) -> None:
    served = build_served(tmp_path / "home", small_synthetic, n_versions=1)
    json_headers = {"Content-Type": "application/json"}
    key = {**json_headers, "X-API-Key": KEYS["scorer"]}
    singles = [_invoices(served, 1, seed) for seed in range(200)]
    batch = _invoices(served, BATCH_ROWS, 999)
    as_of = str(served.as_of.date())

    def ours(invoices: list[dict[str, Any]], top: int = 3) -> bytes:
        return json.dumps({"invoices": invoices, "as_of": as_of, "top_reasons": top}).encode()

    figures: dict[str, dict[str, float]] = {}
    mlflow_proc, mlflow_url = _mlflow_serve(served, served.versions[0], tmp_path / "mlflow.log")
    ours_proc = start_service(
        served.env(PRECOLLECT_API_POLL_SECONDS="30"), tmp_path / "precollect.log", workers=WORKERS
    )
    try:
        mlflow_singles = [
            ("POST", "/invocations", _mlflow_body(served, s), json_headers) for s in singles
        ]
        check = httpx.post(
            f"{mlflow_url}/invocations", content=mlflow_singles[0][2], headers=json_headers
        )
        assert check.status_code == 200, check.text
        our_singles = [("POST", "/v1/score", ours(s), key) for s in singles]
        assert (
            httpx.post(
                f"{ours_proc.url}/v1/score", content=ours(singles[0]), headers=key
            ).status_code
            == 200
        )
        for c in (1, 16):  # warm both up, then measure
            load(mlflow_url, mlflow_singles, c, 1.5)
            figures[f"mlflow single c={c}"] = load(mlflow_url, mlflow_singles, c)
            load(ours_proc.url, our_singles, c, 1.5)
            figures[f"precollect single c={c}"] = load(ours_proc.url, our_singles, c)
        figures["precollect single c=16 no reasons"] = load(
            ours_proc.url, [("POST", "/v1/score", ours(s, 0), key) for s in singles], 16
        )
        mlflow_batch = [("POST", "/invocations", _mlflow_body(served, batch), json_headers)]
        figures["mlflow batch 10k"] = load(mlflow_url, mlflow_batch, 2, 2 * SECONDS)
        for top in (0, 3):
            figures[f"precollect batch 10k top_reasons={top}"] = load(
                ours_proc.url, [("POST", "/v1/score", ours(batch, top), key)], 2, 2 * SECONDS
            )
        reads = [
            ("GET", f"/v1/accounts/{a}", b"", {"X-API-Key": KEYS["viewer"]})
            for a in served.account_ids
        ]
        load(ours_proc.url, reads, 16, 1.5)
        figures["precollect GET /v1/accounts c=16"] = load(ours_proc.url, reads, 16)
    finally:
        stop_service(ours_proc)
        os.killpg(mlflow_proc.pid, signal.SIGTERM)
        mlflow_proc.wait(timeout=30)

    print(
        f"\nAPI benchmark: {os.cpu_count()} cores, precollect {WORKERS} workers, mlflow serve "
        f"its default workers, {SECONDS:.0f} s per run"
    )
    for name, f in figures.items():
        rows = f" = {f['rps'] * BATCH_ROWS:,.0f} rows/s" if "10k" in name else ""
        print(
            f"{name:42s} {f['rps']:9.1f} req/s{rows:22s} p50 {f['p50_ms']:8.1f} ms  "
            f"p99 {f['p99_ms']:8.1f} ms  ({f['requests']:.0f} ok, {f['errors']:.0f} errors)"
        )
    single = figures["precollect single c=16"]["rps"] / figures["mlflow single c=16"]["rps"]
    rows = figures["precollect batch 10k top_reasons=0"]["rps"] / figures["mlflow batch 10k"]["rps"]
    print(f"single c=16: {single:.1f}x mlflow; batch rows/s (no reasons): {rows:.1f}x mlflow")
    assert all(f["errors"] == 0 for f in figures.values())
