"""One switch: ``--dask local`` runs features, train and score on a LocalCluster, with the
in-memory commands' results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from precollect.cli import app

pytestmark = pytest.mark.slow


def test_features_train_and_score_on_a_local_cluster(small_synthetic: Path, tmp_path: Path) -> None:
    # its own MLflow store, whatever URI an earlier test's set-up exported
    env = {
        "PRECOLLECT_HOME": str(tmp_path),
        "PRECOLLECT_DASK_ADDRESS": "",
        "MLFLOW_TRACKING_URI": None,
    }
    runner = CliRunner()
    ledger = ["--ledger", str(small_synthetic)]

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("features", *ledger, "--training", "--out", str(tmp_path / "memory.parquet"))
    run(
        "features",
        *ledger,
        "--training",
        "--out",
        str(tmp_path / "dask.parquet"),
        "--dask",
        "local",
    )
    key = ["invoice_id", "as_of"]
    memory = pd.read_parquet(tmp_path / "memory.parquet").sort_values(key, ignore_index=True)
    on_dask = pd.read_parquet(tmp_path / "dask.parquet")
    assert len(memory) > 1000
    pd.testing.assert_frame_equal(on_dask, memory, check_dtype=False)

    trained = run("train", *ledger, "--folds", "1", "--dask", "local")
    assert "refit on" in trained and "version 1" in trained
    env["PRECOLLECT_DASK_ADDRESS"] = "local"  # the setting, not the option, this time
    scored = run("score", *ledger, "--model-alias", "1")
    assert "scored" in scored
    store = sa.create_engine(f"sqlite:///{tmp_path / 'precollect.db'}")
    with store.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM invoice_scores")).scalar()
    store.dispose()
    assert stored and f"scored {stored:,} open invoices" in scored
