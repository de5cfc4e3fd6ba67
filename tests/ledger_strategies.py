"""Hypothesis strategies for small random ledgers (imported by the feature tests)."""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from features.ledger.ledger import Ledger, resolve_paid_dates

START = pd.Timestamp("2023-01-01")


@st.composite
def ledgers(draw: st.DrawFn, max_invoices: int = 14, with_payments: bool | None = None) -> Ledger:
    """A valid canonical ledger over ~1 year with 1-3 customers, optional customers and payments."""
    n_customers = draw(st.integers(1, 3))
    n = draw(st.integers(0, max_invoices))
    rows = []
    for i in range(n):
        issue = START + pd.Timedelta(days=draw(st.integers(0, 300)))
        terms = draw(st.sampled_from([0, 15, 30, 45]))
        paid_after = draw(st.one_of(st.none(), st.integers(0, 90)))
        rows.append(
            {
                "invoice_id": f"I{i:03d}",
                "customer_id": f"C{draw(st.integers(0, n_customers - 1))}",
                "issue_date": issue,
                "due_date": issue + pd.Timedelta(days=terms),
                "amount": float(draw(st.integers(1, 500))),
                "currency": draw(st.sampled_from(["USD", "EUR"])),
                "paid_date": None if paid_after is None else issue + pd.Timedelta(days=paid_after),
                "disputed": draw(st.sampled_from([False, False, True, None])),
                "channel": draw(st.sampled_from(["Paper", " paper", "electronic", None])),
            }
        )
    invoices = pd.DataFrame(
        rows,
        columns=[
            "invoice_id",
            "customer_id",
            "issue_date",
            "due_date",
            "amount",
            "currency",
            "paid_date",
            "disputed",
            "channel",
        ],
    ).astype(
        {
            "invoice_id": "string",
            "customer_id": "string",
            "issue_date": "datetime64[us]",
            "due_date": "datetime64[us]",
            "paid_date": "datetime64[us]",
            "amount": "float64",
            "currency": "string",
            "disputed": "boolean",
            "channel": "string",
        }
    )
    # optional columns are sometimes absent from the ledger altogether
    absent = draw(st.sampled_from([(), (), ("disputed",), ("channel",), ("disputed", "channel")]))
    invoices = invoices.drop(columns=list(absent))
    customers = None
    if draw(st.booleans()):
        customers = pd.DataFrame(
            {
                "customer_id": pd.array([f"C{c}" for c in range(n_customers)], dtype="string"),
                "segment": [
                    draw(st.sampled_from(["smb", "Enterprise"])) for _ in range(n_customers)
                ],
                "credit_limit": [
                    float(draw(st.sampled_from([0, 500, 2000]))) for _ in range(n_customers)
                ],
                "customer_since": pd.to_datetime(
                    [
                        START - pd.Timedelta(days=draw(st.integers(0, 400)))
                        for _ in range(n_customers)
                    ]
                ).astype("datetime64[us]"),
            }
        )
    payments = None
    use_payments = draw(st.booleans()) if with_payments is None else with_payments
    if use_payments and n:
        pay_rows = []
        for k in range(draw(st.integers(0, 2 * n))):
            inv = rows[draw(st.integers(0, n - 1))]
            pay_rows.append(
                {
                    "payment_id": f"P{k:03d}",
                    "invoice_id": inv["invoice_id"],
                    "payment_date": inv["issue_date"]
                    + pd.Timedelta(days=draw(st.integers(0, 120))),
                    "amount": float(draw(st.integers(1, 300))),
                }
            )
        payments = pd.DataFrame(
            pay_rows, columns=["payment_id", "invoice_id", "payment_date", "amount"]
        ).astype(
            {
                "payment_id": "string",
                "invoice_id": "string",
                "payment_date": "datetime64[us]",
                "amount": "float64",
            }
        )
    return Ledger(
        invoices=resolve_paid_dates(invoices, payments), customers=customers, payments=payments
    )


