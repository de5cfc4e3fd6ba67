"""Replay past days: what share of the amount that went on to be paid late did the worklist reach
before its due date, against the traditional order by amount and age, at the same capacity?

Each day the open, not-yet-due invoices are scored as of that day with a model trained only on
what was known then (retrained every ``retrain_every`` days), or with a fixed model if given.
Both strategies contact their ``capacity`` top accounts per day; an invoice counts as reached
when its account was contacted on a day before its due date. The population is every invoice
due within the window; its late amount is judged with the full ledger (hindsight is fine here,
it only grades the replay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.build import History, scoring_set
from features.labels import UNKNOWN, final_days_late
from features.ledger import Ledger
from models.baselines import amount_and_age
from models.explain import open_amounts
from models.model import LatePaymentModel, TrainParams
from models.training import train_on_ledger

STRATEGIES = ("model", "amount_and_age")


@dataclass(frozen=True)
class BacktestResult:
    daily: pd.DataFrame
    summary: dict[str, float]


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


def _top_accounts(frame: pd.DataFrame, score: np.ndarray, capacity: int) -> set[str]:
    totals = pd.Series(score, index=frame["customer_id"].to_numpy()).groupby(level=0).sum()
    return set(totals.sort_values(ascending=False, kind="stable").head(capacity).index)


def run_backtest(
    ledger: Ledger,
    start: pd.Timestamp,
    end: pd.Timestamp,
    capacity: int,
    *,
    model: LatePaymentModel | None = None,
    retrain_every: int = 30,
    params: TrainParams = TrainParams(),
    grace_days: int = 0,
    progress: Callable[[pd.Timestamp], None] | None = None,
) -> BacktestResult:
    """Replay each day from ``start`` to ``end`` (inclusive)."""
    start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    history = History.from_ledger(ledger, grace_days)
    late = _late_population(ledger, start, end, grace_days)
    reached: dict[str, set[str]] = {s: set() for s in STRATEGIES}
    rows = []
    current, trained_on = model, None
    for day in pd.date_range(start, end, freq="D"):
        if model is None and (trained_on is None or (day - trained_on).days >= retrain_every):
            current, trained_on = (
                train_on_ledger(ledger, as_of=day, params=params, grace_days=grace_days).model,
                day,
            )
        assert current is not None
        frame = scoring_set(ledger, day, grace_days=grace_days, history=history)
        frame = frame[frame["label_status"] == UNKNOWN].reset_index(drop=True)
        frame = frame.assign(
            issue_date=ledger.invoices.set_index("invoice_id")
            .loc[frame["invoice_id"], "issue_date"]
            .to_numpy()
        )
        owed = open_amounts(frame)
        scores = {
            "model": current.predict_proba(frame) * owed,
            "amount_and_age": amount_and_age(frame.assign(amount=owed)),
        }
        row: dict[str, object] = {"day": day, "open_not_due": len(frame)}
        for strategy, score in scores.items():
            fresh = ~frame["invoice_id"].isin(reached[strategy]).to_numpy()
            contacted = _top_accounts(frame[fresh], score[fresh], capacity)
            newly = frame.loc[fresh & frame["customer_id"].isin(contacted).to_numpy(), "invoice_id"]
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
    return BacktestResult(daily, summary)


def backtest_figure(result: BacktestResult) -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    labels = {"model": "precollect worklist (risk x amount)", "amount_and_age": "by amount and age"}
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
