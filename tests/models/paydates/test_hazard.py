"""The pay-date model: censored invoices count, later payments never leak, dates are ordered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.build import payment_set, scoring_set
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.paydates.distribution import (
    DUE_DATE,
    EDGES,
    INTERPOLATED,
    cdf_from_hazards,
    median_days,
    quantile_days,
)
from models.paydates.fit import fit_pay_dates_on_ledger, median_rule
from models.paydates.hazard import at_risk
from models.paydates.predict import pay_dates


def test_at_risk_counts_censored_rows_through_the_bins_they_were_seen() -> None:
    # paid on day 10 (second week); censored on day 20 (two whole weeks seen); censored on day 3
    rows, k, hit = at_risk(np.array([10.0, 20.0, 3.0]), np.array([True, False, False]))
    assert rows.tolist() == [0, 0, 1, 1]
    assert k.tolist() == [0, 1, 0, 1]
    assert hit.tolist() == [False, True, False, False]
    # paid after the horizon: unpaid in every bin
    rows, k, hit = at_risk(np.array([EDGES[-1] + 30]), np.array([True]))
    assert len(rows) == len(EDGES) - 1 and not hit.any()


def test_quantiles_of_a_known_distribution() -> None:
    hazards = np.zeros((1, len(EDGES) - 1))
    hazards[0, 1] = 1.0  # everything paid in the second week, uniformly
    cdf = cdf_from_hazards(hazards)
    assert quantile_days(cdf, 0.5)[0] == pytest.approx(10.5)
    assert quantile_days(cdf, 0.1)[0] == pytest.approx(7.7)


def test_the_due_date_median_sits_on_the_due_day_only_inside_its_own_bin() -> None:
    hazards = np.zeros((4, len(EDGES) - 1))
    hazards[:, 1] = 1.0  # paid in the second week (days 7-14): interpolated median 10.5
    cdf = cdf_from_hazards(hazards)
    until_due = np.array([12.0, 20.0, -3.0, np.nan])  # due in that bin, later, overdue, unknown
    assert median_days(cdf, until_due, INTERPOLATED).tolist() == [10.5] * 4
    assert median_days(cdf, until_due, DUE_DATE).tolist() == [12.0, 10.5, 10.5, 10.5]
    with pytest.raises(ValueError, match="unknown median rule"):
        median_days(cdf, until_due, "mode")


def test_the_median_rule_is_the_one_that_misses_the_calibration_days_least() -> None:
    hazards = np.zeros((3, len(EDGES) - 1))
    hazards[:, 1] = 1.0
    cdf = cdf_from_hazards(hazards)
    due = pd.Series([8.0, 9.0, 13.0])
    assert median_rule(cdf, due, pd.Series([8.0, 9.0, 13.0])) == DUE_DATE  # paid on the due day
    assert median_rule(cdf, due, pd.Series([11.0, 11.0, 11.0])) == INTERPOLATED
    assert median_rule(cdf, pd.Series([30.0] * 3), pd.Series([11.0] * 3)) == INTERPOLATED  # tie


def _known_at(ledger: Ledger, cutoff: pd.Timestamp) -> Ledger:
    """The ledger as it stood at ``cutoff``: later invoices gone, later payments not made."""
    invoices = ledger.invoices[ledger.invoices["issue_date"] <= cutoff]
    invoices = invoices.assign(
        paid_date=invoices["paid_date"].where(invoices["paid_date"] <= cutoff)
    )
    payments = ledger.payments
    if payments is not None:
        payments = payments[payments["payment_date"] <= cutoff]
    return Ledger(
        invoices=invoices.reset_index(drop=True),
        customers=ledger.customers,
        payments=payments,
        feature_columns=ledger.feature_columns,
        name=ledger.name,
    )


@pytest.fixture(scope="module")
def cutoff(small_synthetic: Path) -> pd.Timestamp:
    issue = load_ledger(small_synthetic).invoices["issue_date"]
    return pd.Timestamp(issue.quantile(0.8)).normalize()


def test_censored_invoices_are_used_and_never_leak_their_later_payment(
    small_synthetic: Path, cutoff: pd.Timestamp
) -> None:
    ledger = load_ledger(small_synthetic)
    rows = payment_set(ledger, cutoff)
    later = ledger.invoices.set_index("invoice_id")["paid_date"] > cutoff
    censored = rows[rows["invoice_id"].map(later).fillna(False).astype(bool)]
    assert len(censored) > 0 and not censored["paid"].any()
    assert ((censored["as_of"] + pd.to_timedelta(censored["days"], "D")) == cutoff).all()
    # the model fit at the cutoff is the one the ledger as it stood then would give
    known = _known_at(ledger, cutoff)
    same_rows = payment_set(known, cutoff)
    pd.testing.assert_frame_equal(
        rows.drop(columns="paid_date"), same_rows.drop(columns="paid_date"), check_dtype=False
    )
    full, truncated = (
        fit_pay_dates_on_ledger(ledger, cutoff),
        fit_pay_dates_on_ledger(known, cutoff),
    )
    targets = scoring_set(known, cutoff)
    np.testing.assert_allclose(full.cdf(targets), truncated.cdf(targets))
    assert full.info["censored_rows"] == len(rows) - int(rows["paid"].sum()) > 0


def test_pay_dates_are_ordered_and_after_the_as_of_date(
    small_synthetic: Path, cutoff: pd.Timestamp
) -> None:
    ledger = load_ledger(small_synthetic)
    model = fit_pay_dates_on_ledger(ledger, cutoff)
    features = scoring_set(ledger, cutoff)
    dates = pay_dates(model, features)
    assert len(dates) == len(features) > 50
    known = dates["pay_date_p90"].notna()
    assert known.mean() > 0.9
    d = dates[known]
    assert (d["pay_date_p10"] <= d["pay_date_p50"]).all()
    assert (d["pay_date_p50"] <= d["pay_date_p90"]).all()
    assert (d["pay_date_p10"] > cutoff).all() and (d["expected_pay_date"] > cutoff).all()
    p = dates[[c for c in dates if c.startswith("p_paid")]].to_numpy()
    assert (np.diff(p, axis=1) >= -1e-12).all() and ((p >= 0) & (p <= 1)).all()
    overdue = features["days_until_due"].to_numpy() < -30
    # an invoice already more than 30 days past due was not paid within 30 days of due
    assert (dates["p_paid_30d_after_due"].to_numpy()[overdue] == 0).all()
