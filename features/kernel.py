"""The compiled inner loop of the feature computation (numba).

Each target ``k`` is an invoice, a customer and an as-of day ``T``; its row aggregates the
customer's other invoices using only events dated on or before ``T``: issue dates ``<= T``,
paid dates ``<= T`` (otherwise the invoice is open), payment dates ``<= T``. Days are int32
since 1970.

A customer's targets are taken in as-of order in one sweep over its history (:func:`_sweep`):
pointers advance over its invoices in issue order, its payments, its due dates and its
settlements (in paid order), keeping running aggregates of what is open and overdue. The
settled history is a table of prefix sums in paid order, so a history window (settled
invoices by settlement date) is the difference of two rows found by two pointers. Work per
customer is linear in its invoices and targets (times a log for the maxima), whatever their
number. The target itself is always left out: its own contribution is subtracted, and maxima
and minima skip it.

The sweep needs the contract's date order (due and paid dates not before the issue date,
payments above 0, finite amounts). A customer whose history breaks it, or a target without an
as-of day, takes the direct walk :func:`_target_row`, which reads every earlier invoice; so
does a customer's only target (:data:`ALONE_WALKS`).

Both are compiled into a serial and a parallel loop over the customers. A row holds one block
per history window (fields :class:`W`), then the scalars (fields :class:`S`);
:mod:`features.build` turns them into the catalogue.
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

P = IntEnum(
    "P",
    [
        "late",
        "days_late",
        "days_to_pay",
        "days_to_pay_sq",
        "on_time",
        "undisputed",
        "late_undisputed",
        "dtp_undisputed",
        "amount",
        "amount_lo",
        "late_amount",
        "late_amount_lo",
    ],
    start=0,
)
"""Prefix sums of the settled history in paid order (``*_lo``: compensation terms, so that a
window's amount, a difference of two prefix sums, keeps its digits)."""
N_PREFIX = len(P)


class LedgerArrays(NamedTuple):
    """A ledger's invoices sorted by customer and issue day, with their payments (CSR), and the
    orders the sweep walks (see :func:`ledger_arrays`)."""

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
    by_paid: np.ndarray  # int64[n]: rows of each customer in paid-day order
    by_due: np.ndarray  # int64[n]: rows of each customer in due-day order
    event_offsets: np.ndarray  # int64[n_customers + 1]: payment events of each customer
    event_day: np.ndarray  # int32[m]: the day a payment counts (not before the issue day)
    event_row: np.ndarray  # int64[m]: its invoice row
    event_amount: np.ndarray  # float64[m]
    regular: np.ndarray  # bool[n_customers]: history in the contract's date order


def ledger_arrays(
    offsets: np.ndarray,
    issue: np.ndarray,
    due: np.ndarray,
    paid: np.ndarray,
    amount: np.ndarray,
    disputed: np.ndarray,
    channel: np.ndarray,
    pay_offsets: np.ndarray,
    pay_date: np.ndarray,
    pay_amount: np.ndarray,
) -> LedgerArrays:
    """:class:`LedgerArrays` of invoice rows sorted by customer and issue day."""
    customer = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    pay_row = np.repeat(np.arange(len(issue)), np.diff(pay_offsets))
    day = np.maximum(pay_date, issue[pay_row])
    events = np.lexsort((day, customer[pay_row]))
    n_customers = len(offsets) - 1
    event_offsets = np.searchsorted(customer[pay_row][events], np.arange(n_customers + 1))
    bad_payment = ~(np.isfinite(pay_amount) & (pay_amount > 0))
    bad = (due < issue) | (paid < issue) | ~np.isfinite(amount)
    bad[pay_row[bad_payment]] = True
    return LedgerArrays(
        offsets=offsets,
        issue=issue,
        due=due,
        paid=paid,
        amount=amount,
        disputed=disputed,
        channel=channel,
        pay_offsets=pay_offsets,
        pay_date=pay_date,
        pay_amount=pay_amount,
        by_paid=np.lexsort((paid, customer)).astype("int64"),
        by_due=np.lexsort((due, customer)).astype("int64"),
        event_offsets=event_offsets.astype("int64"),
        event_day=day.astype("int32")[events],
        event_row=pay_row[events].astype("int64"),
        event_amount=pay_amount[events],
        regular=np.bincount(customer[bad], minlength=n_customers) == 0,
    )


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


ALONE_WALKS = True
"""A customer's only target takes the direct walk: building the sweep's tables costs about
two walks (what the API's single invoices need). Tests turn it off to test the sweep."""

SERIAL_BELOW = 1000
"""Fewer targets than this run on one thread: waking the thread pool costs milliseconds."""


@numba.njit(cache=True)
def _target_row(L, c, day, me, my_channel, windows, grace, row):  # type: ignore[no-untyped-def]
    """Fill ``row`` (NaN on entry) with the aggregates of one target, walking its customer's
    earlier invoices one by one."""
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
    _finish_row(acc, scalars, last_late, last_paid, min_overdue_due, first_issue, base, row)


@numba.njit(cache=True)
def _finish_row(acc, scalars, last_late, last_paid, min_overdue_due, first_issue, base, row):  # type: ignore[no-untyped-def]
    """Copy the aggregates into ``row``; days of events that have not happened are NaN."""
    for w in range(acc.shape[0]):
        for a in range(PER_WINDOW):
            row[w * PER_WINDOW + a] = acc[w, a]
        if acc[w, W.count] == 0:
            row[w * PER_WINDOW + W.max_days_late] = np.nan
    for s in range(N_SCALARS):
        row[base + s] = scalars[s]
    row[base + S.last_late] = np.nan if last_late == PAST else last_late
    row[base + S.last_paid] = np.nan if last_paid == PAST else last_paid
    if last_paid == PAST:
        row[base + S.last_days_late] = np.nan
        row[base + S.last_days_to_pay] = np.nan
    row[base + S.min_overdue_due] = np.nan if min_overdue_due == NEVER else min_overdue_due
    row[base + S.first_issue] = np.nan if first_issue == NEVER else first_issue


@numba.njit(cache=True, inline="always")
def _add(total, lo, x):  # type: ignore[no-untyped-def]
    """Neumaier's compensated ``total + x``: returns the new total and compensation."""
    t = total + x
    if abs(total) >= abs(x):
        lo += (total - t) + x
    else:
        lo += (x - t) + total
    return t, lo


@numba.njit(cache=True)
def _max_tree(values):  # type: ignore[no-untyped-def]
    """A segment tree of ``values`` (all >= 0) for range maxima (-1 over an empty range)."""
    n = values.shape[0]
    tree = np.full(2 * max(n, 1), -1.0)
    tree[n : 2 * n] = values
    for i in range(n - 1, 0, -1):
        tree[i] = max(tree[2 * i], tree[2 * i + 1])
    return tree


@numba.njit(cache=True)
def _range_max(tree, n, lo, hi):  # type: ignore[no-untyped-def]
    best = -1.0
    lo += n
    hi += n
    while lo < hi:
        if lo & 1:
            best = max(best, tree[lo])
            lo += 1
        if hi & 1:
            hi -= 1
            best = max(best, tree[hi])
        lo >>= 1
        hi >>= 1
    return best


@numba.njit(cache=True)
def _max_except(tree, n, lo, hi, skip):  # type: ignore[no-untyped-def]
    """Maximum over positions ``[lo, hi)`` other than ``skip``; NaN when there are none."""
    if lo <= skip < hi:
        best = max(_range_max(tree, n, lo, skip), _range_max(tree, n, skip + 1, hi))
    else:
        best = _range_max(tree, n, lo, hi)
    return np.nan if best < 0 else best


@numba.njit(cache=True)
def _window_sum(cum, a, b, column):  # type: ignore[no-untyped-def]
    return cum[b, column] - cum[a, column]


@numba.njit(cache=True)
def _sweep(L, T, targets, windows, grace, out):  # type: ignore[no-untyped-def]
    """Rows of ``targets`` (all of one regular customer, sorted by day) in one pass."""
    c = T.customer[targets[0]]
    lo = L.offsets[c]
    n = L.offsets[c + 1] - lo
    n_windows = windows.shape[0]
    base = n_windows * PER_WINDOW

    # the settled history in paid order: prefix sums, maxima, last late and day boundaries
    by_paid = L.by_paid[lo : lo + n] - lo
    place = np.empty(n, np.int64)  # position of each row in paid order
    n_settled = 0
    for i in range(n):
        place[by_paid[i]] = i
        if L.paid[lo + by_paid[i]] != NEVER:
            n_settled += 1
    paid = np.empty(n_settled, np.int64)
    days_late = np.empty(n_settled)
    days_to_pay = np.empty(n_settled)
    cum = np.zeros((n_settled + 1, N_PREFIX))
    late_before = np.full(n_settled + 1, -1)  # the last late position before each position
    day_begin = np.empty(n_settled, np.int64)  # first position settled on the same day
    for i in range(n_settled):
        j = lo + by_paid[i]
        paid[i] = L.paid[j]
        days_late[i] = max(0, L.paid[j] - L.due[j])
        days_to_pay[i] = L.paid[j] - L.issue[j]
        late = days_late[i] > grace
        undisputed = not L.disputed[j]
        step = cum[i + 1]
        step[:] = cum[i]
        step[P.late] += late
        step[P.days_late] += days_late[i]
        step[P.days_to_pay] += days_to_pay[i]
        step[P.days_to_pay_sq] += days_to_pay[i] * days_to_pay[i]
        step[P.on_time] += not late
        step[P.undisputed] += undisputed
        step[P.late_undisputed] += late and undisputed
        step[P.dtp_undisputed] += days_to_pay[i] if undisputed else 0.0
        step[P.amount], step[P.amount_lo] = _add(step[P.amount], step[P.amount_lo], L.amount[j])
        if late:
            step[P.late_amount], step[P.late_amount_lo] = _add(
                step[P.late_amount], step[P.late_amount_lo], L.amount[j]
            )
        late_before[i + 1] = i if late else late_before[i]
        day_begin[i] = day_begin[i - 1] if i > 0 and paid[i - 1] == paid[i] else i
    days_late_tree = _max_tree(days_late)
    days_to_pay_tree = _max_tree(days_to_pay)
    day_end = np.empty(n_settled, np.int64)  # first position settled on a later day
    for i in range(n_settled - 1, -1, -1):
        day_end[i] = day_end[i + 1] if i + 1 < n_settled and paid[i + 1] == paid[i] else i + 1

    # running state of the sweep
    by_due = L.by_due[lo : lo + n] - lo
    n_channels = 0
    for i in range(n):
        n_channels = max(n_channels, L.channel[lo + i] + 1)
    channel_count = np.zeros(n_channels)
    channel_dtp = np.zeros(n_channels)
    remaining = L.amount[lo : lo + n].copy()
    paid_some = np.zeros(n, np.bool_)
    overdue = np.zeros(n, np.bool_)
    after = np.full(n, -1)  # overdue invoices as a linked list in due order
    before = np.full(n, -1)
    oldest, newest = -1, -1
    issued = issued_30 = issued_365 = settled = due_passed = 0
    expired = np.zeros(n_windows, np.int64)
    event = L.event_offsets[c]
    sum_amount = sum_amount_lo = open_amount = open_amount_lo = 0.0
    overdue_amount = overdue_amount_lo = 0.0
    n_disputed = partial = overdue_count = 0

    for k in targets:
        day = T.day[k]
        row = out[k]
        if day == NEVER:
            _target_row(L, c, day, T.me[k], T.channel[k], windows, grace, row)
            continue
        while issued < n and L.issue[lo + issued] <= day:
            sum_amount, sum_amount_lo = _add(sum_amount, sum_amount_lo, L.amount[lo + issued])
            open_amount, open_amount_lo = _add(open_amount, open_amount_lo, L.amount[lo + issued])
            n_disputed += L.disputed[lo + issued]
            issued += 1
        while issued_30 < issued and L.issue[lo + issued_30] <= day - 30:
            issued_30 += 1
        while issued_365 < issued and L.issue[lo + issued_365] <= day - 365:
            issued_365 += 1
        while event < L.event_offsets[c + 1] and L.event_day[event] <= day:
            r = L.event_row[event] - lo
            if L.event_day[event] < L.paid[lo + r]:  # paid before it was settled
                x = L.event_amount[event]
                remaining[r] -= x
                open_amount, open_amount_lo = _add(open_amount, open_amount_lo, -x)
                if overdue[r]:
                    overdue_amount, overdue_amount_lo = _add(overdue_amount, overdue_amount_lo, -x)
                if not paid_some[r]:
                    paid_some[r] = True
                    partial += 1
            event += 1
        while due_passed < n and L.due[lo + by_due[due_passed]] < day:
            r = by_due[due_passed]
            if L.due[lo + r] + 1 < L.paid[lo + r]:  # still open the day after its due date
                overdue[r] = True
                overdue_count += 1
                overdue_amount, overdue_amount_lo = _add(
                    overdue_amount, overdue_amount_lo, remaining[r]
                )
                before[r] = newest
                if newest >= 0:
                    after[newest] = r
                else:
                    oldest = r
                newest = r
            due_passed += 1
        while settled < n_settled and paid[settled] <= day:
            r = by_paid[settled]
            open_amount, open_amount_lo = _add(open_amount, open_amount_lo, -remaining[r])
            partial -= paid_some[r]
            if overdue[r]:
                overdue[r] = False
                overdue_count -= 1
                overdue_amount, overdue_amount_lo = _add(
                    overdue_amount, overdue_amount_lo, -remaining[r]
                )
                if before[r] >= 0:
                    after[before[r]] = after[r]
                else:
                    oldest = after[r]
                if after[r] >= 0:
                    before[after[r]] = before[r]
                else:
                    newest = before[r]
            channel = L.channel[lo + r]
            if channel >= 0:
                channel_count[channel] += 1
                channel_dtp[channel] += days_to_pay[settled]
            settled += 1
        for w in range(n_windows):
            if windows[w] > 0:
                while expired[w] < settled and paid[expired[w]] <= day - windows[w]:
                    expired[w] += 1

        # the target itself, left out of every aggregate
        m = T.me[k] - lo if T.me[k] >= 0 else -1
        me_issued = 0 <= m < issued
        me_at = place[m] if m >= 0 else -1  # its position in paid order
        me_settled = m >= 0 and me_at < settled
        me_open = me_issued and not me_settled
        j = lo + m
        for w in range(n_windows):
            a = expired[w]
            inside = me_settled and me_at >= a
            block = w * PER_WINDOW
            count = settled - a - inside
            row[block + W.count] = count
            row[block + W.late] = _window_sum(cum, a, settled, P.late)
            row[block + W.sum_days_late] = _window_sum(cum, a, settled, P.days_late)
            row[block + W.sum_days_to_pay] = _window_sum(cum, a, settled, P.days_to_pay)
            row[block + W.sum_days_to_pay_sq] = _window_sum(cum, a, settled, P.days_to_pay_sq)
            amount = _window_sum(cum, a, settled, P.amount) + _window_sum(
                cum, a, settled, P.amount_lo
            )
            late_amount = _window_sum(cum, a, settled, P.late_amount) + _window_sum(
                cum, a, settled, P.late_amount_lo
            )
            if inside:
                late = days_late[me_at] > grace
                row[block + W.late] -= late
                row[block + W.sum_days_late] -= days_late[me_at]
                row[block + W.sum_days_to_pay] -= days_to_pay[me_at]
                row[block + W.sum_days_to_pay_sq] -= days_to_pay[me_at] ** 2
                amount -= L.amount[j]
                late_amount -= L.amount[j] if late else 0.0
            row[block + W.amount] = amount
            row[block + W.late_amount] = late_amount
            row[block + W.max_days_late] = _max_except(days_late_tree, n_settled, a, settled, me_at)

        scalars = row[base:]
        me_late = me_settled and days_late[me_at] > grace
        me_undisputed = me_settled and not L.disputed[j]
        scalars[S.n_undisputed] = cum[settled, P.undisputed] - me_undisputed
        scalars[S.late_undisputed] = cum[settled, P.late_undisputed] - (me_late and me_undisputed)
        scalars[S.sum_dtp_undisputed] = cum[settled, P.dtp_undisputed] - (
            days_to_pay[me_at] if me_undisputed else 0.0
        )
        my_channel = T.channel[k]
        same = 0.0
        same_dtp = 0.0
        if 0 <= my_channel < n_channels:
            same = channel_count[my_channel]
            same_dtp = channel_dtp[my_channel]
            if me_settled and L.channel[j] == my_channel:
                same -= 1
                same_dtp -= days_to_pay[me_at]
        scalars[S.n_same_channel] = same
        scalars[S.sum_dtp_same_channel] = same_dtp

        last = late_before[settled]  # the last late settlement, and the on-time ones after it
        if last == me_at and last >= 0:
            last = late_before[me_at]
        streak_from = day_end[last] if last >= 0 else 0
        scalars[S.last_late] = paid[last] if last >= 0 else np.nan
        scalars[S.streak] = cum[settled, P.on_time] - cum[streak_from, P.on_time]
        if me_settled and not me_late and me_at >= streak_from:
            scalars[S.streak] -= 1
        last = settled - 1  # the last settlement day: its latest and slowest payers
        if last == me_at:
            last -= 1
        if last >= 0:
            first = day_begin[last]
            scalars[S.last_paid] = paid[last]
            scalars[S.last_days_late] = _max_except(
                days_late_tree, n_settled, first, last + 1, me_at
            )
            scalars[S.last_days_to_pay] = _max_except(
                days_to_pay_tree, n_settled, first, last + 1, me_at
            )

        scalars[S.open_count] = issued - settled - me_open
        scalars[S.open_amount] = open_amount + open_amount_lo - (remaining[m] if me_open else 0.0)
        scalars[S.partial] = partial - (me_open and paid_some[m])
        me_overdue = m >= 0 and overdue[m]
        scalars[S.overdue_count] = overdue_count - me_overdue
        scalars[S.overdue_amount] = (
            overdue_amount + overdue_amount_lo - (remaining[m] if me_overdue else 0.0)
        )
        first = after[oldest] if oldest == m and m >= 0 else oldest
        scalars[S.min_overdue_due] = L.due[lo + first] if first >= 0 else np.nan

        scalars[S.n_others] = issued - me_issued
        scalars[S.sum_amount] = sum_amount + sum_amount_lo - (L.amount[j] if me_issued else 0.0)
        scalars[S.n_disputed] = n_disputed - (me_issued and L.disputed[j] != 0)
        scalars[S.issued_30d] = issued - issued_30 - (me_issued and m >= issued_30)
        scalars[S.issued_365d] = issued - issued_365 - (me_issued and m >= issued_365)
        first = 1 if m == 0 and me_issued else 0
        scalars[S.first_issue] = L.issue[lo + first] if first < issued else np.nan
        scalars[S.self_paid] = (
            _paid_by(L.pay_offsets, L.pay_date, L.pay_amount, T.me[k], day) if m >= 0 else 0.0
        )


def _aggregate(L, T, order, groups, windows, grace, alone_walks):  # type: ignore[no-untyped-def]
    out = np.full((T.day.shape[0], windows.shape[0] * PER_WINDOW + N_SCALARS), np.nan)
    for g in numba.prange(groups.shape[0] - 1):
        targets = order[groups[g] : groups[g + 1]]
        c = T.customer[targets[0]]
        if c >= 0 and L.regular[c] and not (alone_walks and targets.shape[0] == 1):
            _sweep(L, T, targets, windows, grace, out)
        else:
            for k in targets:
                _target_row(L, c, T.day[k], T.me[k], T.channel[k], windows, grace, out[k])
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
    order = np.lexsort((targets.day, targets.customer)).astype("int64")
    customer = targets.customer[order]
    groups = np.flatnonzero(np.diff(customer)) + 1
    groups = np.concatenate(([0], groups, [len(order)])).astype("int64")
    if len(order) == 0:
        groups = groups[:1]
    run = _aggregate_serial if len(targets.day) < SERIAL_BELOW else _aggregate_parallel
    return run(ledger, targets, order, groups, windows, grace, ALONE_WALKS)
