"""Real exports: delimiter, decimal, thousands and encoding keys; one file as the ledger; refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.ledger.errors import LedgerError
from features.ledger.ingest import ingest
from features.ledger.mapping import parse_mapping
from precollect.cli import app
from tests.exports import EUROPEAN_MAPPING, write_european_export

runner = CliRunner()


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """300 invoices of a synthetic ledger, with amounts above 1,000 and below."""
    from precollect.synth import generate_ledger

    folder = tmp_path_factory.mktemp("synth")
    generate_ledger(folder, n_customers=30, n_invoices=300, seed=21, end=date(2025, 6, 30))
    invoices = ingest(folder).ledger.invoices
    assert (invoices["amount"] > 1000).any() and (invoices["amount"] < 1000).any()
    return invoices


def _ingest(args: list[str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["ingest", *args], catch_exceptions=False)


def test_european_export_reads_the_same_amounts_and_dates(
    canonical: pd.DataFrame, tmp_path: Path
) -> None:
    """`;`, `1.955,16`, DD.MM.YYYY, latin-1, one file as --ledger: every value as the original."""
    export, mapping = tmp_path / "export.csv", tmp_path / "mapping.toml"
    write_european_export(canonical, export, mapping=mapping, extracted_at="2025-06-30")
    result = _ingest(
        ["--ledger", str(export), "--mapping", str(mapping), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    clean = pd.read_parquet(tmp_path / "o" / "invoices.parquet")
    assert len(clean) == len(canonical)
    both = clean.merge(canonical, on="invoice_id", suffixes=("", "_orig"))
    assert len(both) == len(canonical)
    assert (both["amount"] - both["amount_orig"]).abs().max() < 0.006
    assert clean["amount"].sum() == pytest.approx(canonical["amount"].sum(), abs=1)
    for column in ("issue_date", "due_date", "paid_date"):
        pd.testing.assert_series_equal(
            both[column], both[f"{column}_orig"], check_names=False, check_dtype=False
        )
    assert both["disputed"].astype(bool).equals(both["disputed_orig"].astype(bool))


def test_numbers_in_another_format_are_refused_naming_rows(
    canonical: pd.DataFrame, tmp_path: Path
) -> None:
    """Without decimal/thousands, `1.955,16` and `560,83` are refused, not read as 1.95516."""
    export, mapping = tmp_path / "export.csv", tmp_path / "mapping.toml"
    write_european_export(canonical, export, mapping=mapping, extracted_at="2025-06-30")
    text = mapping.read_text().replace('decimal = ","\n', "").replace('thousands = "."\n', "")
    mapping.write_text(text)
    result = _ingest(
        ["--ledger", str(export), "--mapping", str(mapping), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = " ".join(result.output.split())
    assert "invoices.amount" in line and "do not match the declared number format" in line
    assert "rows 0, 1, 2" in line and "[invoices]" in line
    assert not (tmp_path / "o").exists()


def test_the_ambiguous_rows_are_the_ones_named(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "invoice_id": ["a", "b", "c", "d"],
            "customer_id": ["x"] * 4,
            "issue_date": ["2025-01-01"] * 4,
            "due_date": ["2025-02-01"] * 4,
            "amount": ["1,250.50", "99", "1.250,50", "12,5"],
        }
    )
    frame.to_csv(tmp_path / "invoices.csv", index=False)
    with pytest.raises(LedgerError, match=r"2 value\(s\).*'1.250,50' in rows 2, 3 "):
        ingest(tmp_path, today=date(2025, 3, 1))
    valid = frame.iloc[:2]
    valid.to_csv(tmp_path / "invoices.csv", index=False)
    amounts = ingest(tmp_path, today=date(2025, 3, 1)).ledger.invoices["amount"]
    assert amounts.tolist() == [1250.5, 99.0]


def test_latin1_without_encoding_is_one_line(canonical: pd.DataFrame, tmp_path: Path) -> None:
    export, mapping = tmp_path / "export.csv", tmp_path / "mapping.toml"
    write_european_export(canonical, export, mapping=mapping, extracted_at="2025-06-30")
    mapping.write_text(mapping.read_text().replace('encoding = "latin-1"\n', ""))
    result = _ingest(
        ["--ledger", str(export), "--mapping", str(mapping), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    line = " ".join(result.output.split())
    assert "is not utf-8 text" in line and 'encoding = "latin-1"' in line
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2


def test_wrong_delimiter_is_named(canonical: pd.DataFrame, tmp_path: Path) -> None:
    export, mapping = tmp_path / "export.csv", tmp_path / "mapping.toml"
    write_european_export(canonical, export, mapping=mapping, extracted_at="2025-06-30")
    mapping.write_text(mapping.read_text().replace('delimiter = ";"\n', ""))
    with pytest.raises(LedgerError, match="set delimiter = ';'"):
        ingest(export, mapping)


def test_mapping_error_keeps_the_table_name(tmp_path: Path) -> None:
    """Rich must not swallow `[invoices]` as markup."""
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[invoices]\ndate_fromat = "%d.%m.%Y"\n')
    (tmp_path / "invoices.csv").write_text("invoice_id\n1\n")
    result = _ingest(
        ["--ledger", str(tmp_path), "--mapping", str(mapping), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "[invoices] has unknown keys ['date_fromat']" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"decimal": ",", "thousands": ","}, "both ','"),
        ({"decimal": ";"}, "decimal = ';'"),
        ({"delimiter": ";;"}, "not one character"),
        ({"encoding": "latin-9000"}, "not known"),
    ],
)
def test_unusable_formats_are_refused(keys: dict[str, str], message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        parse_mapping({"invoices": keys})


def test_decimal_comma_defaults_to_dot_thousands() -> None:
    spec = parse_mapping({"invoices": {"decimal": ","}}).table("invoices")
    assert (spec.decimal, spec.thousands, spec.delimiter, spec.encoding) == (",", ".", ",", "utf-8")


def test_failed_ingest_writes_nothing_train_could_read(
    canonical: pd.DataFrame, tmp_path: Path
) -> None:
    """30 % bad rows: exit 1, the previous clean ledger stays as it was, the quarantine is beside."""
    source, out = tmp_path / "src", tmp_path / "clean"
    source.mkdir()
    good = canonical.assign(
        issue_date=canonical["issue_date"].dt.strftime("%Y-%m-%d"),
        due_date=canonical["due_date"].dt.strftime("%Y-%m-%d"),
        paid_date=canonical["paid_date"].dt.strftime("%Y-%m-%d"),
    )
    good.to_csv(source / "invoices.csv", index=False)
    (source / "ledger.toml").write_text('[ledger]\nextracted_at = "2025-06-30"\n')
    assert _ingest(["--ledger", str(source), "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.glob("*") if p.is_file()}
    bad = good.copy()
    bad.loc[bad.index[: len(bad) * 3 // 10], "amount"] = -5.0
    bad.to_csv(source / "invoices.csv", index=False)
    result = _ingest(["--ledger", str(source), "--out", str(out)])
    assert result.exit_code == 1
    assert "nothing written to" in " ".join(result.output.split())
    assert {p.name: p.read_bytes() for p in out.glob("*") if p.is_file()} == before
    rejected = tmp_path / "clean.rejected"
    report = json.loads((rejected / "report.json").read_text())
    assert report["tables"]["invoices"]["rows_quarantined"] == len(bad) * 3 // 10
    assert len(pd.read_csv(rejected / "quarantine" / "invoices.csv")) == len(bad) * 3 // 10
    fresh = tmp_path / "fresh"
    assert _ingest(["--ledger", str(source), "--out", str(fresh)]).exit_code == 1
    assert not fresh.exists()
    home = tmp_path / "home"
    train = runner.invoke(
        app, ["train", "--ledger", str(fresh)], env={"PRECOLLECT_HOME": str(home)}
    )
    assert train.exit_code == 1 and "does not exist" in train.output
    assert not (home / "mlflow.db").exists()  # nothing created for a command that failed


def test_the_mapping_docs_name_every_key() -> None:
    from features.ledger.mapping import TABLE_KEYS

    docs = (Path(__file__).resolve().parents[3] / "data" / "README.md").read_text()
    assert all(f"{key} = " in docs or f"[invoices.{key}]" in docs for key in TABLE_KEYS)
    assert all(
        line.split(" = ")[0] in docs for line in EUROPEAN_MAPPING.splitlines() if " = " in line
    )
