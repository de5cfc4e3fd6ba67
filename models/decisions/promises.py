"""Contact outcomes and promises to pay: which promises were kept, which were broken.

A promise to pay (a contact with outcome ``promise_to_pay``, a promised date and amount) is
*kept* when the payments received from the day it was made up to and including its date cover
the promised amount, and *broken* when its date has passed without that. A payment made before
the promise does not count towards it: it was already in hand when the customer promised.
Payments count towards the promise's invoice, or towards any invoice of the customer when the
promise names none. Point in time: at ``as_of`` only contacts made and payments received by the
end of the day before ``as_of`` are known, and only promises dated before ``as_of`` are judged.
"""

from __future__ import annotations

import pandas as pd

OUTCOMES: tuple[str, ...] = (
    "reached",
    "no_answer",
    "promise_to_pay",
    "dispute_raised",
    "paid",
    "refused",
)
"""What a contact can end in; a ``promise_to_pay`` also carries a date and an amount."""
PROMISE = "promise_to_pay"
COVER_TOLERANCE = 0.005
"""Payments within half a cent of the promised amount keep the promise."""
STATUS = ("kept", "broken", "pending")
PROMISE_COLUMNS = [
    "customer_id",
    "invoice_id",
    "contacted_at",
    "promised_date",
    "promised_amount",
    "paid_by_date",
    "status",
]
BROKEN_COLUMNS = ["customer_id", "invoice_id", "promised_date", "promised_amount", "reason"]


def payments_of(invoices: pd.DataFrame, payments: pd.DataFrame | None) -> pd.DataFrame:
    """Payments with their customer: ``customer_id, invoice_id, payment_date, amount``.

    Without a payments table, an invoice's ``paid_date`` stands for one payment of its amount."""
    owners = invoices.drop_duplicates("invoice_id").set_index("invoice_id")["customer_id"]
    if payments is not None and not payments.empty:
        frame = payments[["invoice_id", "payment_date", "amount"]]
    elif "paid_date" in invoices:
        paid = invoices[invoices["paid_date"].notna()]
        frame = paid[["invoice_id", "paid_date", "amount"]].rename(
            columns={"paid_date": "payment_date"}
        )
    else:
        frame = pd.DataFrame(columns=["invoice_id", "payment_date", "amount"])
    return frame.assign(
        customer_id=frame["invoice_id"].map(owners),
        payment_date=pd.to_datetime(frame["payment_date"]).dt.normalize(),
        amount=frame["amount"].astype(float),
    )[["customer_id", "invoice_id", "payment_date", "amount"]]


def _day(values: pd.Series) -> pd.Series:
    """Days as naive midnights (an aware instant first goes to UTC)."""
    stamps = pd.to_datetime(values, utc=True)
    return stamps.dt.tz_localize(None).dt.normalize()


def promises(contacts: pd.DataFrame) -> pd.DataFrame:
    """The promises to pay among the contacts (``contacted_at`` a day, naive UTC), with the
    contacts' index."""
    made = contacts[contacts["outcome"] == PROMISE]
    return pd.DataFrame(
        {
            "customer_id": made["customer_id"].astype(str),
            "invoice_id": made["invoice_id"].astype(object).where(made["invoice_id"].notna(), None),
            "contacted_at": _day(made["contacted_at"]),
            "promised_date": pd.to_datetime(made["promised_date"]).dt.normalize(),
            "promised_amount": made["promised_amount"].astype(float),
        },
        index=made.index,
    )


def promise_status(
    contacts: pd.DataFrame, payments: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Every promise made before ``as_of``: kept, broken or pending, with what was paid by its
    date (known at ``as_of``). Columns: :data:`PROMISE_COLUMNS`.

    Args:
        contacts: ``customer_id, invoice_id, contacted_at, outcome, promised_date,
            promised_amount`` (as :meth:`ScoreStore.contacts` returns them); the result keeps
            their index.
        payments: ``customer_id, invoice_id, payment_date, amount`` (see :func:`payments_of`).
        as_of: the day judged as of; its own events are not known yet.
    """
    day = pd.Timestamp(as_of).normalize()
    made = promises(contacts)
    made = made[made["contacted_at"] < day].copy()
    paid = payments.assign(payment_date=pd.to_datetime(payments["payment_date"]).dt.normalize())
    paid = paid[paid["payment_date"] < day]
    covered = [
        _paid_towards(paid, p.customer_id, p.invoice_id, p.contacted_at, p.promised_date)
        for p in made.itertuples()
    ]
    made["paid_by_date"] = pd.Series(covered, index=made.index, dtype=float)
    kept = made["paid_by_date"] >= made["promised_amount"] - COVER_TOLERANCE
    due = made["promised_date"] < day
    made["status"] = [
        "kept" if k else "broken" if d else "pending" for k, d in zip(kept, due, strict=True)
    ]
    return made[PROMISE_COLUMNS]


def _paid_towards(
    paid: pd.DataFrame,
    customer_id: str,
    invoice_id: str | None,
    made: pd.Timestamp,
    promised: pd.Timestamp,
) -> float:
    mine = paid["customer_id"] == customer_id
    if invoice_id is not None:
        mine &= paid["invoice_id"] == invoice_id
    inside = (paid["payment_date"] >= made) & (paid["payment_date"] <= promised)
    return float(paid.loc[mine & inside, "amount"].sum())


def broken_promises(
    contacts: pd.DataFrame, payments: pd.DataFrame, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The promises broken as of ``as_of``, each with the reason in words, latest date first.

    Columns: :data:`BROKEN_COLUMNS`; the ``promise_follow_up`` queue takes these."""
    status = promise_status(contacts, payments, as_of)
    broken = status[status["status"] == "broken"]
    reasons = [
        f"promised {b.promised_amount:,.2f} by {b.promised_date:%Y-%m-%d}"
        f"{' for invoice ' + str(b.invoice_id) if b.invoice_id is not None else ''}; "
        f"{b.paid_by_date:,.2f} paid by then"
        for b in broken.itertuples()
    ]
    out = broken.assign(reason=pd.Series(reasons, index=broken.index, dtype=object))
    out = out.sort_values(["promised_date", "customer_id"], ascending=[False, True])
    return out[BROKEN_COLUMNS].reset_index(drop=True)
