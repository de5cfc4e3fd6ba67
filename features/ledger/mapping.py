"""Mapping files: turn a user's own export into the canonical ledger without code.

A mapping is a TOML file with one section per canonical table::

    [ledger]
    name = "acme-ar"                   # optional; default: the ledger folder's name
    extracted_at = "2014-01-09"        # optional; default: the day of the run

    [invoices]
    file = "export.csv"                # or: table = "ar_invoices" for a SQL source
    delimiter = ";"                    # CSV field separator (default ",")
    decimal = ","                      # decimal mark of number columns (default ".")
    thousands = "."                    # thousands separator, "" for none (default ",")
    encoding = "latin-1"               # CSV text encoding (default "utf-8")
    date_format = "%m/%d/%Y"           # strftime format of every date column (default ISO 8601)
    true_values = ["Yes"]              # extra spellings of yes/no flags
    false_values = ["No"]
    constants = { currency = "USD" }   # canonical columns the export does not have
    features = ["country_code"]        # extra columns to keep as model features

    [invoices.columns]                 # canonical name = column in the export
    invoice_id = "invoiceNumber"
    country_code = "countryCode"

    [customers]
    from = "invoices"                  # derive one row per customer from another table's columns
    [customers.columns]
    customer_id = "customerID"
"""

from __future__ import annotations

import codecs
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.ledger.errors import LedgerError
from features.ledger.schema import TABLES


@dataclass(frozen=True)
class TableMapping:
    """How one canonical table is read and renamed."""

    file: str | None = None
    sql_table: str | None = None
    derive_from: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()
    constants: dict[str, Any] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ","
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Mapping:
    tables: dict[str, TableMapping] = field(default_factory=dict)
    extracted_at: str | None = None
    name: str | None = None

    def table(self, name: str) -> TableMapping:
        return self.tables.get(name, TableMapping())


TABLE_KEYS = {
    "file",
    "table",
    "from",
    "columns",
    "date_format",
    "true_values",
    "false_values",
    "constants",
    "features",
    "delimiter",
    "decimal",
    "thousands",
    "encoding",
}
DECIMAL_MARKS = (".", ",")
THOUSANDS_SEPARATORS = (",", ".", " ", "'", "")


def _number_format(name: str, raw: dict[str, Any], where: str) -> tuple[str, str]:
    """The table's decimal mark and thousands separator, refused when unusable or equal."""
    decimal, thousands = raw.get("decimal", "."), raw.get("thousands")
    if decimal not in DECIMAL_MARKS:
        raise LedgerError(
            f"{where}: [{name}] decimal = {decimal!r}; expected one of {DECIMAL_MARKS}"
        )
    if thousands is None:
        thousands = "," if decimal == "." else "."
    if thousands not in THOUSANDS_SEPARATORS:
        raise LedgerError(
            f"{where}: [{name}] thousands = {thousands!r}; expected one of {THOUSANDS_SEPARATORS}"
        )
    if thousands == decimal:
        raise LedgerError(f"{where}: [{name}] decimal and thousands are both {decimal!r}")
    return decimal, thousands


def _text_format(name: str, raw: dict[str, Any], where: str) -> tuple[str, str]:
    """The table's CSV delimiter (one character) and encoding (one Python knows)."""
    delimiter, encoding = raw.get("delimiter", ","), raw.get("encoding", "utf-8")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise LedgerError(f"{where}: [{name}] delimiter = {delimiter!r} is not one character")
    try:
        codecs.lookup(str(encoding))
    except LookupError:
        raise LedgerError(f"{where}: [{name}] encoding = {encoding!r} is not known") from None
    return delimiter, str(encoding)


def _table_mapping(name: str, raw: dict[str, Any], where: str) -> TableMapping:
    unknown = set(raw) - TABLE_KEYS
    if unknown:
        raise LedgerError(f"{where}: [{name}] has unknown keys {sorted(unknown)}")
    derive_from = raw.get("from")
    if derive_from is not None and derive_from not in TABLES:
        raise LedgerError(f"{where}: [{name}] from = {derive_from!r} is not a ledger table")
    decimal, thousands = _number_format(name, raw, where)
    delimiter, encoding = _text_format(name, raw, where)
    return TableMapping(
        file=raw.get("file"),
        sql_table=raw.get("table"),
        derive_from=derive_from,
        columns={str(k): str(v) for k, v in raw.get("columns", {}).items()},
        date_format=raw.get("date_format"),
        true_values=tuple(raw.get("true_values", ())),
        false_values=tuple(raw.get("false_values", ())),
        constants=dict(raw.get("constants", {})),
        features=tuple(raw.get("features", ())),
        delimiter=delimiter,
        decimal=decimal,
        thousands=thousands,
        encoding=encoding,
    )


def parse_mapping(data: dict[str, Any], where: str = "mapping") -> Mapping:
    """Build a :class:`Mapping` from parsed TOML, refusing unknown sections and keys."""
    unknown = set(data) - set(TABLES) - {"ledger"}
    if unknown:
        raise LedgerError(f"{where}: unknown sections {sorted(unknown)}; expected {sorted(TABLES)}")
    tables = {
        name: _table_mapping(name, section, where)
        for name, section in data.items()
        if name in TABLES
    }
    section = data.get("ledger", {})
    extracted_at, name = section.get("extracted_at"), section.get("name")
    return Mapping(
        tables=tables,
        extracted_at=None if extracted_at is None else str(extracted_at),
        name=None if name is None else str(name),
    )


def load_mapping(path: Path | None) -> Mapping:
    """Read a mapping file; ``None`` means the ledger is already canonical."""
    if path is None:
        return Mapping()
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LedgerError(f"mapping file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise LedgerError(f"mapping file {path} is not valid TOML: {exc}") from None
    return parse_mapping(data, where=str(path))
