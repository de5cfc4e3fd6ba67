"""The outreach worklist: whom to contact today, in which queue, how, and why.

Each account gets the treatment and queue of the first playbook rule it matches (disputes,
broken promises, overdue accounts, then the pre-due treatments by risk). The queues are filled
in the order of :data:`QUEUES`, ``pre_due`` first, each up to its own daily capacity, the total
capacity and each collector's: the pre-due queue can never be starved by the others.

The pre-due queue is ranked by the expected value of the contact (:mod:`models.decisions.value`):
only invoices due within ``pre_due_days`` and not yet covered by a contact since they entered
that window count. The other queues are ranked by amount at risk (overdue counted in full).
Within a queue, people's treatments come before automated ones and low-risk accounts come last,
so a low-risk account never leads a human queue. With ``min_expected_value`` set, a human pre-due
contact worth less is not made (by default the queue uses its capacity, in EV order).

A reproducible share of the eligible pre-due accounts (``control_share``, by the sha256 of the
salt, customer id and treatment) gets the default treatment instead: ``arm`` is ``control``;
the others ``treatment``; accounts outside the experiment ``none``.

Contacts are also limited by a per-customer contact-frequency cap and do-not-contact flags;
automated treatments use no capacity.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from models.decisions.bands import OVERDUE
from models.decisions.playbook import PRE_DUE, QUEUES, Rule, WorklistConfig
from models.decisions.value import (
    account_terms,
    daily_rate,
    days_avoided,
    days_late_if_late,
    reach,
)

PROMISE_COLUMNS = ("customer_id", "invoice_id", "promised_date", "promised_amount", "reason")
"""The frame of broken promises the ``promise_follow_up`` queue reads."""
WORKLIST_COLUMNS = (
    "rank",
    "customer_id",
    "invoice_id",
    "queue",
    "collector",
    "segment",
    "treatment",
    "treatment_reason",
    "arm",
    "expected_value",
    "value_reason",
    "amount_at_risk",
    "risk",
    "risk_band",
    "open_amount",
    "top_reason",
    "contact",
    "skip_reason",
)


def account_facts(
    invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    broken_promises: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per account what the rules look at: dispute, overdue, broken promise, balance, trend,
    segment, lead invoice."""
    by_risk = invoices.sort_values("amount_at_risk", ascending=False)
    lead = by_risk.drop_duplicates("customer_id").set_index("customer_id")
    grouped = invoices.groupby("customer_id")
    facts = pd.DataFrame(
        {
            "disputed": grouped["disputed"].max().fillna(0) > 0,
            "overdue": grouped["risk_band"].agg(lambda b: (b == OVERDUE).any()),
            "late_share_trend": grouped["late_share_trend"].max().fillna(0.0),
            "invoice_id": lead["invoice_id"],
        }
    )
    columns = [
        "customer_id",
        "risk",
        "risk_band",
        "open_amount",
        "amount_at_risk",
        "top_reason",
    ]
    out = accounts[columns].join(facts, on="customer_id")
    segment = accounts.get("payer_segment", pd.Series(None, index=accounts.index))
    out["segment"] = segment.astype(object).where(segment.notna(), None)
    promises = _promise_reasons(broken_promises)
    out["broken_promise"] = out["customer_id"].isin(promises.index)
    out["promise_reason"] = out["customer_id"].map(promises)
    return out


def _promise_reasons(broken: pd.DataFrame | None) -> pd.Series:
    """Per customer, the words of its latest broken promise."""
    if broken is None or broken.empty:
        return pd.Series(dtype=object)
    missing = set(PROMISE_COLUMNS) - set(broken.columns)
    if missing:
        raise ValueError(f"broken promises need the columns {sorted(missing)}")
    latest = broken.sort_values("promised_date").drop_duplicates("customer_id", keep="last")
    words = [
        f"promised {float(r.promised_amount):,.2f} on {pd.Timestamp(r.promised_date).date()} "
        f"for {r.invoice_id}, broken: {r.reason}"
        for r in latest.itertuples()
    ]
    return pd.Series(words, index=latest["customer_id"].to_numpy(), dtype=object)


