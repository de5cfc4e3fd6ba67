"""The AR KPIs finance teams report, point in time: as of a date, only invoices issued and
payments dated on or before it count.

- **AR** at T: what is still owed at T (amount less the payments dated by T; nothing once the
  invoice is paid).
- **DSO** (standard) over the ``days`` before T: AR / sales in those days x days.
- **Countback DSO**: the days of the latest months' sales that the AR would use up, walking back
  month by month from T (calendar months when T is a month end).
- **Best possible DSO**: the same as DSO with the not-yet-due AR only.
- **Average days delinquent**: DSO - best possible DSO.
- **CEI** for a period (a, b]: (AR(a) + sales - AR(b)) / (AR(a) + sales - current AR(b)), in %.
- **Aging** at T: open amounts by days past due: current (not past due), 1-30, 31-60, 61-90, 90+.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

import numpy as np
import pandas as pd

from features.ledger.ledger import Ledger

AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
DSO_DAYS = 90
MAX_COUNTBACK_MONTHS = 36


def owed_at(ledger: Ledger, as_of: pd.Timestamp) -> pd.Series:
    """What each invoice issued by ``as_of`` still owes at ``as_of`` (0 once paid)."""
    as_of = pd.Timestamp(as_of).normalize()
    invoices = ledger.invoices[ledger.invoices["issue_date"] <= as_of]
    owed = invoices["amount"].astype("float64")
    payments = ledger.payments
    if payments is not None and len(payments):
        early = payments[payments["payment_date"] <= as_of]
        paid_part = early.groupby("invoice_id")["amount"].sum()
        owed = owed - invoices["invoice_id"].map(paid_part).fillna(0.0).to_numpy()
    settled = invoices["paid_date"].notna() & (invoices["paid_date"] <= as_of)
    return owed.where(~settled, 0.0).clip(lower=0.0).set_axis(invoices["invoice_id"])


def _due(ledger: Ledger, ids: pd.Index) -> pd.Series:
    invoices = ledger.invoices
    return invoices["due_date"].set_axis(invoices["invoice_id"]).reindex(ids)


def aging(ledger: Ledger, as_of: pd.Timestamp) -> dict[str, float]:
    """Open amounts at ``as_of`` by days past due, and the share current."""
    as_of = pd.Timestamp(as_of).normalize()
    owed = owed_at(ledger, as_of)
    owed = owed[owed > 0]
    late = (as_of - _due(ledger, owed.index)).dt.days.to_numpy()
    edges = [-np.inf, 0, 30, 60, 90, np.inf]
    bucket = np.digitize(late, edges[1:-1], right=True)
    sums = np.bincount(bucket, weights=owed.to_numpy(), minlength=len(AGING_BUCKETS))
    out = {name: float(v) for name, v in zip(AGING_BUCKETS, sums, strict=True)}
    total = float(sums.sum())
    out["total"] = total
    out["share_current"] = out["current"] / total if total else float("nan")
    return out


class _SalesCurve:
    """Cumulative amount invoiced by each issue date: any period's sales in two lookups."""

    def __init__(self, ledger: Ledger) -> None:
        order = ledger.invoices.sort_values("issue_date", kind="stable")
        self.days = order["issue_date"].to_numpy("datetime64[ns]")
        self.cumulative = np.concatenate([[0.0], np.cumsum(order["amount"].to_numpy("float64"))])

    def by(self, day: pd.Timestamp) -> float:
        return float(self.cumulative[np.searchsorted(self.days, day.to_datetime64(), "right")])

    def between(self, after: pd.Timestamp, until: pd.Timestamp) -> float:
        return self.by(until) - self.by(after)


def sales(ledger: Ledger, after: pd.Timestamp, until: pd.Timestamp) -> float:
    """Amount invoiced in ``(after, until]``."""
    return _SalesCurve(ledger).between(pd.Timestamp(after), pd.Timestamp(until))


