"""The compiled inner loop of the feature computation (numba).

For each target ``k`` (an invoice, a customer and an as-of day ``T``) it walks the customer's
invoices issued on or before ``T``, skipping the target itself, and accumulates order-free
aggregates. Only events dated on or before ``T`` are read: issue dates ``<= T``, paid dates
``<= T`` (otherwise the invoice is open), payment dates ``<= T``. Days are int32 since 1970.

One loop body, :func:`_target_row`, is compiled into a serial and a parallel loop over the
targets. Its output row holds one block per history window (fields :class:`W`), then the
scalars (fields :class:`S`); :mod:`features.build` turns them into the catalogue.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from enum import IntEnum
from typing import Any, NamedTuple

import numba
import numpy as np

NEVER = np.int32(2**31 - 1)
"""Day used for a missing paid date: an open invoice is paid 'never'."""
PAST = np.int32(-(2**31 - 1))
"""Sentinel for 'no such event yet' in running maxima of days."""

W = IntEnum(
    "W",
    [
        "count",
        "late",
        "sum_days_late",
        "max_days_late",
        "amount",
        "late_amount",
        "sum_days_to_pay",
        "sum_days_to_pay_sq",
    ],
    start=0,
)
"""Aggregates of each history window (settled invoices, by settlement date)."""
PER_WINDOW = len(W)

S = IntEnum(
    "S",
    [
        "last_late",
        "last_paid",
        "streak",
        "open_count",
        "open_amount",
        "partial",
        "overdue_count",
        "overdue_amount",
        "min_overdue_due",
        "first_issue",
        "n_others",
        "sum_amount",
        "issued_30d",
        "issued_365d",
        "self_paid",
        "n_undisputed",
        "late_undisputed",
        "sum_dtp_undisputed",
        "n_disputed",
        "n_same_channel",
        "sum_dtp_same_channel",
        "last_days_late",
        "last_days_to_pay",
    ],
    start=0,
)
"""Aggregates over the whole history, after the window blocks."""
N_SCALARS = len(S)


class LedgerArrays(NamedTuple):
    """A ledger's invoices sorted by customer and issue day, with their payments (CSR)."""

    offsets: np.ndarray  # int64[n_customers + 1]: rows of each customer
    issue: np.ndarray  # int32[n]
    due: np.ndarray  # int32[n]
    paid: np.ndarray  # int32[n], NEVER when open
    amount: np.ndarray  # float64[n]
    disputed: np.ndarray  # int8[n], 1 when disputed (missing counts as not)
    channel: np.ndarray  # int32[n], channel code, -1 when missing
    pay_offsets: np.ndarray  # int64[n + 1]: payments of each invoice
    pay_date: np.ndarray  # int32[m]
    pay_amount: np.ndarray  # float64[m]


class Targets(NamedTuple):
    """What is scored: each target's customer row, as-of day, own row and channel code."""

    customer: np.ndarray  # int64[k], -1 when the customer has no history
    day: np.ndarray  # int32[k]
    me: np.ndarray  # int64[k], row of the target itself or -1
    channel: np.ndarray  # int32[k], channel code, -1 when missing or unseen


@numba.njit(cache=True, inline="always")
def _paid_by(pay_offsets, pay_date, pay_amount, j, day):  # type: ignore[no-untyped-def]
    total = 0.0
    for p in range(pay_offsets[j], pay_offsets[j + 1]):
        if pay_date[p] <= day:
            total += pay_amount[p]
    return total


@numba.njit(cache=True)
def _upper_bound(values, lo, hi, day):  # type: ignore[no-untyped-def]
    """First index in ``values[lo:hi]`` (sorted) whose value is > ``day``."""
    while lo < hi:
        mid = (lo + hi) // 2
        if values[mid] <= day:
            lo = mid + 1
        else:
            hi = mid
    return lo


SERIAL_BELOW = 1000
"""Fewer targets than this run on one thread: waking the thread pool costs milliseconds."""