def in_control(customer_id: str, treatment: str, salt: str, share: float) -> bool:
    """Whether the hash-seeded experiment puts this account in the control arm of treatment:
    the first 8 bytes of sha256(salt:customer:treatment) as a fraction, below ``share``."""
    digest = hashlib.sha256(f"{salt}:{customer_id}:{treatment}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def pre_due_invoices(
    invoices: pd.DataFrame,
    config: WorklistConfig,
    pay_dates: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The invoices a pre-due contact is about, with their days late if late (``days_late``)
    and share lost if late (``loss_share``): not overdue, due within ``pre_due_days``, and not
    covered by a contact of the customer made since they entered that window."""
    until = invoices["days_until_due"].to_numpy("float64", na_value=np.nan)
    ahead = invoices[
        (invoices["risk_band"] != OVERDUE).to_numpy()
        & (until >= 0)
        & (until <= config.pre_due_days)
    ]
    as_of = pd.to_datetime(ahead["as_of"]).dt.tz_localize(None)
    due = as_of + pd.to_timedelta(ahead["days_until_due"], unit="D")
    last = _last_contact(contacts, end)
    if not last.empty:
        contacted = ahead["customer_id"].map(last)
        covered = contacted.notna() & (contacted >= due - pd.Timedelta(days=config.pre_due_days))
        ahead, due = ahead[~covered.to_numpy()], due[~covered.to_numpy()]
    expected = np.full(len(ahead), np.nan)
    loss = np.full(len(ahead), config.loss_share_if_late)
    if pay_dates is not None and not pay_dates.empty and len(ahead):
        known = pay_dates.set_index("invoice_id").reindex(ahead["invoice_id"])
        expected_date = pd.to_datetime(known["expected_pay_date"]).to_numpy()
        expected = (expected_date - due.to_numpy()) / np.timedelta64(1, "D")
        if "p_unpaid_180d_after_due" in known:
            p = ahead["p_late"].to_numpy("float64")
            unpaid = known["p_unpaid_180d_after_due"].to_numpy("float64", na_value=np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.clip(unpaid / p, 0, 1)
            loss = np.where(np.isfinite(share), share, loss)
    mean = (
        ahead["mean_days_late_365d"].to_numpy("float64", na_value=np.nan)
        if "mean_days_late_365d" in ahead
        else np.full(len(ahead), np.nan)
    )
    share365 = ahead["late_share_365d"].to_numpy("float64", na_value=np.nan)
    days = days_late_if_late(expected, mean, share365, config.default_days_late)
    return ahead.assign(days_late=days, loss_share=loss)


def _last_contact(contacts: pd.DataFrame | None, end: pd.Timestamp | None) -> pd.Series:
    if contacts is None or contacts.empty or end is None:
        return pd.Series(dtype="datetime64[ns]")
    when = pd.to_datetime(contacts["contacted_at"], utc=True).dt.tz_localize(None)
    before = (when < end).to_numpy()
    return when[before].groupby(contacts["customer_id"].to_numpy()[before]).max()


def _rule_of(row: dict[str, object], rules: tuple[Rule, ...]) -> Rule | None:
    return next((r for r in rules if r.matches(row)), None)


def build_worklist(
    invoices: pd.DataFrame,
    accounts: pd.DataFrame,
    config: WorklistConfig | None = None,
    contacts: pd.DataFrame | None = None,
    flags: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    *,
    pay_dates: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Accounts by queue and rank with treatment, arm, EV, reasons and whether to contact today.

    Args:
        pay_dates: per ``invoice_id`` the pay-date model's ``expected_pay_date`` (and
            ``p_unpaid_180d_after_due``); without it the EV falls back on payment history.
        broken_promises: :data:`PROMISE_COLUMNS`; their accounts go to ``promise_follow_up``.
    """
    config = config or WorklistConfig()
    facts = account_facts(invoices, accounts, broken_promises)
    flags = (
        flags
        if flags is not None
        else pd.DataFrame(columns=["customer_id", "do_not_contact", "queue"])
    )
    collector = facts["customer_id"].map(flags.set_index("customer_id")["queue"].astype(object))
    facts["collector"] = collector.astype(object).where(collector.notna(), None)
    end = None if as_of is None else day_end(as_of)

    rules = [_rule_of(row, config.rules) for row in facts.to_dict("records")]
    facts["queue"] = [r.queue if r else PRE_DUE for r in rules]
    facts["treatment"] = [r.treatment if r else "none" for r in rules]
    facts["treatment_reason"] = [r.reason if r else "no rule applies" for r in rules]
    facts["manual"] = [r.manual if r else False for r in rules]
    promise = facts["queue"].eq("promise_follow_up") & facts["promise_reason"].notna()
    facts.loc[promise, "treatment_reason"] = facts.loc[promise, "promise_reason"]
    _assign_arms(facts, config)
    _add_values(facts, pre_due_invoices(invoices, config, pay_dates, contacts, end), config)

    facts["_queue"] = facts["queue"].map({q: i for i, q in enumerate(QUEUES)}).fillna(len(QUEUES))
    facts["_automated"] = ~facts["manual"].astype(bool)
    facts["_low"] = facts["risk_band"].eq("low")
    facts["_value"] = facts["expected_value"].where(
        facts["queue"].eq(PRE_DUE), facts["amount_at_risk"]
    )
    facts = facts.sort_values(
        ["_queue", "_automated", "_low", "_value", "customer_id"],
        ascending=[True, True, True, False, True],
        na_position="last",
    ).reset_index(drop=True)
    blocks = contact_blocks(facts["customer_id"], config, contacts, flags, end)
    facts["contact"], facts["skip_reason"] = _allocate(facts, blocks, config)
    facts["rank"] = np.arange(1, len(facts) + 1)
    return facts[list(WORKLIST_COLUMNS)]


def _assign_arms(facts: pd.DataFrame, config: WorklistConfig) -> None:
    """The experiment: eligible pre-due accounts (a treatment other than the default) go to the
    control arm by their hash, and get the default treatment."""
    default = config.default_treatment
    default_manual = next((r.manual for r in config.rules if r.treatment == default), False)
    eligible = facts["queue"].eq(PRE_DUE) & ~facts["treatment"].isin([default, "none"])
    control = eligible & np.array(
        [
            in_control(str(c), str(t), config.experiment_salt, config.control_share)
            for c, t in zip(facts["customer_id"], facts["treatment"], strict=True)
        ],
        dtype=bool,
    )
    facts["arm"] = np.where(control, "control", np.where(eligible, "treatment", "none"))
    share = f"{config.control_share:.0%}"
    facts.loc[control, "treatment_reason"] = [
        f"control group ({share} hash-seeded) of {t}: gets the default treatment {default}"
        for t in facts.loc[control, "treatment"]
    ]
    facts.loc[control, "treatment"] = default
    facts.loc[control, "manual"] = default_manual


def _add_values(facts: pd.DataFrame, ahead: pd.DataFrame, config: WorklistConfig) -> None:
    """Per pre-due account, the EV of its treatment over its pre-due invoices, and its words."""
    rate = daily_rate(config.annual_cost_of_capital)
    by_customer = dict(tuple(ahead.groupby("customer_id"))) if len(ahead) else {}
    values: list[float | None] = []
    words: list[str | None] = []
    for row in facts[["customer_id", "queue", "treatment", "manual"]].itertuples(index=False):
        if row.queue != PRE_DUE or row.treatment == "none":
            values.append(None)
            words.append(None)
            continue
        t = config.treatment(str(row.treatment), bool(row.manual))
        mine = by_customer.get(row.customer_id)
        if mine is None:
            values.append(-config.cost(t))
            words.append(f"no invoice due within {config.pre_due_days} days still to remind")
            continue
        mine = mine.assign(
            days=days_avoided(mine["days_late"], t.days_earlier),
            reach=reach(mine["days_late"], t.days_earlier),
        )
        terms = account_terms(mine, t.uplift, rate, config.cost(t), t.channel)
        values.append(round(terms.ev, 2))
        words.append(terms.words())
    facts["expected_value"] = pd.array(values, dtype="Float64").astype("float64")
    facts["value_reason"] = words


def _allocate(
    facts: pd.DataFrame, blocks: list[str | None], config: WorklistConfig
) -> tuple[list[bool], list[str | None]]:
    """Walk the ranked accounts: contact within the total, queue and collector capacities."""
    used_total = 0
    used_queue: dict[str, int] = {}
    used_collector: dict[str, int] = {}
    contact: list[bool] = []
    skip: list[str | None] = []
    rows = facts[["queue", "collector", "treatment", "manual", "expected_value"]]
    for row, block in zip(rows.itertuples(index=False), blocks, strict=True):
        queue, who = str(row.queue), row.collector
        limit = (
            config.collector_capacity.get(str(who), config.collector_capacity.get("*"))
            if who is not None
            else None
        )
        value = row.expected_value
        if block is not None:
            contact.append(False)
            skip.append(block)
        elif row.treatment == "none":
            contact.append(False)
            skip.append("no action")
        elif not row.manual:
            contact.append(True)
            skip.append(None)
        elif (
            queue == PRE_DUE
            and config.min_expected_value is not None
            and value is not None
            and value == value
            and value < config.min_expected_value
        ):
            contact.append(False)
            skip.append(f"expected value below {config.min_expected_value:,.2f}")
        elif used_total >= config.capacity:
            contact.append(False)
            skip.append("over today's contact capacity")
        elif (
            queue in config.queue_capacity
            and used_queue.get(queue, 0) >= (config.queue_capacity[queue])
        ):
            contact.append(False)
            skip.append(f"over the capacity of queue {queue}")
        elif limit is not None and used_collector.get(str(who), 0) >= limit:
            contact.append(False)
            skip.append(f"over the capacity of collector {who}")
        else:
            contact.append(True)
            skip.append(None)
            used_total += 1
            used_queue[queue] = used_queue.get(queue, 0) + 1
            if who is not None:
                used_collector[str(who)] = used_collector.get(str(who), 0) + 1
    return contact, skip


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