def dso(
    ledger: Ledger,
    as_of: pd.Timestamp,
    days: int = DSO_DAYS,
    ages: dict[str, float] | None = None,
) -> dict[str, float]:
    """Standard DSO, best possible DSO and average days delinquent over ``days`` before T
    (``ages``: the aging at T, when already computed)."""
    as_of = pd.Timestamp(as_of).normalize()
    ages = ages or aging(ledger, as_of)
    sold = sales(ledger, as_of - pd.Timedelta(days=days), as_of)
    if not sold:
        return {"dso": float("nan"), "best_possible_dso": float("nan"), "add": float("nan")}
    standard = ages["total"] / sold * days
    best = ages["current"] / sold * days
    return {"dso": standard, "best_possible_dso": best, "add": standard - best}


def countback_dso(
    ledger: Ledger, as_of: pd.Timestamp, ages: dict[str, float] | None = None
) -> float:
    """Days of the latest sales, month by month back from T, that the AR at T covers."""
    as_of = pd.Timestamp(as_of).normalize()
    left = (ages or aging(ledger, as_of))["total"]
    curve = _SalesCurve(ledger)
    days = 0.0
    end = as_of
    for _ in range(MAX_COUNTBACK_MONTHS):
        start = end - (pd.offsets.MonthEnd(1) if end.is_month_end else pd.DateOffset(months=1))
        length = float((end - start).days)
        sold = curve.between(start, end)
        if left <= sold:
            return days + (left / sold * length if sold else 0.0)
        left -= sold
        days += length
        end = start
    return days


def cei(
    ledger: Ledger,
    after: pd.Timestamp,
    until: pd.Timestamp,
    end: dict[str, float] | None = None,
    begin: dict[str, float] | None = None,
) -> float:
    """Collection effectiveness index for ``(after, until]``, in percent (``end``, ``begin``:
    the agings at ``until`` and ``after``, when already computed)."""
    begin, end = begin or aging(ledger, after), end or aging(ledger, until)
    collectible = begin["total"] + sales(ledger, after, until)
    wanted = collectible - end["current"]
    return float((collectible - end["total"]) / wanted * 100) if wanted else float("nan")


def kpis_at(
    ledger: Ledger,
    as_of: pd.Timestamp,
    days: int = DSO_DAYS,
    aging_at: Callable[[pd.Timestamp], dict[str, float]] | None = None,
) -> dict[str, float]:
    """Every point-in-time KPI at ``as_of``; CEI over the month before it (``aging_at``: the
    aging of this ledger by day, e.g. remembered across a trend's months)."""
    as_of = pd.Timestamp(as_of).normalize()
    month_before = as_of - pd.DateOffset(months=1)
    aging_at = aging_at or partial(aging, ledger)
    ages = aging_at(as_of)
    return {
        **dso(ledger, as_of, days, ages),
        "countback_dso": countback_dso(ledger, as_of, ages),
        "cei": cei(ledger, month_before, as_of, ages, begin=aging_at(month_before)),
        **{f"aging_{k}" if k in AGING_BUCKETS else k: v for k, v in ages.items()},
    }


def month_ends(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    """Month ends in ``[start, end]``, and ``end`` itself when it is not one."""
    ends = list(pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="ME"))
    if not ends or ends[-1] != pd.Timestamp(end).normalize():
        ends.append(pd.Timestamp(end).normalize())
    return ends


def kpi_trend(
    ledger: Ledger, start: pd.Timestamp, end: pd.Timestamp, days: int = DSO_DAYS, by: str = ""
) -> pd.DataFrame:
    """:func:`kpis_at` at each month end from ``start`` to ``end``; ``by`` a customer column
    (``segment``) gives one row per value and month as well as the portfolio's (``all``)."""
    groups: list[tuple[str, Ledger]] = [("all", ledger)]
    if by and ledger.customers is not None and by in ledger.customers:
        values = ledger.customers.set_index("customer_id")[by]
        of = ledger.invoices["customer_id"].map(values)
        for value in sorted(of.dropna().unique()):
            groups.append((str(value), _part(ledger, of == value)))
    rows = []
    for name, part in groups:
        aging_at = cache(partial(aging, part))  # a month's start is the month before's end
        for day in month_ends(start, end):
            rows.append({"as_of": day, "group": name, **kpis_at(part, day, days, aging_at)})
    return pd.DataFrame(rows)


