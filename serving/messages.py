"""The messages customers receive: per treatment and channel a Jinja template, filled with the
invoice's facts in customer-facing words (never the words of the score behind them).

Templates live in ``serving/templates/messages/<channel>/<treatment>.j2``; a treatment without
its own template for a channel uses ``<channel>/default.j2``. The tone follows the account's
behavioural segment when the worklist carries one (``friendly``, ``neutral`` or ``firm``). The
payment-plan treatment proposes an instalment schedule of the open balance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

TEMPLATES = Path(__file__).parent / "templates" / "messages"
CHANNELS: dict[str, tuple[str, ...]] = {
    "automated_reminder": ("email", "sms"),
    "reminder_before_due": ("email", "sms"),
    "personal_call": ("call", "email"),
    "payment_plan": ("call", "email"),
    "escalate": ("call", "email"),
    "dispute_resolution": ("call", "email"),
}
"""The channels of each treatment, the first the main one; any other treatment: email."""
DEFAULT_CHANNELS = ("email",)
TONES: dict[str, str] = {
    "reliable": "friendly",
    "new": "friendly",
    "recovering": "friendly",
    "occasional": "neutral",
    "chronic": "firm",
    "deteriorating": "firm",
}
"""Behavioural segment -> tone; any other segment (or none) is ``neutral``."""
INSTALMENTS = 3
INSTALMENT_DAYS = 30
PAY_BY = "bank transfer to the account shown on your invoice"
SENDER = "Accounts receivable"
COLUMNS = [
    "customer_id",
    "invoice_id",
    "treatment",
    "channel",
    "tone",
    "amount",
    "currency",
    "due_date",
    "subject",
    "body",
    "instalments",
]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=False,  # plain text: the pages escape a preview when they show it
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["lower_first"] = _lower_first


def tone_of(segment: object) -> str:
    return (
        TONES.get(str(segment).strip().lower(), "neutral")
        if isinstance(segment, str)
        else "neutral"
    )


def channels_of(treatment: str) -> tuple[str, ...]:
    return CHANNELS.get(treatment, DEFAULT_CHANNELS)


def day_words(day: date) -> str:
    """``5 January 2026``."""
    return f"{day.day} {day:%B %Y}"


def amount_words(value: float, currency: str) -> str:
    """``5,715.00 EUR``."""
    return f"{value:,.2f} {currency}"


def instalments(total: float, first: date, count: int = INSTALMENTS) -> list[tuple[date, float]]:
    """``count`` payments ``INSTALMENT_DAYS`` apart from ``first``, in cents; the last one takes
    the rounding, so they add up to ``total`` exactly."""
    cents = round(total * 100)
    part = cents // count
    amounts = [part] * (count - 1) + [cents - part * (count - 1)]
    return [(first + timedelta(days=INSTALMENT_DAYS * i), a / 100) for i, a in enumerate(amounts)]


@dataclass(frozen=True)
class Facts:
    """What a message may say: the invoice, its due date, the balance, nothing else."""

    customer_id: str
    invoice_id: str
    open_amount: float
    due_date: date
    balance: float
    other_invoices: int
    as_of: date
    treatment: str
    tone: str = "neutral"
    currency: str = "EUR"

    def context(self) -> dict[str, Any]:
        start = self.due_date if self.due_date > self.as_of else self.as_of + timedelta(days=7)
        plan = instalments(self.balance, start) if self.treatment == "payment_plan" else []
        return {
            "customer_id": self.customer_id,
            "invoice_id": self.invoice_id,
            "amount": amount_words(self.open_amount, self.currency),
            "due": day_words(self.due_date),
            "overdue": self.due_date < self.as_of,
            "balance": amount_words(self.balance, self.currency),
            "other_invoices": self.other_invoices,
            "tone": self.tone,
            "pay_by": PAY_BY,
            "sender": SENDER,
            "instalments": [
                {"date": day_words(d), "amount": amount_words(a, self.currency)} for d, a in plan
            ],
            "schedule": [(d, a) for d, a in plan],
        }


def render(facts: Facts, channel: str) -> tuple[str, str]:
    """The subject (empty but for email) and the body of one message."""
    names = [f"{channel}/{facts.treatment}.j2", f"{channel}/default.j2"]
    template = ENV.select_template(names)
    module = template.make_module({"f": facts.context()})
    body = "\n".join(line.rstrip() for line in str(module).strip().splitlines())
    while "\n\n\n" in body:
        body = body.replace("\n\n\n", "\n\n")
    return str(getattr(module, "subject", "")), body


def invoice_facts(invoices: pd.DataFrame) -> pd.DataFrame:
    """Scored invoices with their due date (as-of day + days until due) and open amount."""
    as_of = pd.to_datetime(invoices["as_of"]).dt.normalize()
    due = as_of + pd.to_timedelta(invoices["days_until_due"].fillna(0), unit="D")
    return invoices.assign(as_of=as_of, due_date=due.dt.normalize())


def account_facts(row: dict[str, Any], invoices: pd.DataFrame, currency: str) -> Facts | None:
    """The facts of a worklist row (``customer_id, invoice_id, treatment[, segment]``) from the
    customer's scored invoices (see :func:`invoice_facts`); None without an open invoice."""
    mine = invoices[invoices["customer_id"].astype(str) == str(row["customer_id"])]
    if mine.empty:
        return None
    lead = mine[mine["invoice_id"] == row.get("invoice_id")]
    if str(row["treatment"]) == "dispute_resolution" and "disputed" in mine:
        disputed = mine[mine["disputed"].fillna(0) > 0]  # the message is about that invoice
        lead = disputed.sort_values("open_amount", ascending=False) if len(disputed) else lead
    if lead.empty:  # the worklist's lead invoice: the most at risk
        lead = mine.sort_values("amount_at_risk", ascending=False)
    first = lead.iloc[0]
    return Facts(
        customer_id=str(row["customer_id"]),
        invoice_id=str(first["invoice_id"]),
        open_amount=float(first["open_amount"]),
        due_date=pd.Timestamp(first["due_date"]).date(),
        balance=float(mine["open_amount"].sum()),
        other_invoices=len(mine) - 1,
        as_of=pd.Timestamp(first["as_of"]).date(),
        treatment=str(row["treatment"]),
        tone=tone_of(row.get("segment")),
        currency=currency,
    )


