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
