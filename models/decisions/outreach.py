"""Replay pre-due outreach on a ledger with simulated contact effects: how much late amount does
each ranking prevent per contact?

The ledger is the world without outreach; ``effects`` (the generator's ``true_effects.csv``)
says how each customer would respond. Each day the open invoices are scored as of that day
(:func:`score_batch`, the one scoring core, with a model trained before the replay starts) and
three rankings spend ``capacity`` human contacts:

- ``ev``: the real worklist (:func:`build_worklist`: playbook, queues with the pre-due queue
  served first and ranked by EV, control arm, frequency cap fed by its own contacts); each of
  its human contacts, in whatever queue, reaches the customer's invoices about to fall due
  (``pre_due_only`` counts the pre-due queue's alone and gives the others no capacity);
- ``probability_x_amount``: the accounts whose invoices due within the pre-due window weigh
  most by P(late) x open amount;
- ``amount_and_age``: the same invoices by amount and age (the traditional order).

Both baselines see the same window as the worklist and never call about an invoice twice, so
only the order differs. A contact on day t reaches the customer's open invoices due within
the effect's window after t that no earlier contact reached; a responding customer then pays
each ``days_earlier_call`` days earlier (every human contact counts as a call, whatever its
treatment: the comparison is of rankings), never before t + 1. An invoice is **prevented** when
it was paid late and now is not. Invoices never paid stay late.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.build import History, scoring_set
from features.ledger.ledger import Ledger
from models.decisions.bands import OVERDUE
from models.decisions.playbook import PRE_DUE, QUEUES, WorklistConfig
from models.decisions.scoring import score_batch
from models.decisions.worklist import build_worklist
from models.model import LatePaymentModel
from models.training.baselines import amount_and_age

STRATEGIES = ("ev", "probability_x_amount", "amount_and_age")
VERSION = "outreach-backtest"


@dataclass(frozen=True)
class Day:
    """One replayed day's scores."""

    day: pd.Timestamp
    invoices: pd.DataFrame
    accounts: pd.DataFrame


def score_days(
    ledger: Ledger,
    start: pd.Timestamp,
    end: pd.Timestamp,
    model: LatePaymentModel,
    grace_days: int = 0,
) -> list[Day]:
    """Score the invoices open on each day from ``start`` to ``end`` as of that day (computed
    once, shared by every capacity and ranking)."""
    history = History.from_ledger(ledger, grace_days)
    issue = ledger.invoices.set_index("invoice_id")["issue_date"]
    out = []
    for day in pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end), freq="D"):
        features = scoring_set(ledger, day, grace_days=grace_days, history=history)
        batch = score_batch(features, model, VERSION, top=1)
        invoices = batch.invoices.assign(
            issue_date=issue.reindex(batch.invoices["invoice_id"]).to_numpy(),
            due_date=day + pd.to_timedelta(batch.invoices["days_until_due"], unit="D"),
        )
        out.append(Day(day, invoices, batch.accounts))
    return out


def backtest_config(
    config: WorklistConfig | None, capacity: int, pre_due_only: bool = False
) -> WorklistConfig:
    """The worklist at ``capacity`` human contacts a day (pre-due first, then the other queues
    with what is left); with ``pre_due_only``, the other queues get none."""
    config = replace(config or WorklistConfig(), capacity=capacity)
    if pre_due_only:
        queues = {q: (capacity if q == PRE_DUE else 0) for q in QUEUES}
        config = replace(config, queue_capacity=queues)
    return config


def _window(invoices: pd.DataFrame, days: float) -> pd.DataFrame:
    until = invoices["days_until_due"].to_numpy("float64", na_value=np.nan)
    return invoices[(invoices["risk_band"] != OVERDUE).to_numpy() & (until > 0) & (until <= days)]


