"""Score the invoices open at a date: probability, band, amount at risk, reasons; and accounts.

Invoices not yet past due (+ grace) are scored by the model and explained. Invoices already past
due are late by definition: they get ``p_late = 1`` and band ``overdue`` (the worklist escalates
them); the model is not asked about them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii

import numpy as np
import pandas as pd

from features.build import History, scoring_set
from features.labels import LATE
from features.ledger import Ledger
from models.explain import (
    TOP_REASONS,
    account_contributions,
    account_view,
    explain,
    open_amounts,
    top_reasons,
)
from models.model import LatePaymentModel

BANDS = (("low", 0.0), ("medium", 0.3), ("high", 0.6))
"""Risk bands by lower bound of p_late."""
OVERDUE = "overdue"


def risk_band(p: np.ndarray, bands: tuple[tuple[str, float], ...] = BANDS) -> np.ndarray:
    names = np.array([name for name, _ in bands], dtype=object)
    bounds = np.array([bound for _, bound in bands])
    return names[np.searchsorted(bounds, p, side="right") - 1]


@dataclass(frozen=True)
class ScoredBatch:
    """One scoring run: invoices, accounts and their reasons (long form)."""

    as_of: pd.Timestamp
    model_version: str
    invoices: pd.DataFrame
    accounts: pd.DataFrame
    reasons: pd.DataFrame
    p_base: float


def score_features(
    features: pd.DataFrame, model: LatePaymentModel, model_version: str, top: int = TOP_REASONS
) -> ScoredBatch:
    """Score and explain a feature frame (from :func:`features.build.scoring_set`)."""
    frame = features.reset_index(drop=True)
    as_of = pd.Timestamp(frame["as_of"].iloc[0]) if len(frame) else pd.NaT
    overdue = (frame.get("label_status", pd.Series("", index=frame.index)) == LATE).to_numpy()
    ahead = frame[~overdue].reset_index(drop=True)
    behind = frame[overdue].reset_index(drop=True)
    exp = explain(model, ahead)
    owed_ahead = open_amounts(ahead)
    invoices_ahead = ahead[["invoice_id", "customer_id", "as_of"]].assign(
        p_late=exp.p,
        risk_band=risk_band(exp.p),
        open_amount=owed_ahead,
        amount_at_risk=exp.p * owed_ahead,
        raw_score=exp.raw,
    )
    owed_behind = open_amounts(behind)
    invoices_behind = behind[["invoice_id", "customer_id", "as_of"]].assign(
        p_late=1.0,
        risk_band=OVERDUE,
        open_amount=owed_behind,
        amount_at_risk=owed_behind,
        raw_score=np.nan,
    )
    context = [
        "amount",
        "days_until_due",
        "disputed",
        "segment",
        "late_share_trend",
        "late_share_365d",
        "overdue_amount",
    ]
    invoices = pd.concat(
        [invoices_ahead.join(ahead[context]), invoices_behind.join(behind[context])],
        ignore_index=True,
    ).assign(model_version=model_version)

    reasons = top_reasons(exp, ahead, top)
    reasons = reasons.assign(invoice_id=ahead["invoice_id"].to_numpy()[reasons["row"].to_numpy()])
    overdue_reasons = pd.DataFrame(
        {
            "invoice_id": behind["invoice_id"].to_numpy(),
            "rank": 1,
            "group": "overdue",
            "reason": "already overdue",
            "feature": "days_until_due",
            "value": behind["days_until_due"].to_numpy(),
            "contribution": np.nan,
            "effect": np.nan,
            "direction": "raises risk",
            "text": [f"already {-int(d)} days past due" for d in behind["days_until_due"]],
        }
    )
    reasons = pd.concat([reasons.drop(columns=["row"]), overdue_reasons], ignore_index=True)
    invoices = invoices.merge(_reason_summary(reasons, "invoice_id"), on="invoice_id", how="left")

    accounts = account_view(exp, ahead).reset_index()
    overdue_by_account = invoices_behind.groupby("customer_id")["open_amount"].sum()
    accounts = accounts.merge(
        overdue_by_account.rename("overdue_open_amount"), on="customer_id", how="outer"
    )
    accounts = accounts.fillna(
        {"overdue_open_amount": 0.0, "open_amount": 0.0, "amount_at_risk": 0.0, "open_invoices": 0}
    )
    accounts["amount_at_risk_total"] = accounts["amount_at_risk"] + accounts["overdue_open_amount"]
    accounts["risk_band"] = np.where(
        accounts["risk"].notna(), risk_band(accounts["risk"].fillna(0).to_numpy()), OVERDUE
    )
    accounts = accounts.assign(as_of=as_of, model_version=model_version)
    weights = invoices_ahead.set_index("invoice_id")[["customer_id", "open_amount"]]
    account_reasons = _account_reasons(
        accounts, account_contributions(exp, ahead), reasons.join(weights, on="invoice_id"), top
    )
    accounts = accounts.merge(
        _reason_summary(account_reasons, "customer_id"), on="customer_id", how="left"
    )
    all_reasons = pd.concat(
        [
            reasons.assign(level="invoice").rename(columns={"invoice_id": "key"}),
            account_reasons.assign(level="account").rename(columns={"customer_id": "key"}),
        ],
        ignore_index=True,
    )
    return ScoredBatch(
        as_of,
        model_version,
        invoices,
        accounts,
        all_reasons.assign(as_of=as_of, model_version=model_version),
        exp.p_base,
    )


def _account_reasons(
    accounts: pd.DataFrame, contributions: pd.DataFrame, invoice_reasons: pd.DataFrame, top: int
) -> pd.DataFrame:
    """Account reasons: the groups with the largest amount-weighted effects, each told with the
    sentence of the account's invoice where that group weighs most.

    Ties in effect -- all of them when a flat isotonic step leaves every effect at 0 -- are
    ranked by the amount-weighted log-odds contribution (``contributions``, customers x groups),
    which is also what the reason's ``contribution`` and, for a zero effect, direction report.
    """
    from features.catalogue import GROUPS

    effects = accounts.set_index("customer_id").filter(like="effect.")
    long = effects.stack().rename("effect").reset_index()
    long.columns = ["customer_id", "group", "effect"]
    long["group"] = long["group"].str.removeprefix("effect.")
    contrib = contributions.stack().rename("contribution").reset_index()
    contrib.columns = ["customer_id", "group", "contribution"]
    long = long.merge(contrib, on=["customer_id", "group"], how="left")
    long = long[(long["effect"] != 0) | (long["contribution"].fillna(0) != 0)]
    long = long.assign(
        magnitude=long["effect"].abs(), weight=long["contribution"].abs()
    ).sort_values(["customer_id", "magnitude", "weight"], ascending=[True, False, False])
    long["rank"] = long.groupby("customer_id").cumcount() + 1
    long = long[long["rank"] <= top].drop(columns=["magnitude", "weight"])
    long["reason"] = long["group"].map(lambda g: GROUPS.get(g, g))
    raises = np.where(long["effect"] != 0, long["effect"] > 0, long["contribution"] > 0)
    long["direction"] = np.where(raises, "raises risk", "lowers risk")
    weighed = invoice_reasons.dropna(subset=["customer_id"]).assign(
        weight=lambda f: (f["effect"] * f["open_amount"]).abs(),
        tie=lambda f: (f["contribution"] * f["open_amount"]).abs(),
    )
    strongest = weighed.sort_values(["weight", "tie"], ascending=False).drop_duplicates(
        ["customer_id", "group"]
    )
    long = long.merge(
        strongest[["customer_id", "group", "text", "feature", "value"]],
        on=["customer_id", "group"],
        how="left",
    )
    long["text"] = long["text"].fillna(long["reason"])
    return long.reset_index(drop=True)


def _reason_summary(reasons: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per key: the top reason's text and all reasons as a JSON list (for files and the API).

    The JSON is assembled from pre-encoded fields in one pass over the sorted reasons (a
    ``json.dumps`` per group through pandas costs ~5 ms per key, hours at a million invoices).
    """
    ordered = reasons[reasons[key].notna()].sort_values([key, "rank"])
    keys = ordered[key].to_numpy()
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
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], int)
    ends = np.r_[starts[1:], len(keys)]
    return pd.DataFrame(
        {
            key: keys[starts],
            "top_reason": ordered["text"].to_numpy()[starts],
            "reasons": [
                "[" + ", ".join(items[a:b]) + "]" for a, b in zip(starts, ends, strict=True)
            ],
        }
    )


def _json(value: object) -> str:
    """``json.dumps(value)``, with NaN as null."""
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        return float.__repr__(value) if math.isfinite(value) else json.dumps(value)
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    return json.dumps(None if value is pd.NA else value)


def score_ledger(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    model_version: str,
    history: History | None = None,
) -> ScoredBatch:
    """Build features for the invoices open at ``as_of`` with the same code as training; score."""
    features = scoring_set(ledger, as_of, grace_days=model.grace_days, history=history)
    return score_features(features, model, model_version)
