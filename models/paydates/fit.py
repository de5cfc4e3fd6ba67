"""Fit the pay-date model on everything known at a cutoff, with intervals made honest by a
split-conformal step on a time-ordered calibration window.

Every step keeps to the point-in-time rule: a model that predicts rows as of day D is fit on
rows censored at D (:func:`features.labels.time_to_pay` re-censors the same rows), so no payment
dated after D reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.build import History, payment_set, scoring_set
from features.catalogue import feature_names
from features.labels import time_to_pay
from features.ledger.ledger import Ledger
from models.encoding import FeatureEncoder
from models.paydates.distribution import HORIZON, INTERPOLATED, MEDIAN_RULES, median_days
from models.paydates.hazard import PayDateModel, PayParams, boost_hazard, early_stopped
from models.paydates.intervals import interval_days, pay_day, widening
from models.training.train import text_columns

VALID_SHARE = 0.2
"""The latest share of rows (by as-of date) that early stopping watches."""
CALIBRATION_SHARE = 0.25
"""The latest share of the rows followed for a whole horizon: the conformal window."""
MIN_CALIBRATION = 100
"""Fewer paid rows than this in the window: the raw intervals are kept, and the card says so."""


def censored_at(rows: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """The rows taken before ``day``, with their time to payment as known at ``day``."""
    earlier = rows[rows["as_of"] < day]
    return earlier.assign(**time_to_pay(earlier, day)).loc[lambda r: r["days"] > 0]


def _latest(rows: pd.DataFrame, share: float) -> pd.Timestamp:
    """The as-of date from which the latest ``share`` of rows start."""
    return pd.Timestamp(rows["as_of"].quantile(1 - share, interpolation="lower"))


def _trees(booster: lgb.Booster) -> int:
    return int(booster.best_iteration or booster.current_iteration())


def _calibration_window(rows: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Timestamp | None:
    """Where the conformal window starts: the latest share of the rows followed for a whole
    horizon before ``cutoff``; ``None`` when no row was followed that long."""
    followed = rows[rows["as_of"] <= cutoff - pd.Timedelta(days=HORIZON)]
    return None if followed.empty else _latest(followed, CALIBRATION_SHARE)


OpenAt = Callable[[pd.Timestamp], pd.DataFrame]
"""Features of the invoices open at a date (with ``paid_date``): who the intervals are for."""
CALIBRATION_EVERY_DAYS = 14


def _calibration_rows(
    open_at: OpenAt, start: pd.Timestamp, end: pd.Timestamp, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """The invoices open on every 14th day of the window, as intervals are asked for, with
    their payment as known at ``cutoff``; only those paid within the horizon."""
    days = pd.date_range(start, end, freq=f"{CALIBRATION_EVERY_DAYS}D")
    frames = [found for found in (open_at(day) for day in days) if len(found)]
    if not frames:
        return pd.DataFrame(columns=["days", "paid"])
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.assign(**time_to_pay(rows, cutoff))
    return rows[rows["paid"] & (rows["days"] > 0) & (rows["days"] <= HORIZON)]


def _early_model(
    rows: pd.DataFrame,
    cutoff: pd.Timestamp,
    encoder: FeatureEncoder,
    params: PayParams,
    open_at: OpenAt | None = None,
) -> tuple[int, float, dict[str, object]]:
    """Trees and the conformal factor, from one booster fit on the rows before a window and
    early-stopped on the window's rows (as known at ``cutoff``).

    The window is the calibration window when the ledger has rows followed for a whole
    horizon; otherwise the latest rows, and the intervals are kept raw. The conformal factor is
    fit on the invoices open on the window's days (``open_at``), the population intervals are
    asked for, else on the window's training rows.
    """
    start = _calibration_window(rows, cutoff)
    calibrating = start is not None
    if start is None:
        start = _latest(rows, VALID_SHARE)
    end = start if not calibrating else cutoff - pd.Timedelta(days=HORIZON)
    before = censored_at(rows, start)
    window = rows[(rows["as_of"] >= start) & (rows["as_of"] <= end if calibrating else True)]
    if before["paid"].sum() < 50 or window["paid"].sum() < 20:
        return (
            params.n_estimators // 2,
            0.0,
            {"calibration_rows": 0, "conformal": "too few rows: raw"},
        )
    booster = early_stopped(before, window, encoder, params)
    trees = max(1, round(_trees(booster) * len(rows) / len(before)))
    if not calibrating:
        return (
            trees,
            0.0,
            {"calibration_rows": 0, "conformal": "no window followed a whole horizon: raw"},
        )
    if open_at is not None:
        paid = _calibration_rows(open_at, start, end, cutoff)
    else:
        paid = window[window["paid"] & (window["days"] <= HORIZON)]
    if len(paid) < MIN_CALIBRATION:
        return trees, 0.0, {"calibration_rows": len(paid), "conformal": "window too small: raw"}
    # the booster judged must grow as many trees as the one it widens: sharper with more trees
    model = PayDateModel(encoder, boost_hazard(before, encoder, params, trees))
    cdf = model.cdf(paid)
    lo, hi = interval_days(cdf, params.coverage)
    factor = widening(lo, hi, paid["days"].to_numpy(), params.coverage)
    return (
        trees,
        factor,
        {
            "calibration_rows": len(paid),
            "calibration_window": [str(start.date()), str(paid["as_of"].max().date())],
            "conformal": "split-conformal on the time-ordered window",
            "median_rule": median_rule(cdf, paid["days_until_due"], paid["days"]),
        },
    )


def median_rule(cdf: np.ndarray, until_due: pd.Series, actual: pd.Series) -> str:
    """The :data:`MEDIAN_RULES` rule whose P50, read as a whole day, misses the actual pay days
    of the calibration rows by the fewest days on average (``interpolated`` on a tie)."""
    days = actual.to_numpy("float64")
    due = until_due.to_numpy("float64")
    errors = [
        float(np.abs(pay_day(median_days(cdf, due, rule)) - days).mean()) for rule in MEDIAN_RULES
    ]
    return MEDIAN_RULES[int(np.argmin(errors))]


def fit_pay_dates(
    rows: pd.DataFrame,
    cutoff: pd.Timestamp,
    features: list[str],
    params: PayParams | None = None,
    extra_categorical: tuple[str, ...] = (),
    open_at: OpenAt | None = None,
) -> PayDateModel:
    """The pay-date model on every row of a :func:`features.build.payment_set` at ``cutoff``."""
    params = params or PayParams()
    cutoff = pd.Timestamp(cutoff).normalize()
    if not rows["paid"].any():
        raise ValueError(f"no invoice was paid by {cutoff.date()}: nothing to learn pay dates from")
    encoder = FeatureEncoder(features, extra_categorical=extra_categorical).fit(rows)
    trees, factor, calibration = _early_model(rows, cutoff, encoder, params, open_at)
    booster = boost_hazard(rows, encoder, params, trees)
    info = {
        "cutoff": str(cutoff.date()),
        "rows": len(rows),
        "invoices": int(rows["invoice_id"].nunique()),
        "paid_rows": int(rows["paid"].sum()),
        "censored_rows": int((~rows["paid"]).sum()),
        "trees": trees,
        "coverage": params.coverage,
        "params": asdict(params),
        "widen": factor,
        **calibration,
    }
    rule = str(calibration.get("median_rule", INTERPOLATED))
    return PayDateModel(encoder, booster, factor, info, median_rule=rule)


def fit_pay_dates_on_ledger(
    ledger: Ledger,
    cutoff: pd.Timestamp | None = None,
    params: PayParams | None = None,
    grace_days: int = 0,
    history: History | None = None,
) -> PayDateModel:
    """Build the payment set at ``cutoff`` (default: the ledger's extraction date) and fit on it."""
    day = pd.Timestamp(cutoff or ledger.default_as_of()).normalize()
    history = history or History.from_ledger(ledger, grace_days)
    rows = payment_set(ledger, day, grace_days=grace_days, history=history)
    features = feature_names(ledger.feature_columns, ledger.present())
    text = text_columns(rows, ledger.feature_columns)
    paid_date = ledger.invoices.set_index("invoice_id")["paid_date"]
    last_paid = paid_date.max()

    def open_at(when: pd.Timestamp) -> pd.DataFrame:
        if pd.isna(last_paid) or when >= last_paid:
            # nothing open on that day is ever paid after it: no row to calibrate on (a ledger
            # trained as of its ingest day, years after its last payment, spent 4 s here)
            return pd.DataFrame()
        found = scoring_set(ledger, when, grace_days=grace_days, history=history)
        return found.assign(paid_date=paid_date.reindex(found["invoice_id"]).to_numpy())

    return fit_pay_dates(rows, day, features, params, text, open_at)
