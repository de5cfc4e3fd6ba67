"""Ingest end to end: the real sample, sources (folder, Parquet, SQL), paid dates, reconciliation."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from features.ledger.errors import LedgerError
from features.ledger.ingest import ingest, validate_tables, write_outputs
from features.ledger.ledger import resolve_paid_dates
from features.ledger.mapping import Mapping
from precollect.cli import app

runner = CliRunner()


def test_ibm_sample_passes_the_contract(ibm_dir: Path, ibm_mapping: Path, tmp_path: Path) -> None:
    """Data test: the real sample, through the CLI, is 2,466 valid invoices and 0 quarantined."""
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "ingest",
            "--ledger",
            str(ibm_dir),
            "--mapping",
            str(ibm_mapping),
            "--out",
            str(tmp_path / "clean"),
            "--report-json",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["tables"]["invoices"] == {
        "rows_in": 2466,
        "rows_valid": 2466,
        "rows_quarantined": 0,
    }
    assert report["tables"]["customers"]["rows_valid"] == 100
    assert report["failures"] == []
    clean = pd.read_parquet(tmp_path / "clean" / "invoices.parquet")
    assert len(clean) == 2466 and clean["invoice_id"].is_unique
    late = clean["paid_date"] > clean["due_date"]
    assert int(late.sum()) == 877  # PROVENANCE.md: DaysLate > 0 on 877 rows


def test_clean_ledger_reads_back_identically(
    ibm_dir: Path, ibm_mapping: Path, tmp_path: Path
) -> None:
    first = ingest(ibm_dir, ibm_mapping)
    write_outputs(first, tmp_path)
    second = ingest(tmp_path)  # uses the ledger.toml written beside the Parquet files
    pd.testing.assert_frame_equal(first.ledger.invoices, second.ledger.invoices)
    assert second.report()["tables"]["invoices"]["rows_quarantined"] == 0


def test_ledger_from_sql(
    ibm_dir: Path, ibm_mapping: Path, tmp_path: Path, sql_url: str, unique_name: str
) -> None:
    frames = ingest(ibm_dir, ibm_mapping).ledger
    engine = sa.create_engine(sql_url)
    table = f"ar_invoices_{unique_name}"
    frames.invoices.astype({"disputed": "bool"}).to_sql(table, engine, index=False)
    mapping = tmp_path / "sql.toml"
    mapping.write_text(f'[invoices]\ntable = "{table}"\n')
    try:
        result = ingest(sql_url, mapping)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
    assert len(result.ledger.invoices) == 2466
    assert result.report()["failures"] == []

    def by_id(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.sort_values("invoice_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(by_id(result.ledger.invoices), by_id(frames.invoices))


def test_missing_required_column_is_one_line(tmp_path: Path) -> None:
    pd.DataFrame({"invoice_id": ["1"], "customer_id": ["c"]}).to_csv(tmp_path / "invoices.csv")
    with pytest.raises(
        LedgerError, match=r"required column\(s\) \['issue_date', 'due_date', 'amount'\]"
    ):
        ingest(tmp_path)
    result = runner.invoke(app, ["ingest", "--ledger", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "required column" in result.output and "Traceback" not in result.output


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "invoices.parquet").write_bytes(b"not parquet")
    with pytest.raises(LedgerError, match="cannot read"):
        ingest(tmp_path)


def test_paid_date_is_when_payments_first_cover_the_amount() -> None:
    invoices = pd.DataFrame(
        {
            "invoice_id": ["A", "B", "C"],
            "amount": [100.0, 50.0, 70.0],
            "paid_date": pd.to_datetime([None, None, "2024-02-01"]),
        }
    )
    payments = pd.DataFrame(
        {
            "invoice_id": ["A", "A", "A", "B"],
            "payment_date": pd.to_datetime(
                ["2024-01-20", "2024-01-10", "2024-01-25", "2024-01-05"]
            ),
            "amount": [30.0, 40.0, 30.0, 20.0],
        }
    )
    paid = resolve_paid_dates(invoices, payments).set_index("invoice_id")["paid_date"]
    assert paid["A"] == pd.Timestamp("2024-01-25")  # 40 + 30 + 30 covers 100 on the 25th
    assert pd.isna(paid["B"])  # partly paid: still open
    assert paid["C"] == pd.Timestamp("2024-02-01")  # no payments: keeps its own paid date


rows = st.fixed_dictionaries(
    {
        "invoice_id": st.sampled_from(["I1", "I2", "I3", "I4", "", "I1 "]),
        "customer_id": st.sampled_from(["C1", "C2", "", "C9"]),
        "issue_date": st.sampled_from(["2024-01-01", "2024-03-01", "2024-02-30", "", "x"]),
        "due_date": st.sampled_from(["2024-01-31", "2024-02-15", "2023-12-01", ""]),
        "amount": st.sampled_from(["10", "0", "-3", "1e3", "nan", "abc", ""]),
        "paid_date": st.sampled_from(["", "2024-02-01", "2025-01-01", "nope"]),
        "currency": st.sampled_from(["USD", "EUR", "ZZZ", ""]),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=1, max_size=25))
def test_ingest_never_loses_or_invents_rows(records: list[dict]) -> None:
    """Property: every input row ends up valid or quarantined, exactly once."""
    raw = pd.DataFrame(records, dtype="object")
    customers = pd.DataFrame({"customer_id": ["C1", "C2"]}, dtype="object")
    try:
        result = validate_tables(
            {"invoices": raw, "customers": customers}, Mapping(), today=date(2024, 12, 31)
        )
    except LedgerError:
        return  # whole column unparseable: refused outright, nothing half-ingested
    t = result.tables["invoices"]
    assert t.rows_in == len(raw) == len(t.valid) + t.rows_quarantined
    assert t.quarantine["_row"].is_unique
    assert t.quarantine["_rules"].str.len().gt(0).all()
    assert t.valid["invoice_id"].is_unique
    assert (t.valid["amount"] > 0).all()


def test_every_injected_bad_row_is_quarantined_with_its_rule(tmp_path: Path) -> None:
    """synth --dirty then ingest: the quarantine is exactly the injected rows, each with its rule."""
    raw = tmp_path / "raw"
    result = runner.invoke(
        app,
        [
            "synth",
            "--customers",
            "60",
            "--invoices",
            "4000",
            "--seed",
            "3",
            "--dirty",
            "0.02",
            "--out",
            str(raw),
        ],
    )
    assert result.exit_code == 0, result.output
    injected = pd.read_csv(raw / "injected_faults.csv")
    assert len(injected) >= 60 and injected["rule"].nunique() == 5
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            "ingest",
            "--ledger",
            str(raw),
            "--out",
            str(tmp_path / "clean"),
            "--report-json",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    quarantine = pd.read_csv(tmp_path / "clean" / "quarantine" / "invoices.csv", dtype=str)
    found = {
        (int(r), rules) for r, rules in zip(quarantine["_row"], quarantine["_rules"], strict=True)
    }
    expected = {(int(r), rule) for r, rule in zip(injected["row"], injected["rule"], strict=True)}
    assert found == expected
    report = json.loads(report_path.read_text())
    for name, counts in report["tables"].items():
        assert counts["rows_in"] == counts["rows_valid"] + counts["rows_quarantined"], name
    assert report["tables"]["invoices"]["rows_quarantined"] == len(injected)