def messages_for(work: pd.DataFrame, invoices: pd.DataFrame, currency: str = "EUR") -> pd.DataFrame:
    """One row per message: each worklist row to contact, once per channel of its treatment.

    Args:
        work: worklist rows (``customer_id, invoice_id, treatment, contact[, segment]``).
        invoices: the batch's scored invoices (``invoice_id, customer_id, as_of, open_amount,
            days_until_due``).
    Returns:
        :data:`COLUMNS`; ``instalments`` is JSON (``[{"date", "amount"}]``, empty but for a plan).
    """
    facts_of_invoices = invoice_facts(invoices)
    out = []
    chosen = work[work["contact"].astype(bool) & work["treatment"].ne("none")]
    for row in chosen.to_dict("records"):
        facts = account_facts(row, facts_of_invoices, currency)
        if facts is None:
            continue
        plan = facts.context()["schedule"]
        for channel in channels_of(facts.treatment):
            subject, body = render(facts, channel)
            out.append(
                {
                    "customer_id": facts.customer_id,
                    "invoice_id": facts.invoice_id,
                    "treatment": facts.treatment,
                    "channel": channel,
                    "tone": facts.tone,
                    "amount": round(facts.open_amount, 2),
                    "currency": currency,
                    "due_date": facts.due_date.isoformat(),
                    "subject": subject,
                    "body": body,
                    "instalments": json.dumps(
                        [{"date": d.isoformat(), "amount": a} for d, a in plan]
                    ),
                }
            )
    return pd.DataFrame(out, columns=COLUMNS)


def write_messages(messages: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """``messages.csv`` (mail merge) and ``messages.json`` (for a CRM) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, as_json = folder / "messages.csv", folder / "messages.json"
    messages.to_csv(csv, index=False)
    records = [
        {**r, "instalments": json.loads(r["instalments"])} for r in messages.to_dict("records")
    ]
    as_json.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    return csv, as_json


def preview(row: dict[str, Any], invoices: pd.DataFrame, currency: str) -> list[dict[str, str]]:
    """The messages an account's treatment would send today, per channel (for the pages)."""
    if str(row.get("treatment", "none")) == "none":
        return []
    facts = account_facts(row, invoice_facts(invoices), currency)
    if facts is None:
        return []
    out = []
    for channel in channels_of(facts.treatment):
        subject, body = render(facts, channel)
        out.append({"channel": channel, "subject": subject, "body": body})
    return out
