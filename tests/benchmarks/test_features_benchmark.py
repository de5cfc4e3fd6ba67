"""Figures for the feature computation: rows/s and peak memory of training_set and scoring_set.

Run with ``pytest -s -m benchmark tests/benchmarks/test_features_benchmark.py``.
``test_features_scaling_benchmark`` holds the invoice count and changes only the invoices per
customer, so that a kernel whose cost grows with a customer's history shows in one table. The ledger is
synthetic, 1 million invoices by default (one customer per 100 invoices); set
``PRECOLLECT_BENCH_INVOICES`` to change it. Each stage runs in its own process so that its peak
RSS is its own; the JIT is warmed up on a few rows before the clock starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

_CHILD = """
import json, resource, sys, time
import pandas as pd
from features.build import History, scoring_set, training_set
from features.ledger.ingest import load_ledger
start = time.perf_counter()
ledger = load_ledger(sys.argv[1])
history = History.from_ledger(ledger)
load_s = time.perf_counter() - start
load_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
as_of = ledger.last_date()
warm = ledger.invoices.head(2000).assign(as_of=lambda f: f["issue_date"])
history.features(warm.head(1))
history.features(warm)
snapshots = tuple(int(d) for d in sys.argv[3].split(",") if d) if len(sys.argv) > 3 else ()
seconds = float("inf")
for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 1):  # best of n: the machine is shared
    start = time.perf_counter()
    if sys.argv[2] == "training_set":
        frame = training_set(ledger, as_of, history=history, snapshots=snapshots)
    else:
        frame = scoring_set(ledger, as_of, history=history)
    seconds = min(seconds, time.perf_counter() - start)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
largest = int(ledger.invoices["customer_id"].value_counts().max())
print(json.dumps({"rows": len(frame), "seconds": seconds, "load_s": load_s,
                  "load_kb": load_kb, "peak_kb": peak_kb, "largest": largest}))
"""


def _stage(
    folder: Path, stage: str, snapshots: tuple[int, ...] = (), repeat: int = 1
) -> dict[str, float]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(folder),
            stage,
            ",".join(map(str, snapshots)),
            str(repeat),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.benchmark
def test_features_benchmark(tmp_path: Path) -> None:
    from precollect.synth import generate_ledger

    n_invoices = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "1000000"))
    n_customers = max(100, n_invoices // 100)
    started = time.perf_counter()
    generate_ledger(tmp_path, n_customers=n_customers, n_invoices=n_invoices, seed=7)
    print(
        f"\nfeatures benchmark: {n_invoices:,} invoices, {n_customers:,} customers "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    for stage in ("training_set", "scoring_set"):
        f = _stage(tmp_path, stage)
        print(
            f"{stage}: {f['rows']:,} rows in {f['seconds']:.1f} s, "
            f"{f['rows'] / f['seconds']:,.0f} rows/s; peak RSS {f['peak_kb'] / 1024:,.0f} MB "
            f"(after loading and indexing the ledger in {f['load_s']:.1f} s: "
            f"{f['load_kb'] / 1024:,.0f} MB)"
        )
        assert f["rows"] > 0


PER_CUSTOMER = (20, 200, 2_000, 20_000)
SNAPSHOTS = (14, 7, 3)  # the training recipe's default (models.training.fit)
REPEAT = 3  # best of 3 runs of each: the machine is shared


@pytest.mark.benchmark
def test_features_scaling_benchmark(tmp_path: Path) -> None:
    """training_set rows/s at 20 to 20,000 invoices per customer, 200,000 invoices in each run
    (``PRECOLLECT_BENCH_INVOICES`` to change it), each the best of three runs; target: falls
    by less than 2x."""
    from precollect.synth import generate_ledger

    n_invoices = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "200000"))
    print(f"\nfeatures scaling benchmark: {n_invoices:,} invoices in each run")
    print(
        "| invoices per customer | largest customer | training_set rows/s | "
        f"with snapshots {SNAPSHOTS} rows/s |"
    )
    print("|---|---|---|---|")
    rates = []
    for per in PER_CUSTOMER:
        folder = tmp_path / str(per)
        generate_ledger(
            folder, n_customers=max(1, n_invoices // per), n_invoices=n_invoices, seed=7
        )
        plain = _stage(folder, "training_set", repeat=REPEAT)
        snapped = _stage(folder, "training_set", SNAPSHOTS, repeat=REPEAT)
        rates.append(plain["rows"] / plain["seconds"])
        print(
            f"| {per:,} | {plain['largest']:,} | {rates[-1]:,.0f} | "
            f"{snapped['rows'] / snapped['seconds']:,.0f} ({snapped['rows']:,} rows) |"
        )
    print(
        f"rows/s from {PER_CUSTOMER[0]:,} to {PER_CUSTOMER[-1]:,} per customer: "
        f"falls {rates[0] / rates[-1]:.2f}x (target < 2x)"
    )