def _baseline(
    invoices: pd.DataFrame, strategy: str, capacity: int, window: float, reached: set[str]
) -> list[str]:
    ahead = _window(invoices, window)
    ahead = ahead[~ahead["invoice_id"].isin(reached)]
    if strategy == "probability_x_amount":
        score = ahead["p_late"].to_numpy("float64") * ahead["open_amount"].to_numpy("float64")
    else:
        score = amount_and_age(ahead.assign(amount=ahead["open_amount"]))
    totals = pd.Series(score, index=ahead["customer_id"].to_numpy()).groupby(level=0).sum()
    totals = totals.sort_index().sort_values(ascending=False, kind="stable")
    return list(totals.head(capacity).index)


def _prevented(
    invoices: pd.DataFrame,
    called: list[str],
    day: pd.Timestamp,
    outcome: pd.DataFrame,
    effects: pd.DataFrame,
    reached: set[str],
    grace_days: int,
) -> float:
    """Reach the called customers' invoices; the late amount this prevents."""
    window = float(effects["window_days"].max()) if len(effects) else 0.0
    ahead = _window(invoices[invoices["customer_id"].isin(called)], window)
    ahead = ahead[~ahead["invoice_id"].isin(reached)]
    reached.update(ahead["invoice_id"])
    if ahead.empty:
        return 0.0
    shift = ahead["customer_id"].map(effects["days_earlier_call"]).fillna(0.0).to_numpy()
    real = outcome.reindex(ahead["invoice_id"])
    paid = real["paid_date"].to_numpy("datetime64[ns]")
    due = real["due_date"].to_numpy("datetime64[ns]")
    moved = paid - (np.floor(shift) * 86_400e9).astype("timedelta64[ns]")
    earliest = np.datetime64(day + pd.Timedelta(days=1), "ns")
    moved = np.maximum(moved, earliest)
    grace = np.timedelta64(grace_days, "D")
    late = ~np.isnat(paid) & (paid - due > grace)
    now_on_time = ~np.isnat(paid) & (moved - due <= grace)
    return float(real["amount"].to_numpy("float64")[late & now_on_time].sum())


def run_outreach_backtest(
    days: list[Day],
    ledger: Ledger,
    effects: pd.DataFrame,
    capacity: int,
    config: WorklistConfig | None = None,
    grace_days: int = 0,
    pre_due_only: bool = False,
) -> pd.DataFrame:
    """Per ranking: human contacts, late amount prevented, and per contact."""
    config = backtest_config(config, capacity, pre_due_only)
    manual = config.manual_treatments()
    effect = effects.set_index("customer_id")
    window = float(effect["window_days"].max()) if len(effect) else 0.0
    outcome = ledger.invoices.set_index("invoice_id")[["paid_date", "due_date", "amount"]]
    reached: dict[str, set[str]] = {s: set() for s in STRATEGIES}
    prevented = dict.fromkeys(STRATEGIES, 0.0)
    contacts_made = dict.fromkeys(STRATEGIES, 0)
    ev_contacts: list[dict[str, object]] = []
    for d in days:
        work = build_worklist(
            d.invoices, d.accounts, config, contacts=pd.DataFrame(ev_contacts), as_of=d.day
        )
        human = work["contact"] & work["treatment"].isin(manual)
        if pre_due_only:
            human &= work["queue"].eq(PRE_DUE)
        chosen = {"ev": list(work.loc[human, "customer_id"])}
        ev_contacts += [{"customer_id": c, "contacted_at": d.day} for c in chosen["ev"]]
        for strategy in STRATEGIES[1:]:
            chosen[strategy] = _baseline(d.invoices, strategy, capacity, window, reached[strategy])
        for strategy, called in chosen.items():
            contacts_made[strategy] += len(called)
            prevented[strategy] += _prevented(
                d.invoices, called, d.day, outcome, effect, reached[strategy], grace_days
            )
    rows = [
        {
            "strategy": s,
            "capacity": capacity,
            "contacts": contacts_made[s],
            "prevented": prevented[s],
            "per_contact": prevented[s] / contacts_made[s] if contacts_made[s] else 0.0,
        }
        for s in STRATEGIES
    ]
    return pd.DataFrame(rows)
