"""Replay past days: what share of the amount that went on to be paid late did the product's
worklist reach before its due date, against the traditional order by amount and age?

Each day the invoices open that day are scored as of that day (:func:`score_batch`, the one
scoring core) with a model trained only on what was known then (retrained every
``retrain_every`` days), or with a fixed model if given, and the real worklist is built from
them (:func:`build_worklist`: playbook, capacity, the contact-frequency cap fed by the replay's
own contacts). Its human contacts are compared with the ``capacity`` accounts ranked first by
amount and age. An invoice counts as reached when its account was contacted on a day before
its due date. The population is every invoice due within the window; its late amount is judged
with the full ledger (hindsight is fine here, it only grades the replay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.build import History, scoring_set
from features.labels import final_days_late
from features.ledger.ledger import Ledger
from models.decisions.playbook import WorklistConfig
from models.decisions.scoring import score_batch
from models.decisions.worklist import build_worklist
from models.model import LatePaymentModel
from models.training.baselines import amount_and_age
from models.training.fit import TrainParams
from models.training.train import train_on_ledger

STRATEGIES = ("model", "amount_and_age")
VERSION = "backtest"


@dataclass(frozen=True)
class BacktestResult:
    daily: pd.DataFrame
    summary: dict[str, float]
    contacts: pd.DataFrame
    """The worklist's human contacts: ``customer_id``, ``contacted_at`` (the day)."""


def _late_population(
    ledger: Ledger, start: pd.Timestamp, end: pd.Timestamp, grace_days: int
) -> pd.Series:
    """Amount of each invoice due in the window that was (or is still) paid late."""
    inv = ledger.invoices
    due_inside = (inv["due_date"] >= start) & (inv["due_date"] <= end)
    final = final_days_late(inv)
    last = ledger.last_date()
    still_open_late = inv["paid_date"].isna() & ((last - inv["due_date"]).dt.days > grace_days)
    late = (final > grace_days) | still_open_late
    chosen = inv[due_inside & late]
    return pd.Series(chosen["amount"].to_numpy("float64"), index=chosen["invoice_id"].to_numpy())


def _by_amount_and_age(invoices: pd.DataFrame, capacity: int, reached: set[str]) -> set[str]:
    """The ``capacity`` accounts whose not-yet-due invoices, not reached before, weigh most by
    amount and age (a collector working that list does not call about an invoice twice)."""
    fresh = ~invoices["invoice_id"].isin(reached)
    ahead = invoices[(invoices["risk_band"] != "overdue") & fresh]
    score = amount_and_age(ahead.assign(amount=ahead["open_amount"]))
    totals = pd.Series(score, index=ahead["customer_id"].to_numpy()).groupby(level=0).sum()
    return set(totals.sort_values(ascending=False, kind="stable").head(capacity).index)


def run_backtest(
    ledger: Ledger,
    start: pd.Timestamp,
    end: pd.Timestamp,
    capacity: int,
    *,
    model: LatePaymentModel | None = None,
    config: WorklistConfig | None = None,
    retrain_every: int = 30,
    params: TrainParams | None = None,
    grace_days: int = 0,
    progress: Callable[[pd.Timestamp], None] | None = None,
) -> BacktestResult:
    """Replay each day from ``start`` to ``end`` (inclusive) at ``capacity`` human contacts."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    config = replace(config or WorklistConfig(), capacity=capacity)
    manual = config.manual_treatments()
    history = History.from_ledger(ledger, grace_days)
    issue_dates = ledger.invoices.set_index("invoice_id")["issue_date"]
    late = _late_population(ledger, start, end, grace_days)
    reached: dict[str, set[str]] = {s: set() for s in STRATEGIES}
    contacts: list[dict[str, object]] = []
    rows = []
    current, trained_on = model, None
    for day in pd.date_range(start, end, freq="D"):
        if model is None and (trained_on is None or (day - trained_on).days >= retrain_every):
            trained = train_on_ledger(
                ledger, as_of=day, params=params or TrainParams(), grace_days=grace_days
            )
            current, trained_on = trained.model, day
        assert current is not None
        features = scoring_set(ledger, day, grace_days=grace_days, history=history)
        batch = score_batch(features, current, VERSION)
        invoices = batch.invoices.assign(
            issue_date=issue_dates.reindex(batch.invoices["invoice_id"]).to_numpy()
        )
        work = build_worklist(
            invoices, batch.accounts, config, contacts=pd.DataFrame(contacts), as_of=day
        )
        called = work[work["contact"] & work["treatment"].isin(manual)]["customer_id"]
        contacts += [{"customer_id": c, "contacted_at": day} for c in called]
        chosen = {
            "model": set(called),
            "amount_and_age": _by_amount_and_age(invoices, capacity, reached["amount_and_age"]),
        }
        ahead = invoices[invoices["risk_band"] != "overdue"]
        row: dict[str, object] = {"day": day, "open_not_due": len(ahead), "contacts": len(called)}
        for strategy, accounts in chosen.items():
            newly = ahead.loc[ahead["customer_id"].isin(accounts), "invoice_id"]
            reached[strategy].update(newly)
            row[f"reached_late_amount.{strategy}"] = float(
                late[late.index.isin(reached[strategy])].sum()
            )
        rows.append(row)
        if progress is not None:
            progress(day)
    daily = pd.DataFrame(rows)
    total = float(late.sum())
    summary: dict[str, float] = {
        "late_amount": total,
        "late_invoices": float(len(late)),
        "capacity": float(capacity),
        "days": float(len(daily)),
    }
    for strategy in STRATEGIES:
        reached_amount = (
            float(daily[f"reached_late_amount.{strategy}"].iloc[-1]) if len(daily) else 0.0
        )
        summary[f"reached.{strategy}"] = reached_amount
        summary[f"share.{strategy}"] = reached_amount / total if total else float("nan")
    base = summary["reached.amount_and_age"]
    summary["ratio_model_vs_amount_and_age"] = (
        summary["reached.model"] / base if base else float("inf")
    )
    for strategy in STRATEGIES:
        daily[f"share.{strategy}"] = (
            daily[f"reached_late_amount.{strategy}"] / total if total else np.nan
        )
    return BacktestResult(
        daily, summary, pd.DataFrame(contacts, columns=["customer_id", "contacted_at"])
    )


def backtest_figure(result: BacktestResult) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    labels = {"model": "precollect worklist", "amount_and_age": "by amount and age"}
    for strategy in STRATEGIES:
        ax.plot(result.daily["day"], result.daily[f"share.{strategy}"], label=labels[strategy])
    ax.set(
        ylabel="share of late amount reached before due",
        xlabel="day",
        title=f"Backtest at {int(result.summary['capacity'])} contacts a day",
    )
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    return fig
