"""Figures for the synthetic ledger generator: wall time, throughput and peak memory.

Run with ``make bench`` or ``pytest -s -m benchmark tests/benchmarks/test_synth_benchmark.py``.
The size defaults to 10 million invoices; set ``PRECOLLECT_BENCH_INVOICES`` to change it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from precollect.synth import generate_ledger
start = time.perf_counter()
summary = generate_ledger(Path(sys.argv[1]), n_customers=int(sys.argv[2]), n_invoices=int(sys.argv[3]))
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"generate_s": seconds, "peak_kb": peak_kb, "payments": summary.n_payments}))
"""


@pytest.mark.benchmark
def test_synth_benchmark(tmp_path: Path) -> None:
    n_invoices = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "10000000"))
    n_customers = max(500, n_invoices // 100)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path), str(n_customers), str(n_invoices)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    peak_mb = figures["peak_kb"] / 1024  # Linux reports ru_maxrss in KiB
    print(
        f"\nsynth benchmark: {n_invoices:,} invoices, {n_customers:,} customers: "
        f"wall {wall:.1f} s (generate {figures['generate_s']:.1f} s), "
        f"{n_invoices / wall:,.0f} invoices/s, peak RSS {peak_mb:,.0f} MB"
    )
    rows = {
        name: pq.ParquetFile(tmp_path / f"{name}.parquet").metadata.num_rows
        for name in ("customers", "invoices", "payments")
    }
    assert rows["customers"] == n_customers
    assert rows["invoices"] == n_invoices
    assert rows["payments"] == figures["payments"] > 0
    assert (tmp_path / "ledger.toml").exists()
