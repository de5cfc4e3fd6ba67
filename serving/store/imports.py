"""The CSV files an operator imports into the store: contacts and do-not-contact flags.

Each file is checked whole before anything is written; a broken file is refused with one line
naming the rules broken and the lines that break them (line 1 is the header).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SHOWN_LINES = 5


class BadImport(ValueError):
    """The file cannot be imported; the message is one line for the operator."""


def read_csv(path: Path, required: set[str]) -> pd.DataFrame:
    """Every cell as text (missing ones as NaN); refuses unreadable files and missing columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise BadImport(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadImport(f"{path}: not a readable CSV file ({reason})") from None
    missing = required - set(frame.columns)
    if missing:
        raise BadImport(f"{path}: missing columns {', '.join(sorted(missing))}")
    return frame


def _lines(mask: pd.Series) -> str:
    lines = [str(i + 2) for i in mask[mask].index]  # line 1 is the header
    shown = ", ".join(lines[:SHOWN_LINES])
    more = f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _check(path: Path, problems: list[tuple[str, pd.Series]]) -> None:
    broken = [f"{rule} ({_lines(mask)})" for rule, mask in problems if mask.any()]
    if broken:
        raise BadImport(f"{path}: nothing imported: {'; '.join(broken)}")


def _bad_id(values: pd.Series, max_length: int, required: bool = True) -> pd.Series:
    text = values.fillna("")
    empty = text.eq("") & required
    return empty | text.str.len().gt(max_length) | text.str.contains(_CONTROL)


def parse_flags(path: Path) -> pd.DataFrame:
    """``customer_id, do_not_contact[, queue]``: yes/no, y/n, true/false or 1/0 exactly, in any
    case; one row per customer."""
    frame = read_csv(path, {"customer_id", "do_not_contact"})
    value = frame["do_not_contact"].fillna("").str.lower()
    queue = frame["queue"] if "queue" in frame else pd.Series(None, index=frame.index, dtype=object)
    _check(
        path,
        [
            (
                "customer_id must be 1 to 64 characters without control characters",
                _bad_id(frame["customer_id"], 64),
            ),
            (
                "customer_id appears more than once",
                frame["customer_id"].notna() & frame["customer_id"].duplicated(keep=False),
            ),
            (
                "do_not_contact must be one of yes, no, y, n, true, false, 1, 0",
                ~value.isin(YES | NO),
            ),
            (
                "queue must be at most 64 characters without control characters",
                _bad_id(queue, 64, required=False),
            ),
        ],
    )
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "do_not_contact": value.isin(YES),
            "queue": queue.astype(object).where(queue.notna(), None),
        }
    )


def parse_contacts(path: Path) -> pd.DataFrame:
    """``customer_id, contacted_at, channel[, invoice_id, outcome]``; ``contacted_at`` in ISO
    8601, its offset kept (no offset: UTC)."""
    frame = read_csv(path, {"customer_id", "contacted_at", "channel"})
    when = pd.to_datetime(frame["contacted_at"], utc=True, format="ISO8601", errors="coerce")
    optional = {
        name: frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)
        for name in ("invoice_id", "outcome")
    }
    _check(
        path,
        [
            (
                "customer_id must be 1 to 64 characters without control characters",
                _bad_id(frame["customer_id"], 64),
            ),
            ("contacted_at must be an ISO 8601 date and time", when.isna()),
            (
                "channel must be 1 to 32 characters without control characters",
                _bad_id(frame["channel"], 32),
            ),
            (
                "invoice_id must be at most 64 characters without control characters",
                _bad_id(optional["invoice_id"], 64, required=False),
            ),
            (
                "outcome must be at most 500 characters",
                optional["outcome"].fillna("").str.len().gt(500),
            ),
        ],
    )
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "contacted_at": when,
            "channel": frame["channel"],
            **{k: v.astype(object).where(v.notna(), None) for k, v in optional.items()},
        }
    )
