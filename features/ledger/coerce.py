"""Convert raw columns (text from CSV, or typed Parquet/SQL) to canonical types.

A value that is present but cannot be converted becomes missing and is flagged, so the contract
can quarantine its row instead of silently treating it as empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.ledger.errors import LedgerError
from features.ledger.schema import DATE_DTYPE, specs

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})
UNPARSEABLE_COLUMN_SHARE = 0.5
"""Above this share of unparseable values a column is taken to be in the wrong format."""


@dataclass(frozen=True)
class Coerced:
    """A typed table plus, per column, the rows whose present value could not be converted."""

    frame: pd.DataFrame
    unparseable: dict[str, pd.Series]


def _present(raw: pd.Series) -> pd.Series:
    if _is_text(raw):
        text = raw.astype("string").str.strip()
        return text.notna() & (text != "")
    return raw.notna()


def _is_text(raw: pd.Series) -> bool:
    return raw.dtype == object or isinstance(raw.dtype, pd.StringDtype)


def _to_dates(raw: pd.Series, date_format: str | None) -> pd.Series:
    if _is_text(raw) and not pd.api.types.is_datetime64_any_dtype(raw):
        text = raw.astype("string").str.strip()
        parsed = pd.to_datetime(text, format=date_format or "ISO8601", errors="coerce")
    else:
        parsed = pd.to_datetime(raw, errors="coerce")
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.normalize().astype(DATE_DTYPE)


def _to_numbers(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    text = raw.astype("string").str.strip().str.replace(",", "", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _to_bools(
    raw: pd.Series, true_values: tuple[str, ...], false_values: tuple[str, ...]
) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("boolean")
    words = raw.astype("string").str.strip()
    lower = words.str.lower()
    is_true = lower.isin(TRUE_WORDS) | words.isin(true_values)
    is_false = lower.isin(FALSE_WORDS) | words.isin(false_values)
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[is_true.fillna(False).astype(bool)] = True
    out[is_false.fillna(False).astype(bool)] = False
    return out


def _to_strings(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return text.mask(text == "")


def _check_column_parses(table: str, column: str, raw: pd.Series, bad: pd.Series) -> None:
    present = int(_present(raw).sum())
    n_bad = int(bad.sum())
    if present and n_bad / present > UNPARSEABLE_COLUMN_SHARE:
        example = raw[bad].astype("string").iloc[0]
        raise LedgerError(
            f"{table}.{column}: {n_bad} of {present} values cannot be parsed (e.g. {example!r}); "
            "set date_format (or fix the column) in the mapping file"
        )


def coerce_table(
    table: str,
    raw: pd.DataFrame,
    *,
    date_format: str | None = None,
    true_values: tuple[str, ...] = (),
    false_values: tuple[str, ...] = (),
) -> Coerced:
    """Type every canonical column of ``raw``; extra (feature) columns become numbers or text.

    Raises:
        LedgerError: most present values of a column cannot be converted.
    """
    by_name = {c.name: c for c in specs(table)}
    typed: dict[str, pd.Series] = {}
    unparseable: dict[str, pd.Series] = {}
    for column in raw.columns:
        values = raw[column]
        spec = by_name.get(column)
        kind = spec.kind if spec else None
        if kind == "date":
            out = _to_dates(values, date_format)
        elif kind == "number":
            out = _to_numbers(values)
        elif kind == "bool":
            out = _to_bools(values, true_values, false_values)
        elif kind == "string":
            typed[column] = _to_strings(values)
            continue
        else:
            numbers = _to_numbers(values)
            present = _present(values)
            typed[column] = numbers if numbers[present].notna().all() else _to_strings(values)
            continue
        bad = _present(values) & out.isna()
        _check_column_parses(table, column, values, bad)
        typed[column] = out
        unparseable[column] = bad.astype(bool)
    frame = pd.DataFrame(typed, index=raw.index)
    return Coerced(frame=frame, unparseable=unparseable)
