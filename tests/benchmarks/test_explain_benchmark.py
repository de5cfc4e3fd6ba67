"""Figures for explanations: our path (TreeSHAP via LightGBM + reasons) against ``shap``.

Run with ``pytest -s -m benchmark tests/benchmarks/test_explain_benchmark.py``. The model is
trained on a synthetic ledger; its feature rows are repeated up to 100,000 invoices (set
``PRECOLLECT_BENCH_EXPLAIN`` to change it). Target: 100,000 invoices in under 20 s on 2 cores.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from features.build import training_set
from features.ledger.ingest import load_ledger
from models.explain.effects import explain
from models.explain.reasons import top_reasons
from models.training.train import train_on_ledger


@pytest.mark.benchmark
def test_explain_benchmark(tmp_path: Path) -> None:
    import shap

    from precollect.synth import generate_ledger

    n_rows = int(os.environ.get("PRECOLLECT_BENCH_EXPLAIN", "100000"))
    generate_ledger(tmp_path, n_customers=300, n_invoices=30_000, seed=5)
    ledger = load_ledger(tmp_path)
    model = train_on_ledger(ledger).model
    features = training_set(ledger, ledger.last_date())
    frame = features.iloc[np.resize(np.arange(len(features)), n_rows)].reset_index(drop=True)
    trees = model.booster.dump_model()["tree_info"]
    leaves = sum(t["num_leaves"] for t in trees)

    started = time.perf_counter()
    matrix = model.encoder.transform(frame)
    encoded = time.perf_counter()
    exp = explain(model, frame)
    explained = time.perf_counter()
    reasons = top_reasons(exp, frame)
    done = time.perf_counter()
    ours = done - encoded  # explain encodes the frame itself

    reference = shap.TreeExplainer(model.booster).shap_values(matrix)
    reference = reference[1] if isinstance(reference, list) else reference
    shap_s = time.perf_counter() - done
    diff = float(np.abs(exp.contributions - reference).max())

    print(
        f"\nexplain benchmark: {n_rows:,} invoices ({len(features):,} distinct rows), "
        f"{len(trees)} trees, {leaves:,} leaves ({leaves / len(trees):.1f} per tree), "
        f"{len(model.features)} features, calibrator {model.info['calibration']}\n"
        f"  ours: {ours:.1f} s = {n_rows / ours:,.0f} rows/s "
        f"(encode {encoded - started:.2f} s, explain {explained - encoded:.1f} s, "
        f"reasons {done - explained:.1f} s: {len(reasons):,} reasons)\n"
        f"  shap.TreeExplainer: {shap_s:.1f} s = {n_rows / shap_s:,.0f} rows/s\n"
        f"  max |ours - shap| = {diff:.2e}"
    )
    assert diff < 1e-6
    assert reasons["row"].nunique() == n_rows
