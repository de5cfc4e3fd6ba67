"""A slow, obviously-correct reference for :mod:`features.build` (the test oracle).

One plain loop per target invoice, reading the ledger as a person would: filter the customer's
other invoices to what was known at the as-of date, then compute each feature by its definition.
The property tests check that the fast implementation gives the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from features.catalogue import WINDOWS, feature_names, window_suffix
from features.ledger.ledger import Ledger

NAN = math.nan


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else NAN


def _history(settled: pd.DataFrame, T: pd.Timestamp, grace: int) -> dict[str, float]:
    out: dict[str, float] = {}
    days_late = (settled["paid_date"] - settled["due_date"]).dt.days.clip(lower=0)
    late = days_late > grace
    days_to_pay = (settled["paid_date"] - settled["issue_date"]).dt.days
    age = (T - settled["paid_date"]).dt.days
    for window in WINDOWS:
        s = window_suffix(window)
        inside = age < window if window is not None else pd.Series(True, index=settled.index)
        n = int(inside.sum())
        amount = settled.loc[inside, "amount"]
        out[f"settled_count_{s}"] = n
        out[f"late_count_{s}"] = int(late[inside].sum())
        out[f"late_share_{s}"] = late[inside].mean() if n else NAN
        out[f"mean_days_late_{s}"] = days_late[inside].mean() if n else NAN
        out[f"max_days_late_{s}"] = days_late[inside].max() if n else NAN
        out[f"amount_late_share_{s}"] = (
            amount[late[inside]].sum() / amount.sum() if n and amount.sum() > 0 else NAN
        )
        out[f"mean_days_to_pay_{s}"] = days_to_pay[inside].mean() if n else NAN
        if window in (365, None):
            out[f"std_days_to_pay_{s}"] = float(np.std(days_to_pay[inside])) if n else NAN
    out["late_share_trend"] = out["late_share_90d"] - out["late_share_365d"]
    out["days_late_trend"] = out["mean_days_late_90d"] - out["mean_days_late_365d"]
    late_dates = settled.loc[late, "paid_date"]
    out["days_since_last_late"] = (T - late_dates.max()).days if len(late_dates) else NAN
    after_last_late = (
        settled if late_dates.empty else settled[settled["paid_date"] > late_dates.max()]
    )
    out["on_time_streak"] = int((~late[after_last_late.index]).sum())
    out["days_since_last_payment"] = (T - settled["paid_date"].max()).days if len(settled) else NAN
    last_day = settled["paid_date"] == settled["paid_date"].max()
    out["days_late_last"] = float(days_late[last_day].max()) if len(settled) else NAN
    out["days_to_pay_last"] = float(days_to_pay[last_day].max()) if len(settled) else NAN
    out["is_new_customer"] = float(len(settled) == 0)
    return out


def _disputed(invoices: pd.DataFrame) -> pd.Series:
    if "disputed" not in invoices:
        return pd.Series(False, index=invoices.index)
    return invoices["disputed"].map(lambda v: False if pd.isna(v) else bool(v)).astype(bool)


def _dispute_and_channel(
    others: pd.DataFrame, settled: pd.DataFrame, target: pd.Series, grace: int
) -> dict[str, float]:
    """Undisputed history, dispute rate and same-channel speed, by their definitions."""
    undisputed = settled[~_disputed(settled)]
    days_late = (undisputed["paid_date"] - undisputed["due_date"]).dt.days.clip(lower=0)
    days_to_pay = (settled["paid_date"] - settled["issue_date"]).dt.days
    channel = _text(target.get("channel", pd.NA))
    if pd.isna(channel) or "channel" not in settled:  # type: ignore[call-overload]
        same_channel: list[float] = []
    else:
        same = [not pd.isna(v) and _text(v) == channel for v in settled["channel"]]
        same_channel = days_to_pay[same].tolist()
    return {
        "late_share_undisputed": _mean((days_late > grace).astype(float).tolist()),
        "mean_days_to_pay_undisputed": _mean(days_to_pay[undisputed.index].tolist()),
        "mean_days_to_pay_same_channel": _mean(same_channel),
        "dispute_rate": _mean(_disputed(others).astype(float).tolist()),
    }


def _paid_by(payments: pd.DataFrame | None, invoice_id: str, T: pd.Timestamp) -> float:
    if payments is None:
        return 0.0
    mine = payments[(payments["invoice_id"] == invoice_id) & (payments["payment_date"] <= T)]
    return float(mine["amount"].sum())


def _text(value: object) -> object:
    return pd.NA if pd.isna(value) else str(value).strip().lower()  # type: ignore[call-overload]


def reference_features(ledger: Ledger, targets: pd.DataFrame, grace_days: int = 0) -> pd.DataFrame:
    """Features of each target invoice at its own ``as_of``, one loop iteration per target."""
    invoices = ledger.invoices
    customers = ledger.customers.set_index("customer_id") if ledger.customers is not None else None
    rows = []
    for _, target in targets.iterrows():
        T = pd.Timestamp(target["as_of"]).normalize()
        others = invoices[
            (invoices["customer_id"] == target["customer_id"])
            & (invoices["invoice_id"] != target["invoice_id"])
            & (invoices["issue_date"] <= T)
        ]
        settled = others[others["paid_date"].notna() & (others["paid_date"] <= T)]
        still_open = others.drop(settled.index)
        row: dict[str, object] = dict(_history(settled, T, grace_days))
        row.update(_dispute_and_channel(others, settled, target, grace_days))

        remaining = [
            a - _paid_by(ledger.payments, i, T)
            for i, a in zip(still_open["invoice_id"], still_open["amount"], strict=True)
        ]
        partial = [r < a for r, a in zip(remaining, still_open["amount"], strict=True)]
        overdue = (still_open["due_date"] < T).to_list()
        customer = (
            customers.loc[target["customer_id"]]
            if (customers is not None and target["customer_id"] in customers.index)
            else None
        )
        credit_limit = (
            float(customer["credit_limit"])
            if (
                customer is not None
                and "credit_limit" in customer
                and pd.notna(customer["credit_limit"])
            )
            else NAN
        )
        row["open_count"] = len(still_open)
        row["open_amount"] = sum(remaining)
        row["partial_open_count"] = sum(partial)
        row["open_to_credit_limit"] = sum(remaining) / credit_limit if credit_limit > 0 else NAN
        row["overdue_count"] = sum(overdue)
        row["overdue_amount"] = sum(r for r, o in zip(remaining, overdue, strict=True) if o)
        overdue_dues = still_open.loc[overdue, "due_date"]
        row["oldest_overdue_days"] = (T - overdue_dues.min()).days if len(overdue_dues) else NAN

        amount = float(target["amount"])
        issue, due = pd.Timestamp(target["issue_date"]), pd.Timestamp(target["due_date"])
        usual = others["amount"].mean() if len(others) else NAN
        row["amount"] = amount
        row["amount_vs_usual"] = amount / usual if usual > 0 else NAN
        row["terms_days"] = (due - issue).days
        row["days_until_due"] = (due - T).days
        in_ledger = (invoices["invoice_id"] == target["invoice_id"]) & (
            invoices["customer_id"] == target["customer_id"]
        )
        row["paid_share"] = (
            _paid_by(ledger.payments, target["invoice_id"], T) / amount if in_ledger.any() else 0.0
        )
        disputed = target.get("disputed", pd.NA)
        row["disputed"] = NAN if pd.isna(disputed) else float(bool(disputed))
        row["channel"] = _text(target.get("channel", pd.NA))
        currency = _text(target.get("currency", pd.NA))
        row["currency"] = currency if pd.isna(currency) else str(currency).upper()
        row["issue_month_end"] = float(issue.day > issue.days_in_month - 3)
        row["issue_quarter_end"] = float(
            issue.month in (3, 6, 9, 12) and issue.day > issue.days_in_month - 7
        )
        row["issue_weekday"] = float(issue.weekday())
        first_seen = min([issue, *others["issue_date"]])
        since = customer.get("customer_since", pd.NaT) if customer is not None else pd.NaT
        row["tenure_days"] = (T - (since if pd.notna(since) else first_seen)).days
        issued_age = (T - others["issue_date"]).dt.days
        row["invoices_30d"] = int((issued_age < 30).sum())
        if len(others):
            span = min(max((T - others["issue_date"].min()).days, 30), 365)
            usual_monthly = int((issued_age < 365).sum()) * 30 / span
            row["velocity_ratio"] = (
                row["invoices_30d"] / usual_monthly if usual_monthly > 0 else NAN
            )
        else:
            row["velocity_ratio"] = NAN
        row["credit_limit"] = credit_limit
        for column in ("segment", "country"):
            value = customer.get(column, pd.NA) if customer is not None else pd.NA
            row[column] = _text(value)
        for name in ledger.feature_columns:
            row[name] = target.get(name, NAN)
        rows.append(
            {
                "invoice_id": target["invoice_id"],
                "customer_id": target["customer_id"],
                "as_of": T,
                **row,
            }
        )
    columns = ["invoice_id", "customer_id", "as_of", *feature_names(ledger.feature_columns)]
    return pd.DataFrame(rows, columns=columns)
