"""Shared fixtures: paths to the shipped sample and small ledgers built on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IBM_DIR = ROOT / "data" / "samples" / "ibm-ar"
IBM_MAPPING = IBM_DIR / "mapping.toml"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def ibm_dir() -> Path:
    return IBM_DIR


@pytest.fixture(scope="session")
def ibm_mapping() -> Path:
    return IBM_MAPPING


PG_URL = os.environ.get(
    "PRECOLLECT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""Each store test runs on both; ``-m 'not postgres'`` leaves PostgreSQL out."""


@pytest.fixture(params=BACKENDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A real database of each kind: a SQLite file, and the PostgreSQL server on 127.0.0.1."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return PG_URL


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, unique_name: str):  # type: ignore[no-untyped-def]
    """An empty store database of each kind; on PostgreSQL a fresh schema, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    import sqlalchemy as sa

    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {unique_name}"))
    yield f"{PG_URL}?options=-csearch_path%3D{unique_name}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {unique_name} CASCADE"))
    admin.dispose()


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A table-name suffix unique to this test run, so parallel workers never collide."""
    import uuid

    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def ibm_ledger():  # type: ignore[no-untyped-def]
    """The validated IBM sample ledger."""
    from features.ledger.ingest import load_ledger

    return load_ledger(IBM_DIR, IBM_MAPPING)


@pytest.fixture(scope="session")
def small_synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic ledger folder (3,000 invoices), generated once per test session."""
    from precollect.synth import generate_ledger

    folder = tmp_path_factory.mktemp("synthetic")
    generate_ledger(folder, n_customers=60, n_invoices=3000, seed=21)
    return folder


@pytest.fixture(scope="session")
def prefect_harness():  # type: ignore[no-untyped-def]
    """One temporary Prefect API for the session's flow tests."""
    from pipelines.runtime import use_local_defaults

    use_local_defaults()
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(scope="module")
def dask_client():  # type: ignore[no-untyped-def]
    """A local Dask cluster of 2 single-threaded worker processes, one per test module."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


STRAY = ("mlflow.db", "precollect.db", "mlartifacts", "mlruns")
"""What a command writes into its home: a test that leaves one in the checkout used the default
home (the working folder) where it meant a temporary one."""


@pytest.fixture(autouse=True)
def _nothing_written_into_the_checkout():  # type: ignore[no-untyped-def]
    def stray() -> dict[str, float]:
        # a folder's own time changes only with its direct entries: look at every folder in it
        def latest(path: Path) -> float:
            folders = [path, *(p for p in path.rglob("*") if p.is_dir())] if path.is_dir() else []
            return max(p.stat().st_mtime for p in folders or [path])

        return {n: latest(ROOT / n) for n in STRAY if (ROOT / n).exists()}

    before = stray()
    yield
    written = {n for n, mtime in stray().items() if before.get(n) != mtime}
    assert not written, (
        f"{sorted(written)} written into the checkout ({ROOT}) during this test: by it, or by a "
        "test beside it on another worker (a command run without a temporary PRECOLLECT_HOME)"
    )
