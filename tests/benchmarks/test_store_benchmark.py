"""Figures for the store alone: writing and reading back one large batch, SQLite and PostgreSQL.

Run with ``pytest -s -m benchmark tests/benchmarks/test_store_benchmark.py``. The batch is built
directly (no model): 1,000,000 invoices by default (``PRECOLLECT_BENCH_INVOICES``), six reasons
each, as a scoring run stores them. Target: at least 100,000 invoice rows/s written, the batch
replaced in one transaction. PostgreSQL is the server on 127.0.0.1 (skipped without one).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fake_batches import fake_batch

from serving.store import tables
from serving.store.store import ScoreStore

AS_OF = pd.Timestamp("2025-01-31")
PG_URL = os.environ.get(
    "PRECOLLECT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REASONS_PER_INVOICE = 6


def _urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield "SQLite", f"sqlite:///{tmp_path / 'store.db'}"
    admin = sa.create_engine(PG_URL)
    schema = f"bench{uuid.uuid4().hex[:10]}"
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError:
        print("  PostgreSQL: no server on 127.0.0.1, skipped")
        return
    try:
        yield "PostgreSQL", f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.mark.benchmark
def test_store_benchmark(tmp_path: Path) -> None:
    n = int(os.environ.get("PRECOLLECT_BENCH_INVOICES", "1000000"))
    batch = fake_batch(n, seed=1)
    one = batch["reasons"]
    batch["reasons"] = pd.concat(
        [one.assign(rank=k) for k in range(1, REASONS_PER_INVOICE + 1)], ignore_index=True
    )
    print(
        f"\nstore benchmark: {n:,} invoices, {len(batch['accounts']):,} accounts, "
        f"{len(batch['reasons']):,} reasons in one batch"
    )
    for name, url in _urls(tmp_path):
        store = ScoreStore(url)
        store.migrate()
        started = time.perf_counter()
        store.write_batch(as_of=AS_OF, model_version="1", p_base=0.3, **batch)
        write = time.perf_counter() - started
        started = time.perf_counter()
        try:
            frames = store.batch_frames(AS_OF, "1")
            read = f"{time.perf_counter() - started:6.1f} s"
        except sa.exc.OperationalError as exc:  # e.g. the store's statement timeout
            frames = {}
            read = f"failed after {time.perf_counter() - started:.1f} s ({type(exc.orig).__name__})"
        with store.engine.connect() as connection:
            count = sa.select(sa.func.count()).select_from(tables.reasons)
            stored_reasons = connection.execute(count).scalar_one()
        store.engine.dispose()
        print(
            f"  {name:<10} write {write:6.1f} s = {n / write:9,.0f} invoice rows/s "
            f"(target >= 100,000); read back {read}"
        )
        assert stored_reasons == len(batch["reasons"])
        if frames:
            assert len(frames["invoice_scores"]) == n
