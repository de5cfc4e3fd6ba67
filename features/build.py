"""Point-in-time payment-behaviour features: one code path for training, scoring and the API.

:class:`History` indexes a ledger once; :meth:`History.features` computes the catalogue for any
set of target invoices, each at its own as-of date, using only events dated on or before it.
:func:`training_set` and :func:`scoring_set` are the two ways the rest of precollect calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from features import kernel
from features.catalogue import WINDOWS, feature_names, window_suffix
from features.kernel import S, W
from features.labels import UNKNOWN, label_at, time_to_pay
from features.ledger.ledger import Ledger

EPOCH = np.datetime64("1970-01-01", "D")
KEYS = ["invoice_id", "customer_id", "as_of"]

Columns: TypeAlias = dict[str, np.ndarray]
"""Features as plain numpy columns, by name."""
Targets: TypeAlias = pd.DataFrame | Mapping[str, np.ndarray]
"""Target invoices: a frame, or (for a few online invoices) a mapping of numpy columns."""


def row_count(table: pd.DataFrame | Mapping[str, np.ndarray]) -> int:
    """Rows of a frame or of numpy columns by name."""
    if isinstance(table, pd.DataFrame):
        return len(table)
    return len(next(iter(table.values()), ()))


def to_days(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Dates as int32 days since 1970; missing dates become ``kernel.NEVER``."""
    if isinstance(dates, pd.Series):
        dates = dates.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    values = dates.astype("datetime64[D]")
    days = (values - EPOCH).astype("int64")
    days[np.isnat(values)] = kernel.NEVER
    return days.astype("int32")


def _datetimes(values: pd.Series | np.ndarray) -> np.ndarray:
    """A column as numpy datetime64, parsed only when it is not one already."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return np.asarray(values)
    return np.asarray(pd.to_datetime(values))


@dataclass(frozen=True)
class History:
    """A ledger indexed for fast point-in-time lookups (invoices sorted by customer, issue date)."""

    invoices: pd.DataFrame
    profiles: Profiles
    customer_codes: pd.Index
    invoice_index: pd.Index
    invoice_customer: np.ndarray
    arrays: kernel.LedgerArrays
    channel_codes: pd.Index
    grace_days: int
    feature_columns: tuple[str, ...]

    @classmethod
    def from_ledger(cls, ledger: Ledger, grace_days: int = 0) -> History:
        codes, uniques = pd.factorize(ledger.invoices["customer_id"], sort=True)
        issue = to_days(ledger.invoices["issue_date"])
        order = np.lexsort((issue, codes))
        invoices = ledger.invoices.iloc[order].reset_index(drop=True)
        offsets = np.searchsorted(codes[order], np.arange(len(uniques) + 1)).astype("int64")
        pay_offsets, pay_date, pay_amount = _payments_by_invoice(invoices, ledger.payments)
        channel, channel_codes = pd.factorize(_text(_optional(invoices, "channel")))
        return cls(
            invoices=invoices,
            profiles=Profiles.from_customers(ledger.customers),
            customer_codes=pd.Index(uniques),
            invoice_index=pd.Index(invoices["invoice_id"]),
            invoice_customer=codes[order].astype("int64"),
            arrays=kernel.ledger_arrays(
                offsets=offsets,
                issue=issue[order],
                due=to_days(invoices["due_date"]),
                paid=to_days(invoices["paid_date"]),
                amount=invoices["amount"].to_numpy("float64"),
                disputed=_flags(_optional(invoices, "disputed")),
                channel=channel.astype("int32"),
                pay_offsets=pay_offsets,
                pay_date=pay_date,
                pay_amount=pay_amount,
            ),
            channel_codes=pd.Index(channel_codes),
            grace_days=grace_days,
            feature_columns=ledger.feature_columns,
        )

    def features(self, targets: Targets) -> pd.DataFrame:
        """Catalogue features of ``targets`` (invoice columns plus ``as_of``), one row each.

        A target whose ``invoice_id`` is in the ledger is excluded from its own history; a new
        invoice (e.g. sent to the API) is scored against its customer's history as it stands.
        """
        return pd.DataFrame(self.columns(targets))

    def columns(self, targets: Targets) -> Columns:
        """:meth:`features` as numpy columns, without the frame.

        What the API scores a few invoices with: building a frame of ~90 columns costs more
        than computing them for a handful of rows.
        """
        t_day = to_days(_datetimes(targets["as_of"]))
        t_customer = _positions(self.customer_codes, targets["customer_id"])
        t_self = _positions(self.invoice_index, targets["invoice_id"])
        # an invoice id reused by another customer is a different invoice
        mine = t_self >= 0
        mine[mine] = self.invoice_customer[t_self[mine]] == t_customer[mine]
        t_self[~mine] = -1
        channel = _text(_optional(targets, "channel"))
        t_channel = _positions(self.channel_codes, channel)
        windows = np.array([w or 0 for w in WINDOWS], dtype="int32")
        raw = kernel.aggregate(
            self.arrays,
            kernel.Targets(t_customer, t_day, t_self, t_channel.astype("int32")),
            windows,
            self.grace_days,
        )
        return _assemble(raw, targets, t_day, channel, self.profiles, self.feature_columns)


FEW = 8
"""Up to this many keys are looked up one by one: ``get_indexer`` costs ~0.1 ms per call."""


def _positions(index: pd.Index, keys: pd.Series | np.ndarray) -> np.ndarray:
    """Position of each key in a unique ``index`` (int64, -1 when absent)."""
    if len(keys) > FEW:
        return index.get_indexer(keys).astype("int64")
    out = np.full(len(keys), -1, dtype="int64")
    for i, key in enumerate(list(keys)):
        if not pd.isna(key) and key in index:
            out[i] = index.get_loc(key)
    return out


def _payments_by_invoice(
    invoices: pd.DataFrame, payments: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Payments grouped by invoice row (CSR offsets), each group sorted by date."""
    n = len(invoices)
    if payments is None or payments.empty:
        return np.zeros(n + 1, dtype="int64"), np.zeros(0, "int32"), np.zeros(0, "float64")
    rows = pd.Index(invoices["invoice_id"]).get_indexer(payments["invoice_id"])
    keep = rows >= 0
    rows = rows[keep]
    dates = to_days(payments["payment_date"])[keep]
    amounts = payments["amount"].to_numpy("float64")[keep]
    order = np.lexsort((dates, rows))
    offsets = np.searchsorted(rows[order], np.arange(n + 1)).astype("int64")
    return offsets, dates[order], amounts[order]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _text(values: pd.Series | np.ndarray, upper: bool = False) -> np.ndarray:
    """Stripped lower-case text (upper-case with ``upper``) as objects, ``pd.NA`` when missing.

    Each distinct value is cleaned once, so one row costs no vectorised string machinery.
    """
    codes, uniques = pd.factorize(values)
    cleaned = [str(u).strip().lower() for u in uniques]
    cleaned = [c.upper() for c in cleaned] if upper else cleaned
    return np.array([*cleaned, pd.NA], dtype=object)[codes]


