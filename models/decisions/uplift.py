"""Did outreach help? Outcomes of the pre-due worklist by experiment arm, with intervals.

A *unit* is an account the first day it appears on a worklist within the report's range, with
the invoice the worklist named, when that invoice was not yet due that day (pre-due outreach
is what the control group measures). Its outcomes, known at ``observed`` (the ledger's date):

- ``late``: paid after its due date plus grace, or still unpaid after it; invoices whose due
  date plus grace is not yet past at ``observed`` are left out (not yet known);
- ``days_late``: days from the due date to payment, 0 when on time; an invoice still unpaid
  counts the days to ``observed`` (a lower bound);
- ``collected_before_due``: payments on the invoice from the worklist day to its due date;
- ``contacted``: whether any contact with the customer was recorded in that span.

Intervals are percentile bootstrap intervals (resampling accounts within each arm, seeded, so
the same store gives the same report); the difference treatment - control resamples each arm on
its own. When the worklist carries no ``arm`` column every unit is ``treatment`` and no
difference can be estimated: the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.decisions.promises import COVER_TOLERANCE

ARMS = ("treatment", "control")
METRICS = ("late", "days_late", "collected_before_due", "contacted")
METHOD = "percentile bootstrap, accounts resampled within each arm"


@dataclass(frozen=True)
class UpliftReport:
    units: pd.DataFrame
    """One row per account: arm, invoice, dates and the outcomes of :data:`METRICS`."""
    table: pd.DataFrame
    """By arm, then ``difference``: n, and each metric's mean with its interval."""
    notes: list[str] = field(default_factory=list)


def _paid_dates(invoices: pd.DataFrame, payments: pd.DataFrame) -> pd.Series:
    """The day each invoice's payments first cover its amount (NaT while they do not)."""
    if payments.empty:
        return pd.Series(dtype="datetime64[us]")
    ordered = payments.sort_values(["invoice_id", "payment_date"], kind="stable")
    so_far = ordered.groupby("invoice_id", sort=False)["amount"].cumsum()
    owed = ordered["invoice_id"].map(invoices.set_index("invoice_id")["amount"]).astype(float)
    covered = ordered[so_far >= owed - COVER_TOLERANCE]
    return covered.groupby("invoice_id")["payment_date"].min()


ARMS = ("treatment", "control")


def arms_recorded(worklists: pd.DataFrame) -> bool:
    """Whether the worklists name experiment arms (rows stored before arms existed read
    ``none``, or nothing)."""
    return "arm" in worklists and bool(worklists["arm"].isin(ARMS).any())


