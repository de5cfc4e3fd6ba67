"""Plain-language reasons: each invoice's largest business-reason groups, told in catalogue words.

A reason is a business group of features (``late-payment history``); its contribution and effect
are the group's totals and its sentence is the catalogue template of the group's leading
feature, filled with the invoice's values ("paid 60% of invoices late in the last 90 days").
"""

from __future__ import annotations

import math
import string
from functools import cache
from typing import Protocol

import numpy as np
import pandas as pd

from features.build import row_count
from features.catalogue import GROUPS, Feature, describe
from models.encoding import FeatureTable
from models.explain.effects import Explanation

TOP_REASONS = 5


@cache
def _fields(template: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name)
    )


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _sentence(entry: Feature, value: object, fields: dict[str, object]) -> str:
    """The sentence of one feature given its value and the values its template names."""
    if entry.absent and (_missing(value) or value == 0):
        return entry.absent
    if any(_missing(v) for v in fields.values()):
        return f"{entry.description}: not known yet"
    template = entry.template
    if entry.negative and _negative(value):
        template, fields = entry.negative, {k: -v for k, v in fields.items()}  # type: ignore[operator]
    try:
        return template.format(**fields)
    except (ValueError, TypeError):
        return f"{entry.description}: {value}"


def _negative(value: object) -> bool:
    return bool(
        isinstance(value, int | float | np.number) and not isinstance(value, bool) and value < 0
    )


def sentence(feature: str, row: pd.Series) -> str:
    """The catalogue's plain-language sentence for one feature of one invoice."""
    entry = describe(feature)
    fields = {name: row.get(name) for name in _fields(entry.template)}
    return _sentence(entry, row.get(feature), fields)


def top_reasons(
    explanation: Explanation, frame: FeatureTable, top: int = TOP_REASONS
) -> pd.DataFrame:
    """The top reasons of every row, one per business group, largest |contribution| first.

    Returns:
        Long form: ``row, rank, group, reason, feature, value, contribution, effect, direction,
        text``; ``feature`` is the group's leading feature (largest contribution of the group's
        sign), ``contribution`` and ``effect`` are the group's totals.
    """
    return pd.DataFrame(reason_columns(explanation, frame, top))


class Attribution(Protocol):
    """Per-row contributions of features (what ranks and signs a reason) and their effects
    (what it is worth): the late-payment :class:`Explanation`, or a pay date's days."""

    @property
    def features(self) -> list[str]: ...
    @property
    def contributions(self) -> np.ndarray: ...
    @property
    def effects(self) -> np.ndarray: ...


RISK_DIRECTIONS = ("raises risk", "lowers risk")


def reason_columns(
    explanation: Attribution,
    frame: FeatureTable,
    top: int = TOP_REASONS,
    directions: tuple[str, str] = RISK_DIRECTIONS,
) -> dict[str, np.ndarray | list[object]]:
    """:func:`top_reasons` as columns, without the frame (for a few online invoices);
    ``directions``: the words for a positive and a negative contribution."""
    names, members = _group_members(tuple(explanation.features))
    contrib = explanation.contributions
    g_contrib = np.column_stack([contrib[:, m].sum(axis=1) for m in members])
    g_effect = np.column_stack([explanation.effects[:, m].sum(axis=1) for m in members])
    leads = np.column_stack(
        [
            m[
                np.argmax(
                    np.abs(contrib[:, m]) * (np.sign(contrib[:, m]) == np.sign(g_contrib[:, [k]])),
                    axis=1,
                )
            ]
            for k, m in enumerate(members)
        ]
    )
    order = np.argsort(-np.abs(g_contrib), axis=1, kind="stable")[:, :top]
    rows = np.repeat(np.arange(len(contrib)), order.shape[1])
    chosen = order.ravel()
    keep = g_contrib[rows, chosen] != 0
    rows, chosen = rows[keep], chosen[keep]
    features = np.array(explanation.features, dtype=object)[leads[rows, chosen]]
    contribution = g_contrib[rows, chosen]
    values, texts = _values_and_sentences(frame, rows, features)
    return {
        "row": rows,
        "rank": _ranks(rows),
        "group": np.array(names, dtype=object)[chosen],
        "feature": features,
        "contribution": contribution,
        "effect": g_effect[rows, chosen],
        "reason": np.array([GROUPS.get(g, g) for g in names], dtype=object)[chosen],
        "direction": np.where(contribution > 0, *directions),
        "value": values,
        "text": texts,
    }