@dataclass(frozen=True)
class Profiles:
    """Customer attributes as arrays, looked up by customer id (all missing without a table)."""

    index: pd.Index
    credit_limit: np.ndarray
    since: np.ndarray
    segment: np.ndarray
    country: np.ndarray

    @classmethod
    def from_customers(cls, customers: pd.DataFrame | None) -> Profiles:
        table = pd.DataFrame({"customer_id": []}) if customers is None else customers
        table = table.drop_duplicates("customer_id")
        since = to_days(_optional(table, "customer_since")).astype("float64")
        since[since == kernel.NEVER] = np.nan
        return cls(
            index=pd.Index(table["customer_id"]),
            credit_limit=_floats(_optional(table, "credit_limit")),
            since=since,
            segment=_text(_optional(table, "segment")),
            country=_text(_optional(table, "country")),
        )

    def rows(self, customer_ids: pd.Series) -> np.ndarray:
        """Row of each customer id, -1 when unknown."""
        return _positions(self.index, customer_ids)


def _take(values: np.ndarray, rows: np.ndarray, missing: object) -> np.ndarray:
    """``values[rows]`` with ``missing`` where ``rows`` is -1."""
    padded = np.append(values, np.array([missing], dtype=values.dtype))
    return padded[rows]


def _calendar(issue: np.ndarray) -> dict[str, np.ndarray]:
    """Month-end, quarter-end and weekday flags of datetime64 issue dates (NaT: 0, 0, NaN)."""
    day = issue.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    first = month.astype("datetime64[D]")
    day_of_month = (day - first).astype("int64") + 1
    days_in_month = ((month + 1).astype("datetime64[D]") - first).astype("int64")
    month_number = month.astype("int64") % 12 + 1
    valid = ~np.isnat(issue)
    quarter_end = np.isin(month_number, (3, 6, 9, 12)) & (day_of_month > days_in_month - 7)
    weekday = ((day.astype("int64") + 3) % 7).astype("float64")  # 1970-01-01 was a Thursday
    return {
        "issue_month_end": (valid & (day_of_month > days_in_month - 3)).astype("float64"),
        "issue_quarter_end": (valid & quarter_end).astype("float64"),
        "issue_weekday": np.where(valid, weekday, np.nan),
    }


