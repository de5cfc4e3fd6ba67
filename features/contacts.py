"""Contact-history features, point in time: outreach before the as-of day, and broken promises.

A separate pure join, beside the kernel (which computes the ledger's features): the contacts
live in the score store, not in the ledger. Keyed by ``(customer_id, as_of)``; a contact counts
at ``as_of`` when it was made before that day began (UTC), so a contact dated on or after the
as-of day changes nothing. Declared here as :data:`CONTACT_FEATURES`, in the catalogue's
:class:`~features.catalogue.Feature` form; they are not in the model's catalogue
(:data:`~features.catalogue.FEATURES`) until the kernel computes them for training too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalogue import Feature

CONTACT_WINDOW_DAYS = 30
CONTACT_FEATURES: tuple[Feature, ...] = (
    Feature(
        "days_since_last_contact",
        "days since the customer was last contacted (missing: never)",
        "days",
        "relationship",
        "last contacted {days_since_last_contact:.0f} days ago",
        absent="never contacted before",
    ),
    Feature(
        f"contacts_{CONTACT_WINDOW_DAYS}d",
        f"contacts with the customer in the last {CONTACT_WINDOW_DAYS} days",
        "contacts",
        "relationship",
        f"contacted {{contacts_{CONTACT_WINDOW_DAYS}d:.0f}} times in the last "
        f"{CONTACT_WINDOW_DAYS} days",
        absent=f"not contacted in the last {CONTACT_WINDOW_DAYS} days",
    ),
    Feature(
        "broken_promises_to_date",
        "promises to pay the customer broke before the as-of day",
        "promises",
        "relationship",
        "broke {broken_promises_to_date:.0f} promises to pay",
        monotone=1,
        absent="no broken promise to pay",
    ),
)
CONTACT_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in CONTACT_FEATURES)


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_localize(None)


def _by_row(values: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """Per-row values (indexed by ``row``) lined up with ``frame``; missing rows NaN/NaT. (Not
    ``Series.map``: pandas casts an empty datetime mapping to float, and fails.)"""
    return pd.Series(values.reindex(frame["row"].to_numpy()).to_numpy(), index=frame.index)


def contact_features(
    keys: pd.DataFrame, contacts: pd.DataFrame, promises: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``keys`` with :data:`CONTACT_FEATURE_NAMES` added, each as of its row's ``as_of``.

    Args:
        keys: ``customer_id, as_of`` (any other columns are kept).
        contacts: ``customer_id, contacted_at`` (aware or UTC), as the store returns them.
        promises: ``customer_id, contacted_at, promised_date, status`` of every promise, judged
            at or after the latest ``as_of`` (``models.decisions.promises.promise_status``): a
            promise counts as broken at ``as_of`` when it was made and fell due before that day.
            Its status then cannot change: only payments up to its date decide it.
    """
    day = pd.to_datetime(keys["as_of"]).dt.normalize().reset_index(drop=True)
    frame = pd.DataFrame({"customer_id": keys["customer_id"].astype(str).to_numpy(), "as_of": day})
    frame["row"] = np.arange(len(frame))
    made = pd.DataFrame(
        {"customer_id": contacts["customer_id"].astype(str), "at": _day(contacts["contacted_at"])}
    )
    pairs = frame.merge(made, on="customer_id", how="inner")
    pairs = pairs[pairs["at"] < pairs["as_of"]]
    last = pairs.groupby("row")["at"].max().dt.normalize()
    since = (frame["as_of"] - _by_row(last, frame)).dt.days.astype(float)
    window = pairs[pairs["at"] >= pairs["as_of"] - pd.Timedelta(days=CONTACT_WINDOW_DAYS)]
    recent = _by_row(window.groupby("row").size(), frame).fillna(0)
    broken = pd.Series(0.0, index=frame.index)
    if promises is not None and not promises.empty:
        judged = pd.DataFrame(
            {
                "customer_id": promises["customer_id"].astype(str),
                "made": _day(promises["contacted_at"]).dt.normalize(),
                "due": pd.to_datetime(promises["promised_date"]).dt.normalize(),
                "broken": promises["status"].eq("broken"),
            }
        )
        both = frame.merge(judged[judged["broken"]], on="customer_id", how="inner")
        both = both[(both["made"] < both["as_of"]) & (both["due"] < both["as_of"])]
        broken = _by_row(both.groupby("row").size(), frame).fillna(0).astype(float)
    names = dict(zip(CONTACT_FEATURE_NAMES, (since, recent.astype(float), broken), strict=True))
    return keys.reset_index(drop=True).assign(**names)