@numba.njit(cache=True)
def _target_row(L, c, day, me, my_channel, windows, grace, row):  # type: ignore[no-untyped-def]
    """Fill ``row`` (NaN on entry) with the aggregates of one target."""
    n_windows = windows.shape[0]
    base = n_windows * PER_WINDOW
    acc = np.zeros((n_windows, PER_WINDOW))
    for w in range(n_windows):
        acc[w, W.max_days_late] = -1.0
    scalars = np.zeros(N_SCALARS)
    last_late = PAST
    last_paid = PAST
    min_overdue_due = NEVER
    first_issue = NEVER
    lo = 0
    hi = 0
    if c >= 0:
        lo = L.offsets[c]
        hi = _upper_bound(L.issue, lo, L.offsets[c + 1], day)
    for j in range(lo, hi):
        if j == me:
            continue
        age_issue = day - L.issue[j]
        first_issue = min(first_issue, L.issue[j])
        scalars[S.n_others] += 1.0
        scalars[S.sum_amount] += L.amount[j]
        if age_issue < 30:
            scalars[S.issued_30d] += 1.0
        if age_issue < 365:
            scalars[S.issued_365d] += 1.0
        if L.disputed[j]:
            scalars[S.n_disputed] += 1.0
        if L.paid[j] <= day:
            days_late = max(0, L.paid[j] - L.due[j])
            is_late = days_late > grace
            days_to_pay = float(L.paid[j] - L.issue[j])
            age = day - L.paid[j]
            for w in range(n_windows):
                if windows[w] == 0 or age < windows[w]:
                    acc[w, W.count] += 1.0
                    acc[w, W.sum_days_late] += days_late
                    acc[w, W.amount] += L.amount[j]
                    acc[w, W.sum_days_to_pay] += days_to_pay
                    acc[w, W.sum_days_to_pay_sq] += days_to_pay * days_to_pay
                    if is_late:
                        acc[w, W.late] += 1.0
                        acc[w, W.late_amount] += L.amount[j]
                    acc[w, W.max_days_late] = max(acc[w, W.max_days_late], days_late)
            if not L.disputed[j]:
                scalars[S.n_undisputed] += 1.0
                scalars[S.sum_dtp_undisputed] += days_to_pay
                if is_late:
                    scalars[S.late_undisputed] += 1.0
            if my_channel >= 0 and L.channel[j] == my_channel:
                scalars[S.n_same_channel] += 1.0
                scalars[S.sum_dtp_same_channel] += days_to_pay
            if is_late:
                last_late = max(last_late, L.paid[j])
            if L.paid[j] > last_paid:  # the last settlement day: its latest and slowest payers
                last_paid = L.paid[j]
                scalars[S.last_days_late] = days_late
                scalars[S.last_days_to_pay] = days_to_pay
            elif L.paid[j] == last_paid:
                scalars[S.last_days_late] = max(scalars[S.last_days_late], days_late)
                scalars[S.last_days_to_pay] = max(scalars[S.last_days_to_pay], days_to_pay)
        else:
            received = _paid_by(L.pay_offsets, L.pay_date, L.pay_amount, j, day)
            remaining = L.amount[j] - received
            scalars[S.open_count] += 1.0
            scalars[S.open_amount] += remaining
            if received > 0:
                scalars[S.partial] += 1.0
            if L.due[j] < day:
                scalars[S.overdue_count] += 1.0
                scalars[S.overdue_amount] += remaining
                min_overdue_due = min(min_overdue_due, L.due[j])
    for j in range(lo, hi):
        settled_after_last_late = j != me and last_late < L.paid[j] <= day
        if settled_after_last_late and max(0, L.paid[j] - L.due[j]) <= grace:
            scalars[S.streak] += 1.0
    if me >= 0:
        scalars[S.self_paid] = _paid_by(L.pay_offsets, L.pay_date, L.pay_amount, me, day)

    for w in range(n_windows):
        for a in range(PER_WINDOW):
            row[w * PER_WINDOW + a] = acc[w, a]
        if acc[w, W.count] == 0:
            row[w * PER_WINDOW + W.max_days_late] = np.nan
    for s in range(N_SCALARS):
        row[base + s] = scalars[s]
    # days of events that may not have happened yet: NaN (the row's initial value) when not
    row[base + S.last_late] = np.nan if last_late == PAST else last_late
    row[base + S.last_paid] = np.nan if last_paid == PAST else last_paid
    if last_paid == PAST:
        row[base + S.last_days_late] = np.nan
        row[base + S.last_days_to_pay] = np.nan
    row[base + S.min_overdue_due] = np.nan if min_overdue_due == NEVER else min_overdue_due
    row[base + S.first_issue] = np.nan if first_issue == NEVER else first_issue


def _aggregate(L, T, windows, grace):  # type: ignore[no-untyped-def]
    out = np.full((T.day.shape[0], windows.shape[0] * PER_WINDOW + N_SCALARS), np.nan)
    for k in numba.prange(T.day.shape[0]):
        _target_row(L, T.customer[k], T.day[k], T.me[k], T.channel[k], windows, grace, out[k])
    return out


def _compiled(name: str, **options: Any) -> Callable[..., np.ndarray]:
    """:func:`_aggregate` compiled under its own name (numba caches by function name, and two
    dispatchers of one function would share, and mix up, their cached machine code)."""
    loop = types.FunctionType(_aggregate.__code__, _aggregate.__globals__, name)
    loop.__qualname__ = name
    return numba.njit(cache=True, **options)(loop)  # type: ignore[no-any-return]


_aggregate_serial = _compiled("_aggregate_serial")
_aggregate_parallel = _compiled("_aggregate_parallel", parallel=True)


def aggregate(
    ledger: LedgerArrays, targets: Targets, windows: np.ndarray, grace: int
) -> np.ndarray:
    """One row of raw aggregates per target: the window blocks, then the scalars.

    Args:
        windows: int32 window lengths in days, 0 = all time.
    """
    run = _aggregate_serial if len(targets.day) < SERIAL_BELOW else _aggregate_parallel
    return run(ledger, targets, windows, grace)
