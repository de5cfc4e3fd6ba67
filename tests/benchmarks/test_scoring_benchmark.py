"""Figures for a scoring run: features, score + explain, reasons, store write (SQLite, and
PostgreSQL when the server on 127.0.0.1 answers).

Run with ``pytest -s -m benchmark tests/benchmarks/test_scoring_benchmark.py``. The model is
trained on a small synthetic ledger; a second one, issued over the last 90 days so that most of
its invoices are still open, is scored at its extraction date. Its open invoices are topped up
(rows repeated under new ids) or cut to 1,000,000 (set ``PRECOLLECT_BENCH_INVOICES`` to change
it). Target: under 5 minutes in total on 2 cores.
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from features.build import scoring_set
from features.ledger.ingest import load_ledger
from models.decisions import scoring
from models.explain.effects import Explanation, explain
from models.training.train import train_on_ledger
from serving.store import tables
from serving.store.store import ScoreStore

END = date(2025, 12, 31)
PG_URL = os.environ.get(
    "PRECOLLECT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_write_seconds(batch: scoring.ScoredBatch) -> float | None:
    """Seconds to write ``batch`` into a fresh schema of the PostgreSQL server; None without one."""
    import uuid

    admin = sa.create_engine(PG_URL)
    schema = f"bench{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError:
        return None
    try:
        store = ScoreStore(f"{PG_URL}?options=-csearch_path%3D{schema}")
        store.migrate()
        started = time.perf_counter()
        store.write_scored(batch)
        return time.perf_counter() - started
    finally:
        store.engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _open_invoices(features: pd.DataFrame, n: int) -> pd.DataFrame:
    """Exactly ``n`` open invoices: repeated rows get new invoice ids."""
    frame = features.iloc[np.resize(np.arange(len(features)), n)].reset_index(drop=True)
    copy = np.arange(n) // max(1, len(features))
    ids = frame["invoice_id"].astype(str).to_numpy()
    return frame.assign(
        invoice_id=np.where(copy > 0, [f"{i}~{c}" for i, c in zip(ids, copy, strict=True)], ids)
    )


@pytest.mark.benchmark
def test_scoring_benchmark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from precollect.synth import generate_ledger

    n = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "1000000"))
    generate_ledger(tmp_path / "train", n_customers=300, n_invoices=30_000, seed=5)
    model = train_on_ledger(load_ledger(tmp_path / "train")).model
    generate_ledger(
        tmp_path / "open",
        n_customers=max(500, n // 100),
        n_invoices=n,
        seed=6,
        start=END - timedelta(days=90),
        end=END,
    )
    ledger = load_ledger(tmp_path / "open")
    stages: dict[str, float] = {}

    started = time.perf_counter()
    features = scoring_set(ledger, pd.Timestamp(END))
    stages["features"] = time.perf_counter() - started
    print(f"\n  features {stages['features']:.1f} s", flush=True)
    distinct = len(features)
    frame = _open_invoices(features, n)

    explained: list[float] = []

    def timed_explain(*args: object) -> Explanation:
        begun = time.perf_counter()
        out = explain(*args)  # type: ignore[arg-type]
        explained.append(time.perf_counter() - begun)
        return out

    monkeypatch.setattr(scoring, "explain", timed_explain)
    started = time.perf_counter()
    batch = scoring.score_batch(frame, model, "bench")
    stages["score + explain"] = explained[0]
    stages["reasons + accounts"] = time.perf_counter() - started - explained[0]
    print(f"  score + explain {explained[0]:.1f} s, reasons + accounts done", flush=True)

    store = ScoreStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    started = time.perf_counter()
    store.write_scored(batch)
    stages["store write"] = time.perf_counter() - started
    postgres = _postgres_write_seconds(batch)

    total = sum(stages.values())
    print(
        f"\nscoring benchmark: {n:,} open invoices ({distinct:,} from the ledger's "
        f"{len(ledger.invoices):,}), {len(batch.accounts):,} accounts, "
        f"{len(batch.reasons):,} reasons; total {total:.1f} s = {n / total:,.0f} invoices/s"
    )
    for name, seconds in stages.items():
        print(f"  {name:<20} {seconds:7.1f} s")
    print(f"  store write: SQLite {n / stages['store write']:,.0f} invoice rows/s", end="")
    if postgres is not None:
        print(f"; PostgreSQL {postgres:.1f} s = {n / postgres:,.0f} invoice rows/s", end="")
    print(" (target >= 100,000)")
    assert len(batch.invoices) == n
    assert batch.invoices["p_late"].between(0, 1).all()
    with store.engine.connect() as connection:  # count, not read back, 6 million rows
        for table, expected in ((tables.invoice_scores, n), (tables.reasons, len(batch.reasons))):
            count = sa.select(sa.func.count()).select_from(table)
            assert connection.execute(count).scalar_one() == expected
