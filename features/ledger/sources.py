"""Read the raw tables of a ledger from a folder (CSV or Parquet) or a SQL database.

Output frames carry canonical column names (after the mapping) but raw values; typing and
validation happen in :mod:`features.ledger.contract`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.ledger.errors import LedgerError
from features.ledger.mapping import Mapping, TableMapping, load_mapping
from features.ledger.schema import REQUIRED_TABLES, columns_of, specs

MANIFEST = "ledger.toml"
_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_DELIMITERS = (",", ";", "\t", "|")


def is_sql_url(source: str | Path) -> bool:
    return "://" in str(source)


def source_name(source: str | Path) -> str:
    """A ledger's default name: its folder (or file) name, or its database's name."""
    if is_sql_url(source):
        import sqlalchemy as sa

        database = sa.make_url(str(source)).database or "ledger"
        return Path(database).stem
    path = Path(source).resolve()
    return path.stem if path.is_file() else path.name


def resolve_mapping(source: str | Path, mapping_path: Path | None) -> Mapping:
    """The explicit mapping, else the folder's own ``ledger.toml``, else the canonical default."""
    if mapping_path is not None:
        return load_mapping(mapping_path)
    if not is_sql_url(source) and (Path(source) / MANIFEST).is_file():
        return load_mapping(Path(source) / MANIFEST)
    return Mapping()


def _find_file(folder: Path, name: str, spec: TableMapping) -> Path | None:
    if spec.file is not None:
        path = folder / spec.file
        if not path.is_file():
            raise LedgerError(f"{name}: file {path} does not exist")
        return path
    for suffix in _SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def read_file(path: Path, spec: TableMapping | None = None) -> pd.DataFrame:
    """Read one CSV (every column as text, in the table's delimiter and encoding) or Parquet file.

    Raises:
        LedgerError: the file cannot be read, is not in the declared encoding, or has one column
            only while its header holds another common delimiter.
    """
    spec = spec or TableMapping()
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            sep=spec.delimiter,
            encoding=spec.encoding,
        )
    except UnicodeDecodeError as exc:
        raise LedgerError(
            f"cannot read {path}: it is not {spec.encoding} text (it holds byte "
            f'{exc.object[exc.start]:#04x}); set encoding = "latin-1" (or its real encoding) in '
            "the mapping's table section"
        ) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LedgerError(f"cannot read {path}: {first_line}") from None
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        other = next((d for d in _DELIMITERS if d != spec.delimiter and d in header), None)
        if other is not None:
            raise LedgerError(
                f"cannot read {path}: one column only, but its header holds {other!r}; "
                f"set delimiter = {other!r} in the mapping's table section"
            )
    return frame


def _read_sql(url: str, table: str) -> pd.DataFrame:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            return pd.read_sql_table(table, conn)
    except (sa.exc.SQLAlchemyError, ValueError) as exc:
        raise LedgerError(f"cannot read table {table!r} from {_redact(url)}: {exc}") from None


def _has_table(url: str, table: str) -> bool:
    import sqlalchemy as sa

    try:
        return sa.inspect(sa.create_engine(url)).has_table(table)
    except sa.exc.SQLAlchemyError as exc:
        raise LedgerError(f"cannot connect to {_redact(url)}: {exc}") from None


def _redact(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


def apply_columns(raw: pd.DataFrame, name: str, spec: TableMapping, origin: str) -> pd.DataFrame:
    """Rename export columns to canonical ones, add constants and keep only what is used.

    Raises:
        LedgerError: a mapped or required canonical column is absent.
    """
    wanted = columns_of(name) + list(spec.features)
    renamed = {}
    for canonical in wanted:
        source = spec.columns.get(canonical, canonical)
        if source in raw.columns:
            renamed[canonical] = raw[source]
        elif canonical in spec.columns:
            raise LedgerError(
                f"{origin}: column {source!r} (mapped to {name}.{canonical}) is missing; "
                f"it has {list(raw.columns)}"
            )
    out = pd.DataFrame(renamed, index=raw.index)
    for column, value in spec.constants.items():
        out[column] = value
    out = out[[c for c in wanted if c in out.columns]]
    missing = [c.name for c in specs(name) if c.required and c.name not in out.columns]
    if missing:
        raise LedgerError(
            f"{origin}: required column(s) {missing} missing from {name}; it has {list(raw.columns)}"
        )
    return out.reset_index(drop=True)


def _derive(frames: dict[str, pd.DataFrame], name: str, spec: TableMapping) -> pd.DataFrame:
    """One row per key of ``name`` taken from another table's raw columns (first occurrence)."""
    assert spec.derive_from is not None
    base = frames.get(f"_raw_{spec.derive_from}")
    if base is None:
        raise LedgerError(f"{name}: from = {spec.derive_from!r} but that table was not read")
    table = apply_columns(base, name, spec, origin=f"{name} (from {spec.derive_from})")
    key = next(c.name for c in specs(name) if c.required)
    return table.drop_duplicates(subset=[key], keep="first").reset_index(drop=True)


def read_raw_tables(source: str | Path, mapping: Mapping) -> dict[str, pd.DataFrame]:
    """Read every ledger table present at ``source`` and rename it to canonical columns.

    ``source`` is a folder, a SQLAlchemy URL, or one CSV/Parquet file that is the invoices table
    (customers and payments can then only be derived from it with ``from = "invoices"``).

    Returns:
        Canonical table name -> raw frame (positional index = source row number).
    """
    frames: dict[str, pd.DataFrame] = {}
    for name in ("invoices", "customers", "payments"):
        spec = mapping.table(name)
        if spec.derive_from is not None:
            continue
        if is_sql_url(source):
            if (
                spec.sql_table is None
                and name not in REQUIRED_TABLES
                and not _has_table(str(source), name)
            ):
                continue
            raw = _read_sql(str(source), spec.sql_table or name)
            origin = f"table {spec.sql_table or name}"
        elif Path(source).is_file():  # one export file: the invoices table, nothing else
            if name != "invoices":
                continue
            raw = read_file(Path(source), spec)
            origin = str(source)
        else:
            folder = Path(source)
            if not folder.is_dir():
                raise LedgerError(f"ledger folder or file {folder} does not exist")
            path = _find_file(folder, name, spec)
            if path is None:
                if name in REQUIRED_TABLES:
                    raise LedgerError(
                        f"no {name} table in {folder} (expected {name}.csv or .parquet)"
                    )
                continue
            raw = read_file(path, spec)
            origin = str(path)
        frames[f"_raw_{name}"] = raw
        frames[name] = apply_columns(raw, name, spec, origin)
    for name in ("customers", "payments"):
        spec = mapping.table(name)
        if spec.derive_from is not None:
            frames[name] = _derive(frames, name, spec)
    return {k: v for k, v in frames.items() if not k.startswith("_raw_")}
