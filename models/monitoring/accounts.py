"""The deteriorating-account list: accounts whose payment behaviour changed abruptly against
their own history.

For each account, invoices falling due in the last ``recent_days`` before T are compared with
those that fell due in the ``history_days`` before that, on three measures:

- **days to pay**: issue to payment, or to T while still unpaid (a lower bound that grows as
  the invoice stays open, so a customer who stops paying shows at once);
- **partial payments**: the share of invoices paid in parts (a payment that left some owed);
- **disputes**: the share of invoices disputed.

A change is listed when it exceeds its threshold and, for days to pay, twice the account's own
spread as well; both windows need enough invoices. Only events dated on or before T count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.ledger.ledger import PAID_TOLERANCE, Ledger
from models.monitoring.limits import Deterioration


def _partial_invoices(ledger: Ledger, as_of: pd.Timestamp) -> set[str]:
    """Invoices with a payment on or before T that left some of the amount owed."""
    payments = ledger.payments
    if payments is None or payments.empty:
        return set()
    early = payments[payments["payment_date"] <= as_of].sort_values(
        ["invoice_id", "payment_date"], kind="stable"
    )
    paid_so_far = early.groupby("invoice_id", sort=False)["amount"].cumsum()
    owed = early["invoice_id"].map(
        ledger.invoices.drop_duplicates("invoice_id").set_index("invoice_id")["amount"]
    )
    short = paid_so_far < owed - PAID_TOLERANCE
    return set(early.loc[short.to_numpy(), "invoice_id"].astype(str))


def _windows(ledger: Ledger, as_of: pd.Timestamp, rules: Deterioration) -> pd.DataFrame:
    invoices = ledger.invoices[ledger.invoices["issue_date"] <= as_of]
    due = invoices["due_date"]
    recent_from = as_of - pd.Timedelta(days=rules.recent_days)
    history_from = recent_from - pd.Timedelta(days=rules.history_days)
    window = np.select(
        [(due > recent_from) & (due <= as_of), (due > history_from) & (due <= recent_from)],
        ["recent", "before"],
        default="",
    )
    paid = invoices["paid_date"].where(invoices["paid_date"] <= as_of)
    end = paid.fillna(as_of)
    disputed = (
        invoices["disputed"].astype("boolean").fillna(False).astype(bool)
        if "disputed" in invoices
        else pd.Series(False, index=invoices.index)
    )
    partial = _partial_invoices(ledger, as_of)
    return pd.DataFrame(
        {
            "customer_id": invoices["customer_id"].astype(str).to_numpy(),
            "window": window,
            "days_to_pay": (end - invoices["issue_date"]).dt.days.to_numpy("float64"),
            "partial": invoices["invoice_id"].astype(str).isin(partial).to_numpy("float64"),
            "disputed": disputed.to_numpy("float64"),
        }
    )[window != ""]


def deteriorating_accounts(
    ledger: Ledger, as_of: pd.Timestamp, rules: Deterioration = Deterioration()
) -> list[dict[str, Any]]:
    """The accounts whose behaviour changed, one row per account and measure, largest change
    (relative to its threshold) first."""
    as_of = pd.Timestamp(as_of).normalize()
    rows = _windows(ledger, as_of, rules)
    if rows.empty:
        return []
    stats = rows.groupby(["customer_id", "window"]).agg(
        n=("days_to_pay", "size"),
        days_to_pay=("days_to_pay", "mean"),
        spread=("days_to_pay", "std"),
        partial=("partial", "mean"),
        disputed=("disputed", "mean"),
    )
    wide = stats.unstack("window")
    if "recent" not in wide.columns.get_level_values(1) or "before" not in (
        wide.columns.get_level_values(1)
    ):
        return []
    enough = (wide[("n", "recent")] >= rules.min_recent) & (
        wide[("n", "before")] >= rules.min_history
    )
    wide = wide[enough.fillna(False)]
    found: list[dict[str, Any]] = []
    spread = wide[("spread", "before")].fillna(0.0)
    checks = (
        ("days_to_pay", rules.days_to_pay_jump, rules.spread_factor * spread),
        ("partial", rules.partial_jump, 0.0),
        ("disputed", rules.dispute_jump, 0.0),
    )
    for measure, jump, floor in checks:
        before, recent = wide[(measure, "before")], wide[(measure, "recent")]
        change = recent - before
        hit = (change >= jump) & (change >= floor)
        for customer in change.index[hit.fillna(False).to_numpy()]:
            found.append(
                {
                    "customer_id": str(customer),
                    "measure": measure,
                    "before": float(before[customer]),
                    "recent": float(recent[customer]),
                    "change": float(change[customer]),
                    "severity": float(change[customer] / jump),
                    "recent_invoices": int(wide.loc[customer, ("n", "recent")]),
                    "before_invoices": int(wide.loc[customer, ("n", "before")]),
                }
            )
    found.sort(key=lambda r: (-r["severity"], r["customer_id"], r["measure"]))
    return found[: rules.max_accounts]
