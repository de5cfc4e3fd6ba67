"""Point-in-time payment-behaviour features: one code path for training, scoring and the API.

:class:`History` indexes a ledger once; :meth:`History.features` computes the catalogue for any
set of target invoices, each at its own as-of date, using only events dated on or before it.
:func:`training_set` and :func:`scoring_set` are the two ways the rest of precollect calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import kernel
from features.catalogue import WINDOWS, feature_names, window_suffix
from features.labels import UNKNOWN, label_at
from features.ledger import Ledger

EPOCH = np.datetime64("1970-01-01", "D")
KEYS = ["invoice_id", "customer_id", "as_of"]


def to_days(dates: pd.Series) -> np.ndarray:
    """Dates as int32 days since 1970; missing dates become ``kernel.NEVER``."""
    values = dates.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    days = (values - EPOCH).astype("int64")
    days[np.isnat(values)] = kernel.NEVER
    return days.astype("int32")


@dataclass(frozen=True)
class History:
    """A ledger indexed for fast point-in-time lookups (invoices sorted by customer, issue date)."""

    invoices: pd.DataFrame
    customers: pd.DataFrame | None
    customer_codes: pd.Index
    offsets: np.ndarray
    issue: np.ndarray
    due: np.ndarray
    paid: np.ndarray
    amount: np.ndarray
    disputed: np.ndarray
    channel: np.ndarray
    channel_codes: pd.Index
    pay_offsets: np.ndarray
    pay_date: np.ndarray
    pay_amount: np.ndarray
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
        customers = None
        if ledger.customers is not None:
            customers = ledger.customers.drop_duplicates("customer_id").set_index("customer_id")
        return cls(
            invoices=invoices,
            customers=customers,
            customer_codes=pd.Index(uniques),
            offsets=offsets,
            issue=issue[order],
            due=to_days(invoices["due_date"]),
            paid=to_days(invoices["paid_date"]),
            amount=invoices["amount"].to_numpy("float64"),
            disputed=_flags(_optional(invoices, "disputed")),
            channel=channel.astype("int32"),
            channel_codes=pd.Index(channel_codes),
            pay_offsets=pay_offsets,
            pay_date=pay_date,
            pay_amount=pay_amount,
            grace_days=grace_days,
            feature_columns=ledger.feature_columns,
        )

    def features(self, targets: pd.DataFrame) -> pd.DataFrame:
        """Catalogue features of ``targets`` (invoice columns plus ``as_of``), one row each.

        A target whose ``invoice_id`` is in the ledger is excluded from its own history; a new
        invoice (e.g. sent to the API) is scored against its customer's history as it stands.
        """
        as_of = pd.to_datetime(targets["as_of"]).dt.normalize()
        t_day = to_days(as_of)
        t_customer = self.customer_codes.get_indexer(targets["customer_id"]).astype("int64")
        t_self = pd.Index(self.invoices["invoice_id"]).get_indexer(targets["invoice_id"])
        same_customer = t_self >= 0
        same_customer[same_customer] = (
            self.invoices["customer_id"].to_numpy()[t_self[same_customer]]
            == targets["customer_id"].to_numpy()[same_customer]
        )
        t_self = np.where(same_customer, t_self, -1).astype("int64")
        t_channel = self.channel_codes.get_indexer(_text(_optional(targets, "channel")))
        windows = np.array([w or 0 for w in WINDOWS], dtype="int32")
        raw = kernel.aggregate(
            self.offsets,
            self.issue,
            self.due,
            self.paid,
            self.amount,
            self.disputed,
            self.channel,
            self.pay_offsets,
            self.pay_date,
            self.pay_amount,
            t_customer,
            t_day,
            t_self,
            t_channel.astype("int32"),
            windows,
            self.grace_days,
        )
        return _assemble(
            raw,
            targets.reset_index(drop=True),
            as_of.reset_index(drop=True),
            t_day,
            self.customers,
            self.feature_columns,
        )


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


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip().str.lower()


def _assemble(
    raw: np.ndarray,
    targets: pd.DataFrame,
    as_of: pd.Series,
    t_day: np.ndarray,
    customers: pd.DataFrame | None,
    extra: tuple[str, ...],
) -> pd.DataFrame:
    day = t_day.astype("float64")
    cols: dict[str, object] = {}
    for w_index, window in enumerate(WINDOWS):
        s = window_suffix(window)
        block = raw[:, w_index * kernel.PER_WINDOW : (w_index + 1) * kernel.PER_WINDOW]
        count = block[:, kernel.W_COUNT]
        mean_dtp = _ratio(block[:, kernel.W_SUM_DTP], count)
        cols[f"settled_count_{s}"] = count
        cols[f"late_count_{s}"] = block[:, kernel.W_LATE]
        cols[f"late_share_{s}"] = _ratio(block[:, kernel.W_LATE], count)
        cols[f"mean_days_late_{s}"] = _ratio(block[:, kernel.W_SUM_DL], count)
        cols[f"max_days_late_{s}"] = block[:, kernel.W_MAX_DL]
        cols[f"amount_late_share_{s}"] = _ratio(block[:, kernel.W_LATE_AMT], block[:, kernel.W_AMT])
        cols[f"mean_days_to_pay_{s}"] = mean_dtp
        if window in (365, None):
            variance = _ratio(block[:, kernel.W_SUM_DTP2], count) - mean_dtp**2
            cols[f"std_days_to_pay_{s}"] = np.sqrt(np.clip(variance, 0, None))
    scalars = raw[:, len(WINDOWS) * kernel.PER_WINDOW :]

    def scalar(index: int) -> np.ndarray:
        return scalars[:, index]

    amount = targets["amount"].to_numpy("float64")
    issue = pd.to_datetime(targets["issue_date"])
    due = pd.to_datetime(targets["due_date"])
    credit_limit = _floats(_customer_column(customers, targets, "credit_limit"))
    cols["late_share_trend"] = cols["late_share_90d"] - cols["late_share_365d"]  # type: ignore[operator]
    cols["days_late_trend"] = cols["mean_days_late_90d"] - cols["mean_days_late_365d"]  # type: ignore[operator]
    cols["days_since_last_late"] = day - scalar(kernel.S_LAST_LATE)
    cols["on_time_streak"] = scalar(kernel.S_STREAK)
    cols["days_since_last_payment"] = day - scalar(kernel.S_LAST_PAID)
    undisputed = scalar(kernel.S_N_UNDISPUTED)
    cols["late_share_undisputed"] = _ratio(scalar(kernel.S_LATE_UNDISPUTED), undisputed)
    cols["mean_days_to_pay_undisputed"] = _ratio(scalar(kernel.S_SUM_DTP_UNDISPUTED), undisputed)
    cols["mean_days_to_pay_same_channel"] = _ratio(
        scalar(kernel.S_SUM_DTP_SAME_CHANNEL), scalar(kernel.S_N_SAME_CHANNEL)
    )
    cols["dispute_rate"] = _ratio(scalar(kernel.S_N_DISPUTED), scalar(kernel.S_N_OTHERS))
    cols["is_new_customer"] = (cols["settled_count_all"] == 0).astype("float64")  # type: ignore[attr-defined]
    cols["open_count"] = scalar(kernel.S_OPEN_COUNT)
    cols["open_amount"] = scalar(kernel.S_OPEN_AMT)
    cols["partial_open_count"] = scalar(kernel.S_PARTIAL)
    cols["open_to_credit_limit"] = _ratio(scalar(kernel.S_OPEN_AMT), credit_limit)
    cols["overdue_count"] = scalar(kernel.S_OVERDUE_COUNT)
    cols["overdue_amount"] = scalar(kernel.S_OVERDUE_AMT)
    cols["oldest_overdue_days"] = day - scalar(kernel.S_MIN_OVERDUE_DUE)
    cols["amount"] = amount
    usual = _ratio(scalar(kernel.S_SUM_AMT), scalar(kernel.S_N_OTHERS))
    cols["amount_vs_usual"] = _ratio(amount, usual)
    cols["terms_days"] = (due - issue).dt.days.to_numpy("float64")
    cols["days_until_due"] = to_days(due).astype("float64") - day
    cols["paid_share"] = _ratio(scalar(kernel.S_SELF_PAID), amount)
    cols["disputed"] = _floats(_optional(targets, "disputed"))
    cols["channel"] = _text(_optional(targets, "channel"))
    cols["currency"] = _text(_optional(targets, "currency")).str.upper()
    days_in_month = issue.dt.days_in_month
    cols["issue_month_end"] = (issue.dt.day > days_in_month - 3).astype("float64").to_numpy()
    quarter_end = issue.dt.month.isin([3, 6, 9, 12]) & (issue.dt.day > days_in_month - 7)
    cols["issue_quarter_end"] = quarter_end.astype("float64").to_numpy()
    cols["issue_weekday"] = issue.dt.day_of_week.astype("float64").to_numpy()
    since = to_days(_customer_column(customers, targets, "customer_since")).astype("float64")
    since[since == kernel.NEVER] = np.nan
    first_seen = np.fmin(scalar(kernel.S_FIRST_ISSUE), to_days(issue).astype("float64"))
    cols["tenure_days"] = day - np.where(np.isnan(since), first_seen, since)
    cols["invoices_30d"] = scalar(kernel.S_ISSUED_30D)
    # usual monthly pace over the last year, or over the relationship so far when shorter
    span = np.clip(day - scalar(kernel.S_FIRST_ISSUE), 30, 365)
    usual_monthly = scalar(kernel.S_ISSUED_365D) * 30 / span
    cols["velocity_ratio"] = _ratio(scalar(kernel.S_ISSUED_30D), usual_monthly)
    cols["credit_limit"] = credit_limit
    cols["segment"] = _text(_customer_column(customers, targets, "segment"))
    cols["country"] = _text(_customer_column(customers, targets, "country"))
    for name in extra:
        cols[name] = targets[name].to_numpy() if name in targets else np.nan

    frame = pd.DataFrame(
        {
            "invoice_id": targets["invoice_id"].astype("string").to_numpy(),
            "customer_id": targets["customer_id"].astype("string").to_numpy(),
            "as_of": as_of.astype("datetime64[us]").to_numpy(),
        }
    )
    features = pd.DataFrame(
        {name: (v.to_numpy() if isinstance(v, pd.Series) else v) for name, v in cols.items()}
    )
    return pd.concat([frame, features[feature_names(extra)]], axis=1)


def _flags(values: pd.Series) -> np.ndarray:
    """Yes/no values as int8, missing counted as no."""
    return values.astype("boolean").fillna(False).to_numpy("int8")


def _floats(values: pd.Series) -> np.ndarray:
    return values.astype("Float64").to_numpy("float64", na_value=np.nan)


def _optional(targets: pd.DataFrame, column: str) -> pd.Series:
    if column in targets:
        return targets[column].reset_index(drop=True)
    return pd.Series(pd.NA, index=targets.index, dtype="object")


def _customer_column(
    customers: pd.DataFrame | None, targets: pd.DataFrame, column: str
) -> pd.Series:
    if customers is None or column not in customers:
        return pd.Series(pd.NA, index=targets.index, dtype="object")
    return targets["customer_id"].map(customers[column]).reset_index(drop=True)


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


def training_set(
    ledger: Ledger, as_of: pd.Timestamp, *, grace_days: int = 0, history: History | None = None
) -> pd.DataFrame:
    """Features at each invoice's issue date, with labels as matured at ``as_of``.

    Only invoices issued on or before ``as_of`` whose label is known at ``as_of`` are kept.
    """
    as_of = pd.Timestamp(as_of).normalize()
    history = history or History.from_ledger(ledger, grace_days)
    issued = ledger.invoices[ledger.invoices["issue_date"] <= as_of]
    labels = label_at(issued, as_of, grace_days)
    known = (labels["status"] != UNKNOWN).to_numpy()
    targets = issued[known].assign(as_of=issued.loc[known, "issue_date"])
    features = history.features(targets)
    matured = labels[known].reset_index(drop=True)
    return features.assign(
        issue_date=targets["issue_date"].to_numpy(),
        due_date=targets["due_date"].to_numpy(),
        late=matured["late"].astype(bool).to_numpy(),
        days_late=matured["days_late"].to_numpy(),
    )
