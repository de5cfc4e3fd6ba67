"""The score flow under Prefect's test harness: Prefect's database never holds a password."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import PG_URL
from service_helpers import build_served

from pipelines.flows import score_flow
from pipelines.runtime import hidden
from pipelines.score import ScoreRequest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
PASSWORD = "Sup3rSecretPw"


def with_password(url: str, schema: str) -> str:
    """The test server trusts every login: any password connects, so a real one can be used."""
    base = sa.make_url(url).set(password=PASSWORD)
    return f"{base.render_as_string(hide_password=False)}?options=-csearch_path%3D{schema}"


@pytest.fixture
def ledger_schema(small_synthetic: Path, unique_name: str):  # type: ignore[no-untyped-def]
    """The small ledger's tables in a PostgreSQL schema of their own, dropped afterwards."""
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {unique_name}"))
        for file in small_synthetic.glob("*.parquet"):
            pd.read_parquet(file).to_sql(file.stem, conn, schema=unique_name, index=False)
    yield unique_name
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {unique_name} CASCADE"))
    admin.dispose()


def test_prefect_stores_no_database_password(
    prefect_harness: None,
    small_synthetic: Path,
    ledger_schema: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import get_current_settings

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    served = build_served(tmp_path / "home", small_synthetic, n_versions=1)
    url = with_password(PG_URL, ledger_schema)
    monkeypatch.setenv("PRECOLLECT_HOME", str(served.home))
    monkeypatch.setenv("PRECOLLECT_DATABASE_URL", url)  # the store: the same database
    monkeypatch.setenv("PRECOLLECT_MODEL_NAME", served.model_name)
    request = ScoreRequest(ledger=hidden(url), mapping=small_synthetic / "ledger.toml")
    summary = score_flow(request)
    assert summary["invoices"] > 0  # it did read the ledger and write the store, with the password
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM batches")).scalar() == 1

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=200, sort=FlowRunSort.START_TIME_DESC)
        assert runs, "the flow run was recorded"
        assert PASSWORD not in json.dumps([r.parameters for r in runs], default=str)
        assert any("***" in json.dumps(r.parameters, default=str) for r in runs)
    database = sa.make_url(get_current_settings().server.database.connection_url.get_secret_value())
    assert database.database and Path(database.database).is_file()
    stored = Path(database.database).read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(database.database + suffix)
        stored += extra.read_bytes() if extra.exists() else b""
    assert PASSWORD.encode() not in stored
