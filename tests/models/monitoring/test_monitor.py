"""The whole monitor on a trained model: its JSON, its alerts, and nothing read after T."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.decisions.scoring import score_ledger
from models.model import LatePaymentModel
from models.monitoring.limits import Thresholds
from models.monitoring.monitor import SCORE_COLUMNS, monitor_at
from models.monitoring.paydates import paydate_checks
from models.monitoring.reference import INFO_KEY, build_reference
from models.training.train import TrainingResult


@pytest.fixture(scope="module")
def ledger(small_synthetic: Path) -> Ledger:
    return load_ledger(small_synthetic)


@pytest.fixture(scope="module")
def day(ledger: Ledger) -> pd.Timestamp:
    return (ledger.last_date() - pd.Timedelta(days=120)).normalize()


@pytest.fixture(scope="module")
def model(trained: TrainingResult, ledger: Ledger, day: pd.Timestamp) -> LatePaymentModel:
    reference = build_reference(ledger, trained.model, day - pd.Timedelta(days=60))
    return replace(trained.model, info={**trained.model.info, INFO_KEY: reference})


@pytest.fixture(scope="module")
def scores(ledger: Ledger, model: LatePaymentModel, day: pd.Timestamp) -> pd.DataFrame:
    """Stored batches every two weeks, the last one after T."""
    days = [day - pd.Timedelta(days=k) for k in (70, 56, 42, 28, 14, 0)] + [
        day + pd.Timedelta(days=7)
    ]
    frames = [score_ledger(ledger, d, model, "1").invoices for d in days]
    return pd.concat(frames, ignore_index=True)[list(SCORE_COLUMNS)]


def test_the_report_holds_every_section(
    ledger: Ledger, model: LatePaymentModel, day: pd.Timestamp, scores: pd.DataFrame
) -> None:
    report = monitor_at(ledger, day, model, scores=scores, quarantine={"invoices": (100, 3)})
    json.dumps(report, allow_nan=False)  # plain JSON: no NaN
    drift = report["drift"]
    assert drift["available"] and drift["rows"] > 0
    assert {f["feature"] for f in drift["features"]} == set(model.info[INFO_KEY]["features"])
    assert drift["groups"] and all(g["psi"] >= 0 for g in drift["groups"])
    cohorts = report["performance"]["cohorts"]
    assert [c["as_of"] for c in cohorts] == sorted(c["as_of"] for c in cohorts)
    assert max(c["as_of"] for c in cohorts) == str(day.date())  # the batch after T is not read
    assert cohorts[0]["realised"] is not None  # 70 days on, the labels have matured
    assert cohorts[-1]["realised"] is None and cohorts[-1]["estimated"]["roc_auc"] > 0.5
    assert report["quality"]["quarantine"]["rate"] == pytest.approx(0.03)
    assert {"kind": "quarantine", "table": "invoices", "rate": 0.03} in report["alerts"]


def test_nothing_dated_after_t_changes_the_report(
    ledger: Ledger, model: LatePaymentModel, day: pd.Timestamp, scores: pd.DataFrame
) -> None:
    before = monitor_at(ledger, day, model, scores=scores)
    # every payment after T moved a month later, every invoice after T doubled
    invoices = ledger.invoices.assign(
        paid_date=ledger.invoices["paid_date"].where(
            ~(ledger.invoices["paid_date"] > day),
            ledger.invoices["paid_date"] + pd.Timedelta(days=30),
        ),
        amount=ledger.invoices["amount"].where(ledger.invoices["issue_date"] <= day, 1e9),
    )
    payments = ledger.payments
    if payments is not None:
        later = payments["payment_date"] > day
        payments = payments.assign(
            payment_date=payments["payment_date"].where(
                ~later, payments["payment_date"] + pd.Timedelta(days=30)
            )
        )
    changed = replace(ledger, invoices=invoices, payments=payments)
    assert monitor_at(changed, day, model, scores=scores) == before


def test_a_model_without_a_reference_still_monitors(
    ledger: Ledger, trained: TrainingResult, day: pd.Timestamp
) -> None:
    old = replace(
        trained.model, info={k: v for k, v in trained.model.info.items() if k != INFO_KEY}
    )
    report = monitor_at(ledger, day, old, limits=Thresholds())
    assert report["drift"]["available"] is False and "retrain" in report["drift"]["reason"]


def test_a_shifted_population_raises_feature_drift(
    ledger: Ledger, model: LatePaymentModel, day: pd.Timestamp
) -> None:
    bigger = replace(ledger, invoices=ledger.invoices.assign(amount=ledger.invoices["amount"] * 5))
    report = monitor_at(bigger, day, model, limits=Thresholds(min_rows=1))
    drifted = {a["feature"] for a in report["alerts"] if a["kind"] == "feature_drift"}
    assert "amount" in drifted


def test_pay_dates_are_judged_only_on_what_is_known_at_t(ledger: Ledger, day: pd.Timestamp) -> None:
    from models.paydates.fit import fit_pay_dates_on_ledger
    from models.paydates.hazard import PayParams

    pay_model = fit_pay_dates_on_ledger(ledger, day - pd.Timedelta(days=21), PayParams())
    rows = paydate_checks(ledger.known_at(day), day, pay_model, weeks=4)
    # origins before the model's cutoff are left out: its fit saw their outcomes
    assert [r["origin"] for r in rows] == [
        str((day - pd.Timedelta(days=7 * k)).date()) for k in (1, 2, 3)
    ]
    assert [r["weeks_known"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert row["coverage"] is None or 0 <= row["coverage"] <= 1
        assert row["wape"] is None or row["wape"] >= 0
    # payments after T are not read even when the ledger holds them
    assert paydate_checks(ledger, day, pay_model, weeks=4) == rows
