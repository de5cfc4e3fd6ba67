"""Convert raw columns (text from CSV, or typed Parquet/SQL) to canonical types.

A value that is present but cannot be converted becomes missing and is flagged, so the contract
can quarantine its row instead of silently treating it as empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from features.ledger.errors import LedgerError
from features.ledger.schema import DATE_DTYPE, specs

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})
EXAMPLE_ROWS = 5
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


def _number_pattern(decimal: str, thousands: str) -> str:
    """A number written in one declared format: optional sign, grouped or plain digits, decimals."""
    d, t = re.escape(decimal), re.escape(thousands)
    integer = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)" if thousands else r"\d+"
    return rf"[+-]?(?:{integer}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?"


def _to_numbers(raw: pd.Series, decimal: str = ".", thousands: str = ",") -> pd.Series:
    """Numbers from text in the declared format; text in another format becomes missing."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64")
    text = raw.astype("string").str.strip()
    fits = text.str.fullmatch(_number_pattern(decimal, thousands)).fillna(False).astype(bool)
    plain = text.where(fits)
    if thousands:
        plain = plain.str.replace(thousands, "", regex=False)
    plain = plain.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(plain, errors="coerce").astype("float64")


def _check_number_format(
    table: str,
    column: str,
    raw: pd.Series,
    numbers: pd.Series,
    decimal: str,
    thousands: str,
    *,
    text_allowed: bool = False,
) -> None:
    """Refuse a column whose values are written with separators other than the declared ones.

    A value such as ``1.955,16`` under the default format (or ``1,955.16`` under ``decimal = ","``)
    could only be read by guessing, so the whole column is refused, naming its rows. With
    ``text_allowed`` (an extra feature column) only a column whose every value looks numeric is.
    """
    if not _is_text(raw):
        return
    text = raw.astype("string").str.strip()
    looks_numeric = text.str.fullmatch(r"[+-]?[\d.,' ]*\d[\d.,' ]*").fillna(False).astype(bool)
    foreign = looks_numeric & numbers.isna()
    if text_allowed and not looks_numeric[_present(raw)].all():
        return
    if foreign.any():
        rows = [int(r) for r in raw.index[foreign.to_numpy()]]
        shown = ", ".join(map(str, rows[:EXAMPLE_ROWS])) + (
            ", …" if len(rows) > EXAMPLE_ROWS else ""
        )
        raise LedgerError(
            f"{table}.{column}: {len(rows)} value(s) do not match the declared number format "
            f"(decimal {decimal!r}, thousands {thousands!r}), e.g. {text[foreign].iloc[0]!r} in "
            f"rows {shown} (0 = first data row); set decimal and thousands for [{table}] in the "
            "mapping file"
        )


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
    decimal: str = ".",
    thousands: str = ",",
) -> Coerced:
    """Type every canonical column of ``raw``; extra (feature) columns become numbers or text.

    Raises:
        LedgerError: most present values of a column cannot be converted, or a number column
            holds values written in another number format than ``decimal``/``thousands``.
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
            out = _to_numbers(values, decimal, thousands)
            _check_number_format(table, column, values, out, decimal, thousands)
        elif kind == "bool":
            out = _to_bools(values, true_values, false_values)
        elif kind == "string":
            typed[column] = _to_strings(values)
            continue
        else:
            numbers = _to_numbers(values, decimal, thousands)
            present = _present(values)
            if numbers[present].notna().all():
                typed[column] = numbers
                continue
            _check_number_format(
                table, column, values, numbers, decimal, thousands, text_allowed=True
            )
            typed[column] = _to_strings(values)
            continue
        bad = _present(values) & out.isna()
        _check_column_parses(table, column, values, bad)
        typed[column] = out
        unparseable[column] = bad.astype(bool)
    frame = pd.DataFrame(typed, index=raw.index)
    return Coerced(frame=frame, unparseable=unparseable)