def _whole_days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Whole days (floored) from ``earlier`` to ``later``; NaN when either is missing."""
    delta = later - earlier
    missing = np.isnat(delta)
    days = np.floor_divide(np.where(missing, np.timedelta64(0, "D"), delta), np.timedelta64(1, "D"))
    return np.where(missing, np.nan, days.astype("float64"))


def _assemble(
    raw: np.ndarray,
    targets: Targets,
    t_day: np.ndarray,
    channel: np.ndarray,
    profiles: Profiles,
    extra: tuple[str, ...],
) -> Columns:
    day = t_day.astype("float64")
    cols: dict[str, np.ndarray] = {}
    for w_index, window in enumerate(WINDOWS):
        s = window_suffix(window)
        block = raw[:, w_index * kernel.PER_WINDOW : (w_index + 1) * kernel.PER_WINDOW]
        count = block[:, W.count]
        mean_dtp = _ratio(block[:, W.sum_days_to_pay], count)
        cols[f"settled_count_{s}"] = count
        cols[f"late_count_{s}"] = block[:, W.late]
        cols[f"late_share_{s}"] = _ratio(block[:, W.late], count)
        cols[f"mean_days_late_{s}"] = _ratio(block[:, W.sum_days_late], count)
        cols[f"max_days_late_{s}"] = block[:, W.max_days_late]
        cols[f"amount_late_share_{s}"] = _ratio(block[:, W.late_amount], block[:, W.amount])
        cols[f"mean_days_to_pay_{s}"] = mean_dtp
        if window in (365, None):
            variance = _ratio(block[:, W.sum_days_to_pay_sq], count) - mean_dtp**2
            cols[f"std_days_to_pay_{s}"] = np.sqrt(np.clip(variance, 0, None))
    scalars = raw[:, len(WINDOWS) * kernel.PER_WINDOW :]

    def scalar(field: S) -> np.ndarray:
        return scalars[:, field]

    amount = _floats(targets["amount"])
    issue, due = _datetimes(targets["issue_date"]), _datetimes(targets["due_date"])
    issue_day = to_days(issue).astype("float64")
    customer = profiles.rows(targets["customer_id"])
    credit_limit = _take(profiles.credit_limit, customer, np.nan)
    cols["late_share_trend"] = cols["late_share_90d"] - cols["late_share_365d"]
    cols["days_late_trend"] = cols["mean_days_late_90d"] - cols["mean_days_late_365d"]
    cols["days_since_last_late"] = day - scalar(S.last_late)
    cols["on_time_streak"] = scalar(S.streak)
    cols["days_since_last_payment"] = day - scalar(S.last_paid)
    cols["days_late_last"] = scalar(S.last_days_late)
    cols["days_to_pay_last"] = scalar(S.last_days_to_pay)
    undisputed = scalar(S.n_undisputed)
    cols["late_share_undisputed"] = _ratio(scalar(S.late_undisputed), undisputed)
    cols["mean_days_to_pay_undisputed"] = _ratio(scalar(S.sum_dtp_undisputed), undisputed)
    cols["mean_days_to_pay_same_channel"] = _ratio(
        scalar(S.sum_dtp_same_channel), scalar(S.n_same_channel)
    )
    cols["dispute_rate"] = _ratio(scalar(S.n_disputed), scalar(S.n_others))
    cols["is_new_customer"] = (cols["settled_count_all"] == 0).astype("float64")
    cols["open_count"] = scalar(S.open_count)
    cols["open_amount"] = scalar(S.open_amount)
    cols["partial_open_count"] = scalar(S.partial)
    cols["open_to_credit_limit"] = _ratio(scalar(S.open_amount), credit_limit)
    cols["overdue_count"] = scalar(S.overdue_count)
    cols["overdue_amount"] = scalar(S.overdue_amount)
    cols["oldest_overdue_days"] = day - scalar(S.min_overdue_due)
    cols["amount"] = amount
    usual = _ratio(scalar(S.sum_amount), scalar(S.n_others))
    cols["amount_vs_usual"] = _ratio(amount, usual)
    cols["terms_days"] = _whole_days(due, issue)
    cols["days_until_due"] = to_days(due).astype("float64") - day
    cols["paid_share"] = _ratio(scalar(S.self_paid), amount)
    cols["disputed"] = _floats(_optional(targets, "disputed"))
    cols["channel"] = channel
    cols["currency"] = _text(_optional(targets, "currency"), upper=True)
    cols.update(_calendar(issue))
    since = _take(profiles.since, customer, np.nan)
    first_seen = np.fmin(scalar(S.first_issue), issue_day)
    cols["tenure_days"] = day - np.where(np.isnan(since), first_seen, since)
    cols["invoices_30d"] = scalar(S.issued_30d)
    # usual monthly pace over the last year, or over the relationship so far when shorter
    span = np.clip(day - scalar(S.first_issue), 30, 365)
    usual_monthly = scalar(S.issued_365d) * 30 / span
    cols["velocity_ratio"] = _ratio(scalar(S.issued_30d), usual_monthly)
    cols["credit_limit"] = credit_limit
    cols["segment"] = _take(profiles.segment, customer, pd.NA)
    cols["country"] = _take(profiles.country, customer, pd.NA)
    n = len(t_day)
    for name in extra:
        cols[name] = np.asarray(targets[name]) if name in targets else np.full(n, np.nan)
    as_of = t_day.astype("datetime64[D]").astype("datetime64[us]")
    as_of[t_day == kernel.NEVER] = np.datetime64("NaT")
    keys = {
        "invoice_id": _strings(targets["invoice_id"]),
        "customer_id": _strings(targets["customer_id"]),
        "as_of": as_of,
    }
    return {**keys, **{name: cols[name] for name in feature_names(extra)}}


def _strings(values: pd.Series | np.ndarray) -> np.ndarray:
    """Ids as an object array of text."""
    if isinstance(values, pd.Series):
        return values.astype("string").to_numpy()
    return np.asarray(values, dtype=object)


def _flags(values: pd.Series) -> np.ndarray:
    """Yes/no values as int8, missing counted as no."""
    return values.astype("boolean").fillna(False).to_numpy("int8")


def _floats(values: pd.Series | np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f" and isinstance(values, np.ndarray):
        return values.astype("float64", copy=False)
    values = pd.Series(values) if isinstance(values, np.ndarray) else values
    if values.dtype.kind in "biuf":  # numbers and flags, nullable or not: no cast needed
        return values.to_numpy("float64", na_value=np.nan)
    return values.astype("Float64").to_numpy("float64", na_value=np.nan)


def _optional(frame: Targets, column: str) -> pd.Series | np.ndarray:
    if column in frame:
        return frame[column]
    return pd.Series(pd.NA, index=range(row_count(frame)), dtype="object")


def open_amounts(features: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
    """What is still owed on each invoice at its as-of date, from its feature row."""
    paid_share = np.asarray(features["paid_share"], dtype="float64")
    amount = np.asarray(features["amount"], dtype="float64")
    return amount * (1 - np.where(np.isnan(paid_share), 0.0, paid_share))


def open_at(invoices: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Invoices issued on or before ``as_of`` and not paid by then."""
    paid = invoices["paid_date"]
    return (invoices["issue_date"] <= as_of) & ~(paid.notna() & (paid <= as_of))