def uplift_units(
    worklists: pd.DataFrame,
    invoices: pd.DataFrame,
    payments: pd.DataFrame,
    contacts: pd.DataFrame,
    observed: pd.Timestamp,
    grace_days: int = 0,
) -> pd.DataFrame:
    """The units of the report (see the module): one row per account.

    Args:
        worklists: stored worklist rows (``as_of, customer_id, invoice_id`` and ``arm`` if any;
            when none names an arm, every account counts as treatment).
        invoices: ``invoice_id, due_date, amount``.
        payments: ``invoice_id, payment_date, amount`` (``promises.payments_of``).
        contacts: ``customer_id, contacted_at``.
        observed: the day outcomes are known to.
    """
    rows = worklists[worklists["invoice_id"].notna()].copy()
    rows["as_of"] = pd.to_datetime(rows["as_of"]).dt.normalize()
    if arms_recorded(rows):
        rows = rows[rows["arm"].isin(ARMS)]  # "none": outside the experiment
    else:
        rows["arm"] = "treatment"
    rows = rows.sort_values(["as_of", "customer_id"]).drop_duplicates("customer_id")
    facts = invoices.drop_duplicates("invoice_id").set_index("invoice_id")
    rows["due_date"] = pd.to_datetime(rows["invoice_id"].map(facts["due_date"])).dt.normalize()
    rows["amount"] = rows["invoice_id"].map(facts["amount"]).astype(float)
    rows = rows[rows["due_date"].notna() & (rows["due_date"] > rows["as_of"])]
    paid = payments.assign(payment_date=pd.to_datetime(payments["payment_date"]).dt.normalize())
    paid = paid[paid["payment_date"] <= observed]
    paid_on = _paid_dates(invoices, paid).reindex(rows["invoice_id"].to_numpy())
    rows["paid_date"] = pd.to_datetime(pd.Series(paid_on.to_numpy(), index=rows.index))
    grace = pd.Timedelta(days=grace_days)
    matured = rows["due_date"] + grace < observed
    end = rows["paid_date"].fillna(observed)
    days = (end - rows["due_date"]).dt.days.clip(lower=0).astype(float)
    late = rows["paid_date"].isna() | (rows["paid_date"] > rows["due_date"] + grace)
    rows["late"] = late.astype(float).where(matured)
    rows["days_late"] = days.where(matured)
    inside = paid.merge(rows[["invoice_id", "as_of", "due_date"]], on="invoice_id")
    inside = inside[
        (inside["payment_date"] >= inside["as_of"]) & (inside["payment_date"] <= inside["due_date"])
    ]
    collected = rows["invoice_id"].map(inside.groupby("invoice_id")["amount"].sum()).fillna(0.0)
    rows["collected_before_due"] = collected.where(rows["due_date"] <= observed)
    made = pd.DataFrame(
        {
            "customer_id": contacts["customer_id"].astype(str),
            "at": pd.to_datetime(contacts["contacted_at"], utc=True).dt.tz_localize(None),
        }
    )
    spans = made.merge(rows[["customer_id", "as_of", "due_date"]], on="customer_id")
    spans = spans[
        (spans["at"] >= spans["as_of"]) & (spans["at"] < spans["due_date"] + pd.Timedelta(days=1))
    ]
    rows["contacted"] = rows["customer_id"].isin(set(spans["customer_id"])).astype(float)
    columns = ["customer_id", "invoice_id", "arm", "as_of", "due_date", "amount", "paid_date"]
    return rows[[*columns, *METRICS]].reset_index(drop=True)


def _boot_means(values: np.ndarray, rng: np.random.Generator, draws: int) -> np.ndarray:
    if len(values) == 0:
        return np.full(draws, np.nan)
    picks = rng.integers(0, len(values), size=(draws, len(values)))
    return values[picks].mean(axis=1)  # type: ignore[no-any-return]


def uplift_report(
    units: pd.DataFrame,
    draws: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    arm_recorded: bool = True,
) -> UpliftReport:
    """Each metric's mean by arm, and treatment - control, with bootstrap intervals.

    ``arm_recorded`` False: the worklists had no ``arm`` column (the report says so)."""
    rng = np.random.default_rng(seed)
    tails = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    rows: list[dict[str, object]] = []
    boots: dict[str, dict[str, np.ndarray]] = {}
    for arm in ARMS:
        mine = units[units["arm"] == arm]
        row: dict[str, object] = {"arm": arm, "accounts": len(mine)}
        boots[arm] = {}
        for metric in METRICS:
            values = mine[metric].dropna().to_numpy(dtype=float)
            boot = _boot_means(values, rng, draws)
            boots[arm][metric] = boot
            row[f"{metric}_n"] = len(values)
            row[metric] = float(values.mean()) if len(values) else np.nan
            low, high = np.percentile(boot, tails) if len(values) else (np.nan, np.nan)
            row[f"{metric}_low"], row[f"{metric}_high"] = float(low), float(high)
        rows.append(row)
    difference: dict[str, object] = {"arm": "difference", "accounts": len(units)}
    for metric in METRICS:
        gap = boots["treatment"][metric] - boots["control"][metric]
        point = rows[0][metric] - rows[1][metric]  # type: ignore[operator]
        known = not np.isnan(gap).all()
        difference[f"{metric}_n"] = min(int(rows[0][f"{metric}_n"]), int(rows[1][f"{metric}_n"]))  # type: ignore[call-overload]
        difference[metric] = float(point) if known else np.nan
        low, high = np.percentile(gap, tails) if known else (np.nan, np.nan)
        difference[f"{metric}_low"], difference[f"{metric}_high"] = float(low), float(high)
    rows.append(difference)
    notes = [f"intervals: {level:.0%} {METHOD}, {draws:,} draws, seed {seed}"]
    if not arm_recorded:
        notes.append("the worklists carry no arm column: every account counted as treatment")
    if not (units["arm"] == "control").any():
        notes.append("no control accounts in the range: the difference cannot be estimated")
    return UpliftReport(units=units, table=pd.DataFrame(rows), notes=notes)