def _part(ledger: Ledger, mask: pd.Series) -> Ledger:
    invoices = ledger.invoices[mask.to_numpy()]
    payments = ledger.payments
    if payments is not None:
        payments = payments[payments["invoice_id"].isin(invoices["invoice_id"])]
    return Ledger(invoices=invoices, customers=ledger.customers, payments=payments)


NEW_INVOICE_YEAR = 365
"""Days of issue dates from which new invoices' settling pace is read."""


def open_share_by_age(ledger: Ledger, as_of: pd.Timestamp, ages: int) -> np.ndarray:
    """Share of the amount of recent invoices not yet settled ``a`` days after issue, for
    ``a = 0 .. ages - 1``: invoices issued in the year up to ``as_of - ages`` (so that every age
    is known by ``as_of``), settled on their ``paid_date`` (a payment dated after ``as_of`` is not
    known: open at every age up to it). Without such invoices, every share is 1."""
    as_of = pd.Timestamp(as_of).normalize()
    last_issue = as_of - pd.Timedelta(days=ages)
    invoices = ledger.invoices
    window = (invoices["issue_date"] > last_issue - pd.Timedelta(days=NEW_INVOICE_YEAR)) & (
        invoices["issue_date"] <= last_issue
    )
    chosen = invoices[window]
    amount = chosen["amount"].to_numpy("float64")
    if not len(chosen) or amount.sum() <= 0:
        return np.ones(ages)
    known = chosen["paid_date"].where(chosen["paid_date"] <= as_of)
    settled_age = (known - chosen["issue_date"]).dt.days.to_numpy("float64")  # NaN: open at T
    age = np.arange(ages, dtype="float64")
    still_open = ~(settled_age[None, :] <= age[:, None])  # a NaN age is never settled
    return (still_open * amount[None, :]).sum(axis=1) / amount.sum()


def forecast_dso(
    ledger: Ledger, as_of: pd.Timestamp, weekly: pd.DataFrame, days: int = DSO_DAYS
) -> pd.DataFrame:
    """DSO at the end of each forecast week, from the cash forecast of the invoices open at
    ``as_of`` (``weekly``: ``week_start, expected``, one row per week).

    AR at the end of week w = AR(T) - the expected collections of weeks 1..w + the invoices
    issued since T, at the daily sales pace of the ``days`` before T, each still owing its
    share by age (:func:`open_share_by_age`). Sales behind the DSO = the sales of the ``days``
    before that week's end: those known from the ledger, and the pace since T.

    Returns:
        ``week_end, ar, sales, dso``
    """
    as_of = pd.Timestamp(as_of).normalize()
    weeks = len(weekly)
    curve = _SalesCurve(ledger)
    pace = curve.between(as_of - pd.Timedelta(days=days), as_of) / days
    share = open_share_by_age(ledger, as_of, 7 * weeks)
    elapsed = 7 * np.arange(1, weeks + 1)
    new_open = pace * np.concatenate([[0.0], np.cumsum(share)])[elapsed]
    ar = aging(ledger, as_of)["total"] - np.cumsum(weekly["expected"].to_numpy("float64"))
    ar = np.maximum(ar, 0.0) + new_open
    ends = [as_of + pd.Timedelta(days=int(d)) for d in elapsed]
    known = np.array(
        [
            curve.between(end - pd.Timedelta(days=days), as_of) if d < days else 0.0
            for end, d in zip(ends, elapsed, strict=True)
        ]
    )
    sold = known + pace * np.minimum(elapsed, days)
    with np.errstate(invalid="ignore", divide="ignore"):
        dso_w = np.where(sold > 0, ar / sold * days, np.nan)
    return pd.DataFrame({"week_end": ends, "ar": ar, "sales": sold, "dso": dso_w})