def scoring_set(
    ledger: Ledger, as_of: pd.Timestamp, *, grace_days: int = 0, history: History | None = None
) -> pd.DataFrame:
    """Features of every invoice open at ``as_of``, with its label status at that date."""
    as_of = pd.Timestamp(as_of).normalize()
    history = history or History.from_ledger(ledger, grace_days)
    targets = ledger.invoices[open_at(ledger.invoices, as_of)].assign(as_of=as_of)
    features = history.features(targets)
    status = label_at(targets, as_of, grace_days)["status"].to_numpy()
    return features.assign(label_status=status)


PAY_SNAPSHOTS = (-14, 0, 14, 45, 90)
"""Days after the due date (negative: before) at which open invoices are also taken for the
pay-date model, besides their issue day: it predicts pay dates of invoices of every age."""


def payment_set(
    ledger: Ledger,
    cutoff: pd.Timestamp,
    *,
    grace_days: int = 0,
    history: History | None = None,
    snapshots: tuple[int, ...] = PAY_SNAPSHOTS,
) -> pd.DataFrame:
    """Features of each invoice open at its as-of dates, with its time to payment at ``cutoff``.

    Every invoice issued on or before ``cutoff`` is taken on its issue day and on each
    ``snapshots`` day (relative to due) on which it was still open, up to ``cutoff``. Rows whose
    payment is not known at ``cutoff`` are censored there (:func:`features.labels.time_to_pay`).
    ``weight`` gives every invoice a total weight of 1 over its rows. ``paid_date`` is kept
    only to censor the same rows at an earlier cutoff (:func:`features.labels.time_to_pay`),
    never as a feature.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    history = history or History.from_ledger(ledger, grace_days)
    issued = ledger.invoices[ledger.invoices["issue_date"] <= cutoff]
    rows = _snapshot_rows(issued, snapshots, until=cutoff)
    # a row paid on its own as-of day is not open then (the issue day of a cash sale)
    taken = time_to_pay(rows, cutoff)
    keep = (taken["days"] > 0).to_numpy()
    rows, taken = rows[keep].reset_index(drop=True), taken[keep].reset_index(drop=True)
    return history.features(rows).assign(
        issue_date=rows["issue_date"].to_numpy(),
        due_date=rows["due_date"].to_numpy(),
        paid_date=rows["paid_date"].to_numpy(),
        days=taken["days"].to_numpy(),
        paid=taken["paid"].to_numpy(),
        weight=_per_invoice_weight(rows),
    )


def training_set(
    ledger: Ledger,
    as_of: pd.Timestamp,
    *,
    grace_days: int = 0,
    history: History | None = None,
    snapshots: tuple[int, ...] = (),
) -> pd.DataFrame:
    """Features of each invoice as of its issue date, with labels as matured at ``as_of``.

    Only invoices issued on or before ``as_of`` whose label is known at ``as_of`` are kept.

    Args:
        snapshots: days before the due date at which each invoice is also taken, as it stood
            then (while still open and after its issue day): the model then learns from what is
            known k days after issue, as it is scored. ``weight`` gives every invoice a total
            weight of 1 over its rows.
    """
    as_of = pd.Timestamp(as_of).normalize()
    history = history or History.from_ledger(ledger, grace_days)
    issued = ledger.invoices[ledger.invoices["issue_date"] <= as_of]
    labels = label_at(issued, as_of, grace_days)
    known = (labels["status"] != UNKNOWN).to_numpy()
    matured = issued[known].assign(
        late=labels.loc[known, "late"].astype(bool).to_numpy(),
        days_late=labels.loc[known, "days_late"].to_numpy(),
    )
    rows = _snapshot_rows(matured, tuple(-days for days in snapshots))
    return history.features(rows).assign(
        issue_date=rows["issue_date"].to_numpy(),
        due_date=rows["due_date"].to_numpy(),
        late=rows["late"].to_numpy(),
        days_late=rows["days_late"].to_numpy(),
        weight=_per_invoice_weight(rows),
    )


def _snapshot_rows(
    invoices: pd.DataFrame, after_due: tuple[int, ...], until: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Each invoice as of its issue day, and as of each ``after_due`` day (days after its due
    date; negative before) on which it was still open, after its issue day and (given
    ``until``) not after ``until``."""
    targets = [invoices.assign(as_of=invoices["issue_date"])]
    paid = invoices["paid_date"]
    for days in after_due:
        day = invoices["due_date"] + pd.Timedelta(days=days)
        still_open = (day > invoices["issue_date"]) & ~(paid.notna() & (paid <= day))
        if until is not None:
            still_open &= day <= until
        targets.append(invoices[still_open].assign(as_of=day[still_open]))
    return pd.concat(targets, ignore_index=True) if len(targets) > 1 else targets[0]


def _per_invoice_weight(rows: pd.DataFrame) -> np.ndarray:
    """1 / the invoice's rows: every invoice weighs 1 in all, however many snapshots it has."""
    per_invoice = rows.groupby("invoice_id", sort=False)["invoice_id"].transform("size")
    return 1.0 / per_invoice.to_numpy("float64")
