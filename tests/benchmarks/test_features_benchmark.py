"""Figures for the feature computation: rows/s and peak memory of training_set and scoring_set.

Run with ``pytest -s -m benchmark tests/benchmarks/test_features_benchmark.py``. The ledger is
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
build = training_set if sys.argv[2] == "training_set" else scoring_set
start = time.perf_counter()
frame = build(ledger, as_of, history=history)
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": len(frame), "seconds": seconds, "load_s": load_s,
                  "load_kb": load_kb, "peak_kb": peak_kb}))
"""


def _stage(folder: Path, stage: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(folder), stage],
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
