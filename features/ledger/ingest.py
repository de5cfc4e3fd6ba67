"""Ingest: read a ledger, map it, type it, check the contract, quarantine bad rows, report."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from features.ledger.coerce import coerce_table
from features.ledger.contract import rule_failures
from features.ledger.errors import ContractViolation
from features.ledger.ledger import Ledger, resolve_paid_dates, write_ledger
from features.ledger.limits import MAX_BAD_FRACTION
from features.ledger.mapping import Mapping
from features.ledger.schema import Context, rules
from features.ledger.sources import read_raw_tables, resolve_mapping, source_name

EXAMPLES_PER_RULE = 5


@dataclass(frozen=True)
class TableOutcome:
    """One table's valid rows, its quarantined raw rows with reasons, and its failure list."""

    name: str
    rows_in: int
    valid: pd.DataFrame
    quarantine: pd.DataFrame
    failures: pd.DataFrame

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantine)


@dataclass(frozen=True)
class IngestResult:
    ledger: Ledger
    tables: dict[str, TableOutcome] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """The JSON report: per-table counts and every broken rule with its row count."""
        tables = {
            name: {
                "rows_in": t.rows_in,
                "rows_valid": len(t.valid),
                "rows_quarantined": t.rows_quarantined,
            }
            for name, t in self.tables.items()
        }
        failures: list[dict[str, Any]] = []
        for name, t in self.tables.items():
            for rule, rows in t.failures.groupby("rule", sort=True)["index"]:
                failures.append(
                    {
                        "table": name,
                        "rule": str(rule),
                        "message": rules()[str(rule)],
                        "rows": int(rows.size),
                        "example_rows": [int(r) for r in rows.head(EXAMPLES_PER_RULE)],
                    }
                )
        failures.sort(key=lambda f: -int(f["rows"]))
        extracted = self.ledger.extracted_at
        return {
            "tables": tables,
            "failures": failures,
            "extracted_at": None if extracted is None else extracted.date().isoformat(),
        }

    def check_bad_fraction(self, max_bad_fraction: float = MAX_BAD_FRACTION) -> None:
        """Raise when any table quarantined more than ``max_bad_fraction`` of its rows."""
        for name, t in self.tables.items():
            if t.rows_in and t.rows_quarantined / t.rows_in > max_bad_fraction:
                worst = self.report()["failures"][:3]
                named = "; ".join(
                    f"{f['rule']} ({f['rows']} rows, e.g. rows {f['example_rows'][:3]})"
                    for f in worst
                )
                raise ContractViolation(
                    f"{name}: {t.rows_quarantined} of {t.rows_in} rows "
                    f"({t.rows_quarantined / t.rows_in:.1%}) broke the ledger contract, above the "
                    f"{max_bad_fraction:.0%} limit; worst rules: {named}"
                )


def _extraction_date(mapping: Mapping, today: date | None) -> pd.Timestamp:
    if mapping.extracted_at is not None:
        return pd.Timestamp(mapping.extracted_at).normalize()
    return pd.Timestamp(today or date.today())


def _validate_table(name: str, raw: pd.DataFrame, mapping: Mapping, ctx: Context) -> TableOutcome:
    spec = mapping.table(name)
    coerced = coerce_table(
        name,
        raw,
        date_format=spec.date_format,
        true_values=spec.true_values,
        false_values=spec.false_values,
        decimal=spec.decimal,
        thousands=spec.thousands,
    )
    failures = rule_failures(name, coerced, ctx)
    reasons = failures.groupby("index", sort=True)["rule"].agg("; ".join)
    bad = raw.index.isin(reasons.index)
    quarantine = raw[bad].assign(_row=raw.index[bad], _rules=reasons.reindex(raw.index[bad]))
    valid = coerced.frame[~bad].reset_index(drop=True)
    return TableOutcome(name, len(raw), valid, quarantine.reset_index(drop=True), failures)


