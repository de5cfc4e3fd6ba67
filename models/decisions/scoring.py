"""The one scoring core: feature rows in, probability, band, amounts and reasons out.

Batch scoring (:func:`score_batch`), the API (``serving.online``) and the backtest all call
:func:`score_rows`, on a feature frame or on numpy columns (``History.columns``).

Invoices not yet past due (+ grace) are scored by the model and explained. Invoices already past
due are late by definition: :func:`overdue_rows` finds them, and they get ``p_late = 1``, band
``overdue`` and the reason "already N days past due"; the model is not asked about them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.build import History, open_amounts, row_count, scoring_set
from features.ledger.ledger import Ledger
from models.decisions.accounts import account_scores
from models.decisions.bands import OVERDUE, risk_band
from models.decisions.frames import CONTEXT_FEATURES
from models.decisions.segments import account_segments
from models.encoding import FeatureTable
from models.explain.effects import Explanation, explain
from models.explain.reasons import TOP_REASONS, reason_columns
from models.model import LatePaymentModel
from models.paydates.explain import day_reasons, explain_days
from models.paydates.forecast import ForecastParts, forecast_parts, summarise_forecast
from models.paydates.hazard import PayDateModel
from models.paydates.predict import pay_dates


def overdue_rows(features: FeatureTable, grace_days: int) -> np.ndarray:
    """The overdue rule: open and more than ``grace_days`` past due at the as-of date."""
    days = np.asarray(features["days_until_due"], dtype="float64")
    return (days < -grace_days) & np.isfinite(days)


def _overdue_reasons(rows: np.ndarray, days_until_due: np.ndarray) -> dict[str, np.ndarray]:
    """The one reason of an overdue invoice."""
    n = len(rows)
    return {
        "row": rows,
        "rank": np.ones(n, dtype="int64"),
        "group": np.full(n, "overdue", dtype=object),
        "feature": np.full(n, "days_until_due", dtype=object),
        "contribution": np.full(n, np.nan),
        "effect": np.full(n, np.nan),
        "reason": np.full(n, "already overdue", dtype=object),
        "direction": np.full(n, "raises risk", dtype=object),
        "value": days_until_due[rows].astype(object),
        "text": np.array([f"already {-int(d)} days past due" for d in days_until_due[rows]]),
    }


@dataclass(frozen=True)
class RowScores:
    """The core's result, one entry per input row, in input order."""

    p_late: np.ndarray
    risk_band: np.ndarray
    open_amount: np.ndarray
    amount_at_risk: np.ndarray
    raw_score: np.ndarray
    """Log-odds from the booster; NaN for overdue rows."""
    overdue: np.ndarray
    reasons: dict[str, np.ndarray]
    """Long form (``row`` = input position), sorted by row then rank; empty without ``top``."""
    ahead: np.ndarray
    """Positions of the rows the model scored (not overdue)."""
    explanation: Explanation | None
    """Of the ``ahead`` rows, in that order; ``None`` when no reasons were asked for."""


def _take(features: FeatureTable, rows: np.ndarray) -> FeatureTable:
    if isinstance(features, pd.DataFrame):
        return features.iloc[rows].reset_index(drop=True)
    return {name: values[rows] for name, values in features.items()}


