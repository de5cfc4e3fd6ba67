"""How the pages and the report write values: one set of Jinja filters for both."""

from __future__ import annotations

from typing import Any

import jinja2
import pandas as pd


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def money(value: Any) -> str:
    """``1,588,780``: whole units with thousands separators."""
    return "" if _missing(value) else f"{float(value):,.0f}"


def count(value: Any) -> str:
    """``1,357``: counts are grouped like amounts."""
    return "" if _missing(value) else f"{int(value):,}"


def pct(value: Any) -> str:
    return "" if _missing(value) else f"{float(value):.0%}"


def text(value: Any) -> str:
    """A stored text, or nothing (never ``nan`` or ``None``)."""
    return "" if _missing(value) else str(value)


def moment(value: Any) -> str:
    """``2025-06-30 14:05``: to the minute, no microseconds (UTC where the time zone is known)."""
    if _missing(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        return stamp.tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
    return stamp.strftime("%Y-%m-%d %H:%M")


def day(value: Any) -> str:
    """``2025-06-30``: a date; nothing when there is none (e.g. no payment expected)."""
    return "" if _missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def words(value: Any) -> str:
    """A code such as ``dispute_resolution`` as words: ``dispute resolution``."""
    return "" if _missing(value) else str(value).replace("_", " ")


def add_filters(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(
        money=money, count=count, pct=pct, text=text, moment=moment, words=words, day=day
    )
    return env
