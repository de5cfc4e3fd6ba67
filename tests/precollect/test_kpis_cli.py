"""``precollect kpis`` from the command line: a month-end trend, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from features.ledger.ingest import load_ledger
from models.decisions.kpis import kpis_at
from precollect.cli import app


def test_kpis_writes_one_row_per_month_end(small_synthetic: Path, tmp_path: Path) -> None:
    out = tmp_path / "kpis.csv"
    last = load_ledger(small_synthetic).last_date()
    start = (last - pd.DateOffset(months=3)).normalize()
    args = ["kpis", "--ledger", str(small_synthetic), "--from", str(start.date())]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--by", "segment"])
    assert result.exit_code == 0, result.output
    trend = pd.read_csv(out, parse_dates=["as_of"])
    portfolio = trend[trend["group"] == "all"]
    assert portfolio["as_of"].iloc[-1] == pd.Timestamp(last).normalize()
    assert len(portfolio) in (3, 4)
    assert trend["group"].nunique() > 1  # one row per segment and month as well
    expected = kpis_at(load_ledger(small_synthetic), portfolio["as_of"].iloc[0])
    assert portfolio["dso"].iloc[0] == expected["dso"]

    backwards = CliRunner().invoke(app, [*args, "--to", "2000-01-01", "--out", str(out)])
    assert backwards.exit_code == 1 and "before --from" in backwards.output
    assert "Traceback" not in backwards.output
