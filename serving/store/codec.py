"""The one place that turns reasons into JSON and back (store columns, files and the API).

A stored invoice or account carries its reasons as a JSON list of ``{"reason", "direction",
"text", "effect"}`` objects, rank order; an account also carries its effect per business group as
a JSON object.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
import pandas as pd

PUBLIC_FIELDS = ("reason", "direction", "text", "effect")
"""What a reason says to a caller of the API (the long form also has feature, value, ...)."""


def reason_lists(reasons: pd.DataFrame) -> pd.Series:
    """Per key, all its reasons as a JSON list in rank order (``reasons``: long form of one level).

    The JSON is assembled from pre-encoded fields in one pass over the sorted reasons (a
    ``json.dumps`` per group through pandas costs ~5 ms per key, hours at a million invoices).
    """
    known = reasons[reasons["key"].notna()]
    if not len(known):
        return pd.Series([], dtype=object)
    # sorted by key code and rank: sorting the distinct keys, not millions of rows of text
    codes, uniques = pd.factorize(known["key"], sort=True)
    order = np.lexsort((known["rank"].to_numpy(), codes))
    ordered = known.iloc[order]
    keys = codes[order]
    pairs = list(zip(ordered["reason"].tolist(), ordered["direction"].tolist(), strict=True))
    heads = {
        (r, d): f'{{"reason": {_json(r)}, "direction": {_json(d)}, "text": ' for r, d in set(pairs)
    }
    texts = ordered["text"].tolist()
    effects = ordered["effect"].to_numpy("float64")
    effect_json = [float.__repr__(e) for e in effects.tolist()]
    for i in np.flatnonzero(~np.isfinite(effects)):
        effect_json[i] = _json(float(effects[i]))
    items = [
        f"{heads[pair]}{encode_basestring_ascii(t) if isinstance(t, str) else _json(t)}, "
        f'"effect": {e}}}'
        for pair, t, e in zip(pairs, texts, effect_json, strict=True)
    ]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return pd.Series(
        ["[" + ", ".join(items[a:b]) + "]" for a, b in zip(starts, ends, strict=True)],
        index=np.asarray(uniques, dtype=object)[keys[starts]],
        dtype=object,
    )


def with_reason_lists(frame: pd.DataFrame, key: str, reasons: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``reasons`` column: the JSON list of the reasons of its ``key``."""
    return frame.assign(reasons=frame[key].map(reason_lists(reasons)))


def decode_reasons(text: object) -> list[dict[str, Any]]:
    """A stored JSON list of reasons, with the public fields only."""
    if not text or not isinstance(text, str):
        return []
    return [{k: r.get(k) for k in PUBLIC_FIELDS} for r in json.loads(text)]


def effects_json(accounts: pd.DataFrame) -> list[str]:
    """Each account's ``effect.<group>`` columns as one JSON object (6 decimals, NaN as null)."""
    effects = accounts.filter(like="effect.")
    names = [c.removeprefix("effect.") for c in effects.columns]
    return [
        json.dumps(
            {
                n: (None if np.isnan(v) else round(float(v), 6))
                for n, v in zip(names, row, strict=True)
            }
        )
        for row in effects.to_numpy("float64")
    ]


def text_or_none(value: object) -> str | None:
    """A reason's value as stored: its text, or None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


def texts_or_none(values: pd.Series) -> list[str | None]:
    """:func:`text_or_none` of each value, in one pass over plain Python values (``Series.map``
    costs several times more at a batch's millions of reasons)."""
    return [text_or_none(v) for v in values.tolist()]


def _json(value: object) -> str:
    """``json.dumps(value)``, with NaN as null."""
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        return float.__repr__(value) if math.isfinite(value) else json.dumps(value)
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    return json.dumps(None if value is pd.NA else value)