@st.composite
def targets(draw: st.DrawFn, ledger: Ledger) -> pd.DataFrame:
    """Some ledger invoices at random as-of dates, plus possibly a new invoice of a customer."""
    invoices = ledger.invoices
    picks = []
    if len(invoices):
        for index in draw(st.lists(st.integers(0, len(invoices) - 1), max_size=6)):
            row = invoices.iloc[index].to_dict()
            row["as_of"] = row["issue_date"] + pd.Timedelta(days=draw(st.integers(0, 120)))
            picks.append(row)
    if draw(st.booleans()):
        issue = START + pd.Timedelta(days=draw(st.integers(0, 400)))
        picks.append(
            {
                "invoice_id": "NEW",
                "customer_id": f"C{draw(st.integers(0, 3))}",
                "issue_date": issue,
                "due_date": issue + pd.Timedelta(days=30),
                "amount": 99.0,
                "currency": "usd",
                "paid_date": pd.NaT,
                "disputed": draw(st.sampled_from([False, True, None])),
                "channel": draw(st.sampled_from(["paper", "Electronic", "fax", None])),
                "as_of": issue,
            }
        )
    frame = pd.DataFrame(picks, columns=[*invoices.columns, "as_of"])
    return frame.astype(
        {
            "issue_date": "datetime64[us]",
            "due_date": "datetime64[us]",
            "as_of": "datetime64[us]",
            "amount": "float64",
        }
    )


@st.composite
def big_ledgers(draw: st.DrawFn, min_invoices: int = 1000, max_invoices: int = 3000) -> Ledger:
    """One or two customers with thousands of invoices: hypothesis draws the shape (how many,
    over how many days, how often settled, partly paid, disputed), numpy the rows. Settlement
    days repeat (batch remittances), some invoices are paid on their issue day."""
    import numpy as np

    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(min_invoices, max_invoices))
    span = draw(st.sampled_from([60, 400, 1500]))
    open_share = draw(st.sampled_from([0.0, 0.05, 0.3]))
    batch = draw(st.sampled_from([1, 7, 30]))  # settlements rounded to this many days
    issue = START + pd.to_timedelta(np.sort(rng.integers(0, span, n)), unit="D")
    terms = pd.to_timedelta(rng.choice([0, 15, 30, 60], n), unit="D")
    delay = rng.integers(-20, 120, n).clip(0)
    delay = (delay // batch) * batch + rng.integers(0, 2, n) * (batch > 1)
    paid = pd.Series(issue + pd.to_timedelta(delay, unit="D"))
    paid[rng.random(n) < open_share] = pd.NaT
    ids = [f"B{i:05d}" for i in range(n)]
    invoices = pd.DataFrame(
        {
            "invoice_id": pd.array(ids, dtype="string"),
            "customer_id": pd.array(rng.choice(["C0", "C1"], n, p=[0.9, 0.1]), dtype="string"),
            "issue_date": issue.astype("datetime64[us]"),
            "due_date": (issue + terms).astype("datetime64[us]"),
            "amount": rng.integers(1, 50_000, n) / 100,
            "currency": pd.array(["USD"] * n, dtype="string"),
            "paid_date": paid.to_numpy().astype("datetime64[us]"),
            "disputed": pd.array(rng.random(n) < 0.1, dtype="boolean"),
            "channel": pd.array(rng.choice(["paper", "electronic"], n), dtype="string"),
        }
    )
    payments = None
    if draw(st.booleans()):
        partly = rng.choice(n, n // 4, replace=False)
        payments = pd.DataFrame(
            {
                "payment_id": pd.array([f"P{k:05d}" for k in range(len(partly))], dtype="string"),
                "invoice_id": pd.array([ids[i] for i in partly], dtype="string"),
                "payment_date": (
                    issue[partly] + pd.to_timedelta(rng.integers(0, 90, len(partly)), unit="D")
                ).astype("datetime64[us]"),
                "amount": invoices["amount"].to_numpy()[partly] * 0.4,
            }
        )
    return Ledger(invoices=resolve_paid_dates(invoices, payments), payments=payments)