def _concat(first: dict[str, np.ndarray], second: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    merged = {k: np.concatenate([np.asarray(first[k], dtype=object), second[k]]) for k in second}
    merged["row"] = merged["row"].astype("int64")
    merged["rank"] = merged["rank"].astype("int64")
    for k in ("contribution", "effect"):
        merged[k] = merged[k].astype("float64")
    order = np.argsort(merged["row"], kind="stable")
    return {k: v[order] for k, v in merged.items()}


def score_rows(
    model: LatePaymentModel, features: FeatureTable, top: int = TOP_REASONS
) -> RowScores:
    """Score feature rows: calibrated probability, band, amounts, overdue handling, reasons.

    Args:
        top: reasons per invoice; 0 skips the explanation (the plain prediction).
    """
    n = row_count(features)
    overdue = overdue_rows(features, model.grace_days)
    ahead = np.flatnonzero(~overdue)
    owed = open_amounts(features)
    p = np.ones(n)
    raw = np.full(n, np.nan)
    explanation = None
    reasons: dict[str, np.ndarray] = {}
    # the usual case is nothing overdue: no copy of the rows then
    scored = features if len(ahead) == n else _take(features, ahead)
    if top:  # an empty explanation still knows the base rate
        explanation = explain(model, scored)
        p[ahead], raw[ahead] = explanation.p, explanation.raw
        reasons = {k: np.asarray(v) for k, v in reason_columns(explanation, scored, top).items()}
        reasons["row"] = ahead[reasons["row"]]
    elif len(ahead):
        raw[ahead] = model.raw_score(scored)
        p[ahead] = model.calibrator.predict(raw[ahead])
    if top:
        late = _overdue_reasons(
            np.flatnonzero(overdue), np.asarray(features["days_until_due"], "float64")
        )
        reasons = _concat(reasons, late) if reasons and overdue.any() else reasons or late
    return RowScores(
        p_late=p,
        risk_band=np.where(overdue, OVERDUE, risk_band(np.clip(p, 0, 1))),
        open_amount=owed,
        amount_at_risk=p * owed,
        raw_score=raw,
        overdue=overdue,
        reasons=reasons,
        ahead=ahead,
        explanation=explanation,
    )


@dataclass(frozen=True)
class ScoredBatch:
    """One scoring run: invoices, accounts and their reasons (long form)."""

    as_of: pd.Timestamp
    model_version: str
    invoices: pd.DataFrame
    accounts: pd.DataFrame
    reasons: pd.DataFrame
    p_base: float
    pay_dates: pd.DataFrame | None = None
    """Per invoice (``invoice_id`` first), the pay-date columns (frame ``PayDates``), when a
    pay-date model scored."""
    pay_date_reasons: pd.DataFrame | None = None
    """Why each expected pay date falls where it does (long form with ``key`` =
    ``invoice_id``, effects in days; :func:`models.paydates.explain.pay_date_reasons`)."""
    forecast: pd.DataFrame | None = None
    """The weekly cash-in forecast of these open invoices (frame ``ForecastWeeks``), from the
    same pay-date distributions."""


def score_batch(
    features: pd.DataFrame, model: LatePaymentModel, model_version: str, top: int = TOP_REASONS
) -> ScoredBatch:
    """Score and explain a feature frame (from :func:`features.build.scoring_set`)."""
    frame = features.reset_index(drop=True)
    as_of = pd.Timestamp(frame["as_of"].iloc[0]) if len(frame) else pd.NaT
    scores = score_rows(model, frame, max(top, 1))
    reasons = pd.DataFrame(scores.reasons)
    reasons["key"] = frame["invoice_id"].to_numpy()[reasons["row"].to_numpy()]
    top_reason = np.full(len(frame), np.nan, dtype=object)
    first = reasons[reasons["rank"] == 1]
    top_reason[first["row"].to_numpy()] = first["text"].to_numpy()
    invoices = frame[["invoice_id", "customer_id", "as_of"]].assign(
        p_late=scores.p_late,
        risk_band=scores.risk_band,
        open_amount=scores.open_amount,
        amount_at_risk=scores.amount_at_risk,
        raw_score=scores.raw_score,
        **{name: frame[name].to_numpy() for name in CONTEXT_FEATURES},
        model_version=model_version,
        top_reason=top_reason,
    )
    accounts, account_reasons = account_scores(frame, scores, reasons, top)
    accounts["payer_segment"] = accounts["customer_id"].map(account_segments(frame))
    all_reasons = pd.concat(
        [
            reasons.drop(columns=["row"]).assign(level="invoice"),
            account_reasons.assign(level="account"),
        ],
        ignore_index=True,
    )
    assert scores.explanation is not None  # asked for with reasons
    p_base = scores.explanation.p_base
    return ScoredBatch(
        as_of,
        model_version,
        invoices,
        accounts.assign(as_of=as_of, model_version=model_version),
        all_reasons.assign(as_of=as_of, model_version=model_version),
        p_base,
    )


def score_ledger(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    model_version: str,
    history: History | None = None,
    pay_model: PayDateModel | None = None,
) -> ScoredBatch:
    """Build features for the invoices open at ``as_of`` with the same code as training; score
    (and, given ``pay_model``, predict pay dates and the cash forecast from the same features)."""
    batch, parts = score_ledger_parts(ledger, as_of, model, model_version, history, pay_model)
    if parts is None:
        return batch
    return replace(batch, forecast=summarise_forecast(parts, as_of).weekly)


def score_ledger_parts(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    model_version: str,
    history: History | None = None,
    pay_model: PayDateModel | None = None,
    seed: int = 0,
) -> tuple[ScoredBatch, ForecastParts | None]:
    """:func:`score_ledger` up to its forecast: the batch without it, and the forecast's
    additive parts (``None`` without ``pay_model``), so that the ledgers of disjoint sets of
    customers can be scored apart and their forecasts added up (``seed``: the simulation's)."""
    features = scoring_set(ledger, as_of, grace_days=model.grace_days, history=history)
    batch = score_batch(features, model, model_version)
    if pay_model is None:
        return batch, None
    rows = features.reset_index(drop=True)
    explained = explain_days(pay_model, rows)  # the distributions and why, in one pass
    cdf = explained.cdf
    dates = pay_dates(pay_model, rows, cdf)
    dates.insert(0, "invoice_id", rows["invoice_id"].to_numpy())
    dates.insert(1, "customer_id", rows["customer_id"].to_numpy())
    dates.insert(2, "pay_model_version", str(pay_model.info.get("version", "")))
    why = day_reasons(explained, rows)
    why["key"] = rows["invoice_id"].to_numpy()[why["row"].to_numpy()]
    customers = rows["customer_id"].to_numpy()
    parts = forecast_parts(cdf, open_amounts(rows), customers, seed=seed)
    return replace(batch, pay_dates=dates, pay_date_reasons=why.drop(columns=["row"])), parts
