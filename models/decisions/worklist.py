"""The outreach worklist: whom to contact today, how, and why.

Accounts are ranked by expected amount at risk (probability x open amount, overdue amounts
counted in full). Each gets the treatment of the first playbook rule it matches. Human contacts
are limited by a daily capacity (in total and per queue), a per-customer contact-frequency cap
and do-not-contact flags; automated treatments do not use capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.decisions.playbook import WorklistConfig


def account_facts(invoices: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """Per account what the rules look at: dispute, overdue, balance, trend, lead invoice."""
    by_risk = invoices.sort_values("amount_at_risk", ascending=False)
    lead = by_risk.drop_duplicates("customer_id").set_index("customer_id")
    grouped = invoices.groupby("customer_id")
    facts = pd.DataFrame(
        {
            "disputed": grouped["disputed"].max().fillna(0) > 0,
            "overdue": grouped["risk_band"].agg(lambda b: (b == "overdue").any()),
            "late_share_trend": grouped["late_share_trend"].max().fillna(0.0),
            "invoice_id": lead["invoice_id"],
        }
    )
    columns = [
        "customer_id",
        "risk",
        "risk_band",
        "open_amount",
        "overdue_open_amount",
        "amount_at_risk_total",
        "top_reason",
    ]
    out = accounts[columns].join(facts, on="customer_id")
    out["open_amount"] = out["open_amount"] + out["overdue_open_amount"]
    return out


def build_worklist(
    invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    config: WorklistConfig | None = None,
    contacts: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Ranked accounts with treatment, reason and whether to contact them today."""
    config = config or WorklistConfig()
    facts = (
        account_facts(invoices, accounts)
        .sort_values(["amount_at_risk_total", "customer_id"], ascending=[False, True])
        .reset_index(drop=True)
    )
    flags = (
        flags
        if flags is not None
        else pd.DataFrame(columns=["customer_id", "do_not_contact", "queue"])
    )
    flag_index = flags.set_index("customer_id")
    queue = facts["customer_id"].map(flag_index["queue"].astype(object))
    facts["queue"] = queue.astype(object).where(queue.notna(), "default")
    end = None if as_of is None else day_end(as_of)
    blocks = contact_blocks(facts["customer_id"], config, contacts, flags, end)

    treatments, reasons, manual = [], [], []
    for row in facts.to_dict("records"):
        rule = next((r for r in config.rules if r.matches(row)), None)
        treatments.append(rule.treatment if rule else "none")
        reasons.append(rule.reason if rule else "no rule applies")
        manual.append(rule.manual if rule else False)
    facts["treatment"], facts["treatment_reason"] = treatments, reasons

    used = {"__total__": 0}
    contact: list[bool] = []
    skip: list[str | None] = []
    for row, is_manual, block in zip(facts.to_dict("records"), manual, blocks, strict=True):
        queue = str(row["queue"])
        if block is not None:
            contact.append(False)
            skip.append(block)
        elif not is_manual:
            contact.append(row["treatment"] != "none")
            skip.append(None if row["treatment"] != "none" else "no action")
        elif used["__total__"] >= config.capacity:
            contact.append(False)
            skip.append("over today's contact capacity")
        elif queue in config.queue_capacity and used.get(queue, 0) >= config.queue_capacity[queue]:
            contact.append(False)
            skip.append(f"over the capacity of queue {queue}")
        else:
            contact.append(True)
            skip.append(None)
            used["__total__"] += 1
            used[queue] = used.get(queue, 0) + 1
    facts["contact"], facts["skip_reason"] = contact, skip
    facts["rank"] = np.arange(1, len(facts) + 1)
    facts = facts.rename(columns={"amount_at_risk_total": "amount_at_risk"})
    columns = [
        "rank",
        "customer_id",
        "invoice_id",
        "queue",
        "treatment",
        "treatment_reason",
        "amount_at_risk",
        "risk",
        "risk_band",
        "open_amount",
        "top_reason",
        "contact",
        "skip_reason",
    ]
    return facts[columns]


def day_end(day: pd.Timestamp | object) -> pd.Timestamp:
    """The end of a day (UTC, naive): contacts before it count towards that day's cap."""
    return pd.Timestamp(day).normalize() + pd.Timedelta(days=1)  # type: ignore[arg-type]


def contact_blocks(
    customers: pd.Series,
    config: WorklistConfig,
    contacts: pd.DataFrame | None,
    flags: pd.DataFrame | None,
    end: pd.Timestamp | None,
) -> list[str | None]:
    """Per customer why they may not be contacted (do-not-contact, the frequency cap counted in
    the window before ``end``), or None. The worklist's build and its read both ask this."""
    blocked = pd.Series(False, index=customers.index)
    if flags is not None and not flags.empty:
        flag = flags.set_index("customer_id")["do_not_contact"].astype(object)
        blocked = customers.map(flag).eq(True)
    recent = customers.map(_recent_contacts(contacts, end, config.contact_window_days))
    recent = recent.fillna(0).astype(int)
    window = config.contact_window_days
    return [
        "customer is flagged do-not-contact"
        if is_blocked
        else f"contacted {n} times in {window} days"
        if n >= config.max_contacts
        else None
        for is_blocked, n in zip(blocked, recent, strict=True)
    ]


def read_end(as_of: object, now: pd.Timestamp) -> pd.Timestamp:
    """Where the cap's window ends when a worklist of ``as_of`` is read at ``now`` (naive UTC):
    the later of the two, so that contacts recorded since the worklist was built count."""
    return max(day_end(as_of), now)


def enforce_contact_rules(
    work: pd.DataFrame,
    config: WorklistConfig,
    contacts: pd.DataFrame | None,
    flags: pd.DataFrame | None,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """A stored worklist as it stands at ``end`` (see :func:`read_end`): a customer flagged or
    capped since it was built is not to be contacted, whatever the stored row says. The
    capacity this frees goes to no one until the worklist is rebuilt."""
    if work.empty:
        return work
    blocks = pd.Series(
        contact_blocks(work["customer_id"], config, contacts, flags, end),
        index=work.index,
        dtype=object,
    )
    stopped = work["contact"].astype(bool) & blocks.notna()
    return work.assign(
        contact=work["contact"].astype(bool) & ~stopped,
        skip_reason=blocks.where(stopped, work["skip_reason"]),
    )


def _recent_contacts(
    contacts: pd.DataFrame | None, end: pd.Timestamp | None, window_days: int
) -> pd.Series:
    if contacts is None or contacts.empty or end is None:
        return pd.Series(dtype="int64")
    when = pd.to_datetime(contacts["contacted_at"], utc=True).dt.tz_localize(None)
    inside = (when >= end - pd.Timedelta(days=window_days)) & (when < end)
    return contacts[inside.to_numpy()].groupby("customer_id").size()
