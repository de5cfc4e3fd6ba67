"""The monitor as of one day T: every check, the alerts, one JSON-ready report.

Point in time: the ledger is cut at T first (:meth:`features.ledger.ledger.Ledger.known_at`)
and stored batches scored after T are dropped, so nothing dated after T is read. The quarantine
counts describe the extract that was read (bad rows may carry no valid date to cut by).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from features.build import History, open_amounts
from features.labels import label_at
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.monitoring.accounts import deteriorating_accounts
from models.monitoring.alerts import alert_list
from models.monitoring.drift import column_psi, feature_psi
from models.monitoring.lateness import just_due
from models.monitoring.limits import Thresholds
from models.monitoring.paydates import paydate_checks
from models.monitoring.performance import cohort_performance, estimated
from models.monitoring.quality import missing_optional, quarantine_rates
from models.monitoring.reference import INFO_KEY, scored_population
from models.paydates.hazard import PayDateModel

SCORE_COLUMNS = ("as_of", "invoice_id", "p_late", "open_amount", "risk_band")
DRIFT_DAYS = 7
"""Drift compares the invoices scored on each of the last seven days (every weekday)."""


def _drift(
    reference: dict[str, Any] | None, current: pd.DataFrame, p: np.ndarray
) -> dict[str, Any]:
    if not reference:
        return {
            "available": False,
            "reason": "the model was trained before references were stored: retrain it",
        }
    features, groups = feature_psi(reference["features"], current, reference["groups"])
    return {
        "available": True,
        "reference_as_of": reference["as_of"],
        "reference_rows": reference["rows"],
        "rows": len(current),
        "days": DRIFT_DAYS,
        "features": features,
        "groups": groups,
        "score": {"psi": column_psi(reference["score"], p), "mean_p": _mean(p)},
    }


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def stored_scores(scores: pd.DataFrame | None, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    """Stored invoice scores of the batches scored in the ``days`` up to T (none after T)."""
    if scores is None or scores.empty:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    day = pd.to_datetime(scores["as_of"])
    keep = (day <= as_of) & (day > as_of - pd.Timedelta(days=days))
    return scores[keep.to_numpy()].assign(as_of=day[keep.to_numpy()])


def monitor_at(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: LatePaymentModel,
    *,
    scores: pd.DataFrame | None = None,
    pay_model: PayDateModel | None = None,
    quarantine: dict[str, tuple[int, int]] | None = None,
    limits: Thresholds = Thresholds(),
) -> dict[str, Any]:
    """The monitoring report of ``model`` as of ``as_of``.

    Args:
        scores: stored invoice scores of past batches (``SCORE_COLUMNS``), one batch per date.
        pay_model: the pay-date model, for interval coverage and the cash forecast's error.
        quarantine: per ledger table, (rows read, rows quarantined).
    """
    as_of = pd.Timestamp(as_of).normalize()
    known = ledger.known_at(as_of)
    history = History.from_ledger(known, model.grace_days)
    # the week to T, as the reference pools every weekday: one day alone is one weekday's mix
    week = [as_of - pd.Timedelta(days=k) for k in range(DRIFT_DAYS - 1, -1, -1)]
    pooled = scored_population(known, week, model.grace_days, history)
    p_pooled = model.predict_proba(pooled) if len(pooled) else np.zeros(0)
    today = (pooled["as_of"] == as_of).to_numpy() if len(pooled) else np.zeros(0, bool)
    current = pooled[today]
    p = p_pooled[today]
    reference = model.info.get(INFO_KEY)
    trained = model.info.get("ledger") or {}
    labels = label_at(known.invoices, as_of, model.grace_days).assign(
        invoice_id=known.invoices["invoice_id"].astype(str).to_numpy()
    )
    recent = stored_scores(scores, as_of, limits.cohort_days)
    report: dict[str, Any] = {
        "as_of": str(as_of.date()),
        "drift": _drift(reference, pooled, p_pooled),
        "performance": {
            "today": estimated(p, open_amounts(current)) if len(current) else {},
            "reference": (reference or {}).get("estimated", {}),
            "cohorts": cohort_performance(recent, labels, limits.mature_share),
            "method": "estimated: expected ROC-AUC, ECE and late-amount capture from the "
            "calibrated probabilities (CBPE-style, written here); realised: the same on the "
            f"cohort's labels once {limits.mature_share:.0%} have matured",
        },
        "just_due": just_due(
            known, as_of, recent, labels, days=limits.due_days, grace_days=model.grace_days
        ),
        "paydates": paydate_checks(known, as_of, pay_model, limits.paydate_weeks, history)
        if pay_model is not None
        else [],
        "quality": {
            "quarantine": quarantine_rates(quarantine or {}),
            "missing_columns": missing_optional(list(trained.get("present", [])), known.present())
            if trained
            else [],
        },
        "accounts": deteriorating_accounts(known, as_of, limits.deterioration),
        "thresholds": asdict(limits),
    }
    report["alerts"] = alert_list(report, limits)
    return jsonable(report)


def headline(report: dict[str, Any]) -> dict[str, float]:
    """The headline figures of a report: its MLflow metrics, the points of the monitoring
    page's series (absent ones left out)."""
    drift = report["drift"]
    performance = report["performance"]
    matured = [c for c in performance["cohorts"] if c["realised"]]
    figures = {
        "alerts": len(report["alerts"]),
        "accounts_deteriorating": report.get("accounts_deteriorating")
        or len({a["customer_id"] for a in report.get("accounts") or []}),
        "quarantine_rate": report["quality"]["quarantine"]["rate"],
        "missing_columns": len(report["quality"]["missing_columns"]),
        "estimated.roc_auc": performance["today"].get("roc_auc"),
        "estimated.ece": performance["today"].get("ece"),
        "realised.roc_auc": matured[-1]["realised"]["roc_auc"] if matured else None,
        "realised.ece": matured[-1]["realised"]["ece"] if matured else None,
    }
    if drift["available"]:
        figures["score_psi"] = drift["score"]["psi"]
        figures["rows"] = drift["rows"]
        figures["max_feature_psi"] = max((f["psi"] for f in drift["features"]), default=0.0)
        figures.update({f"psi.{f['feature']}": f["psi"] for f in drift["features"]})
    return {k: float(v) for k, v in figures.items() if v is not None}


def jsonable(value: Any) -> Any:
    """NaN and infinities as ``None``, numpy scalars as Python ones, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
