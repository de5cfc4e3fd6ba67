"""The CSV files an operator imports into the store: contacts and do-not-contact flags.

Each file is checked whole before anything is written; a broken file is refused with one line
naming the rules broken and the lines that break them (line 1 is the header).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from models.decisions.promises import OUTCOMES, PROMISE

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


def outcome_words(values: pd.Series) -> pd.Series:
    """Outcomes as written by people: ``No answer``, ``promise-to-pay`` -> the outcome names."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)


def parse_contacts(path: Path) -> pd.DataFrame:
    """``customer_id, contacted_at, channel[, invoice_id, outcome, promised_date,
    promised_amount, note, idempotency_key]``; ``contacted_at`` in ISO 8601, its offset kept (no
    offset: UTC); ``outcome`` one of :data:`OUTCOMES`, a ``promise_to_pay`` with its date
    (YYYY-MM-DD, not before the contact) and amount (> 0)."""
    frame = read_csv(path, {"customer_id", "contacted_at", "channel"})
    when = pd.to_datetime(frame["contacted_at"], utc=True, format="ISO8601", errors="coerce")
    names = ("invoice_id", "outcome", "promised_date", "promised_amount", "note", "idempotency_key")
    optional = {
        name: frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)
        for name in names
    }
    outcome = outcome_words(optional["outcome"])
    given = {name: optional[name].notna() for name in names}
    promised = pd.to_datetime(
        optional["promised_date"], format="%Y-%m-%d", errors="coerce"
    ).dt.normalize()
    amount = pd.to_numeric(optional["promised_amount"], errors="coerce")
    promise = outcome.eq(PROMISE)
    contact_day = when.dt.tz_localize(None).dt.normalize()
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
                f"outcome must be empty or one of {', '.join(OUTCOMES)}",
                given["outcome"] & ~outcome.isin(OUTCOMES),
            ),
            (
                "promise_to_pay needs promised_date (YYYY-MM-DD) and promised_amount (> 0)",
                promise & (promised.isna() | ~(amount > 0) | ~np.isfinite(amount.fillna(0))),
            ),
            (
                "promised_date and promised_amount go only with outcome promise_to_pay",
                ~promise & (given["promised_date"] | given["promised_amount"]),
            ),
            (
                "promised_date is before the contact",
                promise & promised.notna() & when.notna() & (promised < contact_day),
            ),
            (
                "note must be at most 500 characters",
                optional["note"].fillna("").str.len().gt(500),
            ),
            (
                "idempotency_key must be at most 128 characters without control characters",
                _bad_id(optional["idempotency_key"], 128, required=False),
            ),
        ],
    )
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "contacted_at": when,
            "channel": frame["channel"],
            "invoice_id": _none(optional["invoice_id"]),
            "outcome": outcome.where(given["outcome"], None).astype(object),
            "promised_date": promised.astype(object).where(promise, None),
            "promised_amount": amount.astype(object).where(promise, None),
            "note": _none(optional["note"]),
            "idempotency_key": _none(optional["idempotency_key"]),
        }
    )


def _none(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), None)


def conflict_message(path: Path, positions: list[int]) -> str:
    """The one line for rows whose idempotency key is stored with other content."""
    mask = pd.Series(False, index=range(max(positions) + 1))
    mask[positions] = True
    return (
        f"{path}: nothing imported: idempotency_key already recorded with other content "
        f"({_lines(mask)})"
    )
