"""End to end, one table: synth -> ingest -> features -> train -> score -> store, in one process
and on a 2-worker LocalCluster, each stage's wall time and peak RSS.

Run with ``pytest -s -m benchmark tests/benchmarks/test_end_to_end_benchmark.py``. The ledger is
synthetic, 10 million invoices by default (one customer per 100 invoices); set
``PRECOLLECT_BENCH_INVOICES`` to change it. Each mode runs in its own process so that its memory is
its own; the peak RSS of a stage is sampled every 0.2 s over that process and its children (the
cluster's workers). Training uses issue-date rows only (no snapshots) and one fold, so that the
in-memory run fits this machine; ``train`` builds its own training set, so it includes a second
feature pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

_CHILD = r"""
import json, sys, threading, time
import psutil
import pandas as pd

mode, folder, home = sys.argv[1], sys.argv[2], sys.argv[3]
stages = []

class Peak:
    def __init__(self):
        self.peak, self.stop = 0, threading.Event()
    def sample(self):
        me = psutil.Process()
        while not self.stop.wait(0.2):
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

def stage(name, fn):
    peak = Peak()
    thread = threading.Thread(target=peak.sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak.stop.set(); thread.join()
    stages.append({"stage": name, "seconds": seconds, "peak_gb": peak.peak / 1e9})
    print(f"  {mode:>6} {name:<9} {seconds:8.1f} s  {peak.peak / 1e9:6.2f} GB", file=sys.stderr, flush=True)
    return out

from features.ledger.ingest import load_ledger
from models.decisions.scoring import score_ledger
from models.training.fit import TrainParams
from serving.store.store import ScoreStore

client = None
if mode == "dask":
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, memory_limit=0)
    client = Client(cluster)

ledger = stage("ingest", lambda: load_ledger(folder))
as_of = ledger.default_as_of()
params = TrainParams(snapshots=())
if client is None:
    from features.build import training_set
    from models.training.train import train_on_ledger
    rows = stage("features", lambda: len(training_set(ledger, as_of)))
    result = stage("train", lambda: train_on_ledger(ledger, as_of, params=params))
    batch = stage("score", lambda: score_ledger(ledger, as_of, result.model, "1"))
else:
    from features.distributed import default_buckets, ledger_features_on_dask
    from models.decisions.distributed import score_on_dask
    from models.training.distributed import train_on_dask
    buckets = default_buckets(2, len(ledger.invoices))
    rows = stage("features", lambda: len(ledger_features_on_dask(ledger, as_of, n_buckets=buckets)))
    result = stage("train", lambda: train_on_dask(ledger, client, as_of=as_of, params=params))
    batch = stage("score", lambda: score_on_dask(ledger, as_of, result.model, "1", client=client))
store = ScoreStore(f"sqlite:///{home}/store.db")
store.migrate()
stage("store", lambda: store.write_scored(batch))
auc = result.metrics["model"]["roc_auc"]
print(json.dumps({"stages": stages, "training_rows": rows, "open": len(batch.invoices), "auc": auc}))
if client is not None:
    client.close(); cluster.close()
"""


def _run(mode: str, folder: Path, home: Path) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(folder), str(home)],
        capture_output=True,
        text=True,
        check=False,
        start_new_session=True,
    )
    sys.stdout.write(done.stderr if done.returncode else "")
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stderr.strip())
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.benchmark
def test_end_to_end_benchmark(tmp_path: Path) -> None:
    from precollect.synth import generate_ledger

    n = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "10000000"))
    start = time.perf_counter()
    generate_ledger(tmp_path / "ledger", n_customers=max(1, n // 100), n_invoices=n, seed=5)
    synth_s = time.perf_counter() - start
    print(f"\nend-to-end benchmark: {n:,} invoices, {max(1, n // 100):,} customers")
    print(f"  synth {synth_s:.1f} s (once, in the test process)")
    results = {
        mode: _run(mode, tmp_path / "ledger", tmp_path / mode) for mode in ("memory", "dask")
    }
    print("\n| stage | in memory: s | GB | 2-worker LocalCluster: s | GB |\n|---|---|---|---|---|")
    names = [s["stage"] for s in results["memory"]["stages"]]
    for name in names:
        m = next(s for s in results["memory"]["stages"] if s["stage"] == name)
        d = next(s for s in results["dask"]["stages"] if s["stage"] == name)
        print(
            f"| {name} | {m['seconds']:.1f} | {m['peak_gb']:.2f} | {d['seconds']:.1f} | "
            f"{d['peak_gb']:.2f} |"
        )
    for mode, result in results.items():
        print(
            f"  {mode}: {result['training_rows']:,} training rows, {result['open']:,} open "
            f"invoices scored, test ROC-AUC {result['auc']:.4f}"
        )
    assert results["memory"]["open"] == results["dask"]["open"]
