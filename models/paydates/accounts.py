"""An account's pay dates: when its open invoices' money is expected, from their own pay dates
(one code path for the API's cached view and its store fallback)."""

from __future__ import annotations

import numpy as np
import pandas as pd

ACCOUNT_PAY_FIELDS = (
    "pay_model_version",
    "next_pay_date_p50",
    "expected_pay_date",
    "last_pay_date_p90",
    "expected_paid_30d_after_due",
    "expected_unpaid_180d_after_due",
)


def account_pay_dates(pay_dates: pd.DataFrame, invoices: pd.DataFrame) -> pd.DataFrame:
    """Per customer (the index), from its open invoices' pay dates and open amounts.

    ``pay_dates``: frame ``PayDates`` of a batch (or of some of its customers); ``invoices``: its
    scored invoices, of which ``invoice_id`` and ``open_amount`` are read. Returns
    :data:`ACCOUNT_PAY_FIELDS`:

    - ``next_pay_date_p50``: the earliest median pay date of its invoices;
    - ``expected_pay_date``: the open-amount-weighted mean of their expected pay dates (invoices
      expected to stay unpaid past the horizon have none and carry no weight);
    - ``last_pay_date_p90``: the latest P90, by which 90 % of the last invoice's chances are in;
    - ``expected_paid_30d_after_due``: open amount x P(paid within 30 days of due), summed;
    - ``expected_unpaid_180d_after_due``: open amount x the write-off risk, summed.
    """
    invoices = pay_dates.merge(
        invoices[["invoice_id", "open_amount"]], on="invoice_id", how="left", validate="1:1"
    )
    amount = invoices["open_amount"].fillna(0.0).to_numpy("float64")
    expected = pd.to_datetime(invoices["expected_pay_date"])
    known = expected.notna().to_numpy() & (amount > 0)
    days = (expected - pd.Timestamp(0)).dt.days.to_numpy("float64")
    frame = pd.DataFrame(
        {
            "customer_id": invoices["customer_id"].to_numpy(),
            "pay_model_version": invoices["pay_model_version"].astype(str).to_numpy(),
            "next_pay_date_p50": pd.to_datetime(invoices["pay_date_p50"]).to_numpy(),
            "last_pay_date_p90": pd.to_datetime(invoices["pay_date_p90"]).to_numpy(),
            "weighted_day": np.where(known, amount * np.nan_to_num(days), 0.0),
            "weight": np.where(known, amount, 0.0),
            "expected_paid_30d_after_due": amount * invoices["p_paid_30d_after_due"].to_numpy(),
            "expected_unpaid_180d_after_due": amount
            * invoices["p_unpaid_180d_after_due"].to_numpy(),
        }
    )
    grouped = frame.groupby("customer_id", sort=True)
    out = grouped.agg(
        pay_model_version=("pay_model_version", "first"),
        next_pay_date_p50=("next_pay_date_p50", "min"),
        last_pay_date_p90=("last_pay_date_p90", "max"),
        weighted_day=("weighted_day", "sum"),
        weight=("weight", "sum"),
        expected_paid_30d_after_due=("expected_paid_30d_after_due", "sum"),
        expected_unpaid_180d_after_due=("expected_unpaid_180d_after_due", "sum"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_day = np.floor(out["weighted_day"] / out["weight"] + 0.5)  # half a day up
    out["expected_pay_date"] = pd.Timestamp(0) + pd.to_timedelta(
        mean_day.where(out["weight"] > 0), unit="D"
    )
    return out[list(ACCOUNT_PAY_FIELDS)]