def validate_tables(
    raw: dict[str, pd.DataFrame],
    mapping: Mapping,
    *,
    today: date | None = None,
    name: str | None = None,
) -> IngestResult:
    """Type and check every table, customers first so that invoices can refer to them.

    Args:
        name: the ledger's name when the mapping gives none.
    """
    extracted_at = _extraction_date(mapping, today)
    outcomes: dict[str, TableOutcome] = {}
    ctx = Context(extracted_at=extracted_at)
    if "customers" in raw:
        outcomes["customers"] = _validate_table("customers", raw["customers"], mapping, ctx)
        ctx = Context(extracted_at, known_customers=outcomes["customers"].valid["customer_id"])
    outcomes["invoices"] = _validate_table("invoices", raw["invoices"], mapping, ctx)
    if "payments" in raw:
        known = outcomes["invoices"].valid["invoice_id"]
        ctx = Context(extracted_at, known_invoices=known)
        outcomes["payments"] = _validate_table("payments", raw["payments"], mapping, ctx)
    payments = outcomes["payments"].valid if "payments" in outcomes else None
    ledger = Ledger(
        invoices=resolve_paid_dates(outcomes["invoices"].valid, payments),
        customers=outcomes["customers"].valid if "customers" in outcomes else None,
        payments=payments,
        extracted_at=extracted_at,
        feature_columns=mapping.table("invoices").features,
        name=mapping.name or name,
    )
    return IngestResult(ledger=ledger, tables=outcomes)


def ingest(
    source: str | Path, mapping_path: Path | None = None, *, today: date | None = None
) -> IngestResult:
    """Read, map and validate a ledger folder or SQL database (see :mod:`features.ledger.sources`)."""
    mapping = resolve_mapping(source, mapping_path)
    raw = read_raw_tables(source, mapping)
    return validate_tables(raw, mapping, today=today, name=source_name(source))


def load_ledger(
    source: str | Path,
    mapping_path: Path | None = None,
    *,
    max_bad_fraction: float = MAX_BAD_FRACTION,
) -> Ledger:
    """Ingest and return the valid ledger, failing if too many rows broke the contract."""
    result = ingest(source, mapping_path)
    result.check_bad_fraction(max_bad_fraction)
    result.ledger.require_invoices()
    return result.ledger


LEDGER_FILES = ("invoices.parquet", "customers.parquet", "payments.parquet", "ledger.toml")


def _write_all(result: IngestResult, folder: Path) -> None:
    write_ledger(result.ledger, folder)
    quarantine_dir = folder / "quarantine"
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    for name, t in result.tables.items():
        t.quarantine.to_csv(quarantine_dir / f"{name}.csv", index=False)
    (folder / "report.json").write_text(json.dumps(result.report(), indent=2))


def _move_into(staging: Path, out: Path, names: tuple[str, ...] | None = None) -> None:
    """Move the staged files into ``out``; a ledger table this run did not write is removed."""
    out.mkdir(parents=True, exist_ok=True)
    if names is None:
        for stale in LEDGER_FILES:
            if not (staging / stale).exists():
                (out / stale).unlink(missing_ok=True)
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging)
        if path.is_dir() or (names is not None and relative.parts[0] not in names):
            continue
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, out / relative)


def rejected_folder(out: Path) -> Path:
    """Where a failed ingest leaves its quarantine and report: beside ``out``, never in it."""
    return out.with_name(f"{out.name}.rejected")


def write_outputs(
    result: IngestResult,
    out: Path,
    report_json: Path | None = None,
    *,
    max_bad_fraction: float | None = None,
) -> None:
    """Write the clean ledger, the quarantine (one CSV per table with reasons) and the report.

    Everything is written to a temporary folder beside ``out`` and moved into ``out`` only when
    the run passes ``max_bad_fraction`` (unchecked when ``None``), so a failed ingest never leaves
    a ledger that ``train`` would read.

    Raises:
        ContractViolation: too many bad rows; ``out`` is untouched and the quarantine and report
            are in :func:`rejected_folder`.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        staging = Path(tmp)
        _write_all(result, staging)
        if report_json is not None:
            report_json.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging / "report.json", report_json)
        try:
            if max_bad_fraction is not None:
                result.check_bad_fraction(max_bad_fraction)
        except ContractViolation as exc:
            rejected = rejected_folder(out)
            shutil.rmtree(rejected, ignore_errors=True)
            _move_into(staging, rejected, names=("quarantine", "report.json"))
            raise ContractViolation(
                f"{exc}; nothing written to {out}, the quarantine and report are in {rejected}"
            ) from None
        _move_into(staging, out)
        shutil.rmtree(rejected_folder(out), ignore_errors=True)