@cache
def _group_members(features: tuple[str, ...]) -> tuple[list[str], list[np.ndarray]]:
    """Business groups in first-seen order and the feature positions of each."""
    groups = [describe(f).group for f in features]
    names = list(dict.fromkeys(groups))
    return names, [np.array([i for i, g in enumerate(groups) if g == name]) for name in names]


def _ranks(rows: np.ndarray) -> np.ndarray:
    """1, 2, ... within each run of equal (sorted) ``rows``."""
    if not len(rows):
        return np.zeros(0, dtype="int64")
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    lengths = np.diff(np.r_[starts, len(rows)])
    return np.arange(len(rows)) - np.repeat(starts, lengths) + 1


def _values_and_sentences(
    frame: FeatureTable, rows: np.ndarray, features: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Each (row, feature) pair's plain value (an object array: numbers stay numbers beside
    text values, whatever else the batch holds) and catalogue sentence.

    Every needed column is pulled out once as an object array; the sentences are then formatted
    in plain Python, feature by feature (a pandas row per sentence costs ~100 times more).
    """
    columns: dict[str, np.ndarray] = {}
    plain: dict[str, np.ndarray] = {}
    n = row_count(frame)

    def column(name: str) -> np.ndarray:
        if name not in columns:
            values = frame[name] if name in frame else np.full(n, None, dtype=object)
            columns[name] = (
                values.to_numpy(dtype=object)
                if isinstance(values, pd.Series)
                else np.asarray(values, dtype=object)
            )
        return columns[name]

    def plain_column(name: str) -> np.ndarray:
        if name not in plain:
            values = column(name)
            if name in frame and isinstance(frame[name].dtype, np.dtype):
                values = values.copy()  # numpy columns already give Python scalars
                values[pd.isna(values)] = None
            else:
                values = np.array([_plain(v) for v in values] + [None], dtype=object)[:-1]
            plain[name] = values
        return plain[name]

    values = np.empty(len(rows), dtype=object)
    texts = np.empty(len(rows), dtype=object)
    codes, uniques = pd.factorize(np.asarray(features, dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for i, feature in enumerate(uniques):
        positions = order[bounds[i] : bounds[i + 1]]
        picked = rows[positions]
        own = column(feature)[picked]
        values[positions] = plain_column(feature)[picked]
        texts[positions] = _feature_sentences(
            describe(feature),
            own,
            {n: column(n)[picked] for n in _fields(describe(feature).template)},
        )
    return values, texts.tolist()


def _feature_sentences(
    entry: Feature, own: np.ndarray, fields: dict[str, np.ndarray]
) -> np.ndarray:
    """:func:`_sentence` for many values of one feature: the absent and not-known cases by
    masks, the template formatted positionally for the rest."""
    out = np.empty(len(own), dtype=object)
    done = np.zeros(len(own), dtype=bool)
    if entry.absent:
        missing = pd.isna(own)
        zero = np.zeros(len(own), dtype=bool)
        zero[~missing] = np.asarray(own[~missing] == 0, dtype=bool)
        done = missing | zero
        out[done] = entry.absent
    if fields:
        unknown = ~done & np.logical_or.reduce([pd.isna(v) for v in fields.values()])
        out[unknown] = f"{entry.description}: not known yet"
        done |= unknown
    rest = np.flatnonzero(~done)
    template = _positional(entry.template)
    negative = _positional(entry.negative) if entry.negative else ""
    columns = [v[rest] for v in fields.values()]
    formatted = []
    for value, *args in zip(own[rest], *columns, strict=True):
        try:
            if negative and _negative(value):
                formatted.append(negative.format(*(-a for a in args)))
            else:
                formatted.append(template.format(*args))
        except (ValueError, TypeError):
            formatted.append(f"{entry.description}: {value}")
    out[rest] = formatted
    return out


@cache
def _positional(template: str) -> str:
    """The template with its named fields numbered in :func:`_fields` order."""
    names = _fields(template)
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        parts.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            field = str(names.index(name)) + (f"!{conversion}" if conversion else "")
            parts.append("{" + field + (f":{spec}" if spec else "") + "}")
    return "".join(parts)


def invoice_reasons(
    explanation: Explanation, frame: pd.DataFrame, row: int, top: int = TOP_REASONS
) -> list[dict[str, object]]:
    """Top reasons of one invoice (see :func:`top_reasons`); only that row is worked out."""
    reasons = top_reasons(explanation.take([row]), frame.iloc[[row]], top)
    return [dict(r) for r in reasons.drop(columns=["row"]).to_dict("records")]


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value
