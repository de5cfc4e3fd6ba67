"""The compiled inner loop of the feature computation (numba).

For each target ``k`` (an invoice, a customer and an as-of day ``T``) it walks the customer's
invoices issued on or before ``T``, skipping the target itself, and accumulates order-free
aggregates. Only events dated on or before ``T`` are read: issue dates ``<= T``, paid dates
``<= T`` (otherwise the invoice is open), payment dates ``<= T``. Days are int32 since 1970.
"""

from __future__ import annotations

import numba
import numpy as np

NEVER = np.int32(2**31 - 1)
"""Day used for a missing paid date: an open invoice is paid 'never'."""
PAST = np.int32(-(2**31 - 1))
"""Sentinel for 'no such event yet' in running maxima of days."""

# per-window accumulators, in this order
W_COUNT, W_LATE, W_SUM_DL, W_MAX_DL, W_AMT, W_LATE_AMT, W_SUM_DTP, W_SUM_DTP2 = range(8)
PER_WINDOW = 8
# scalar aggregates after the window blocks
(
    S_LAST_LATE,
    S_LAST_PAID,
    S_STREAK,
    S_OPEN_COUNT,
    S_OPEN_AMT,
    S_PARTIAL,
    S_OVERDUE_COUNT,
    S_OVERDUE_AMT,
    S_MIN_OVERDUE_DUE,
    S_FIRST_ISSUE,
    S_N_OTHERS,
    S_SUM_AMT,
    S_ISSUED_30D,
    S_ISSUED_365D,
    S_SELF_PAID,
    S_N_UNDISPUTED,
    S_LATE_UNDISPUTED,
    S_SUM_DTP_UNDISPUTED,
    S_N_DISPUTED,
    S_N_SAME_CHANNEL,
    S_SUM_DTP_SAME_CHANNEL,
) = range(21)
N_SCALARS = 21


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
def _target_row(  # type: ignore[no-untyped-def]
    offsets,  # int64[n_customers + 1]: rows of each customer in the issue-sorted arrays
    issue,  # int32[n]
    due,  # int32[n]
    paid,  # int32[n], NEVER when open
    amount,  # float64[n]
    disputed,  # int8[n], 1 when disputed (missing counts as not)
    channel,  # int32[n], channel code, -1 when missing
    pay_offsets,  # int64[n + 1]: payments of each invoice
    pay_date,  # int32[m]
    pay_amount,  # float64[m]
    c,  # the target's customer, -1 when the customer has no history
    day,  # the target's as-of day
    me,  # row of the target itself or -1
    my_channel,  # channel code of the target, -1 when missing or unseen
    windows,  # int32[w], 0 = all time
    grace,  # int
    row,  # float64[w * PER_WINDOW + N_SCALARS], filled with NaN: the output
):
    n_windows = windows.shape[0]
    base = n_windows * PER_WINDOW
    acc = np.zeros((n_windows, PER_WINDOW))
    for w in range(n_windows):
        acc[w, W_MAX_DL] = -1.0
    n_others = 0.0
    sum_amt = 0.0
    issued_30d = 0.0
    issued_365d = 0.0
    open_count = 0.0
    open_amt = 0.0
    partial = 0.0
    overdue_count = 0.0
    overdue_amt = 0.0
    streak = 0.0
    n_undisputed = 0.0
    late_undisputed = 0.0
    sum_dtp_undisputed = 0.0
    n_disputed = 0.0
    n_same_channel = 0.0
    sum_dtp_same_channel = 0.0
    last_late = PAST
    last_paid = PAST
    min_overdue_due = NEVER
    first_issue = NEVER
    lo = 0
    hi = 0
    if c >= 0:
        lo = offsets[c]
        hi = _upper_bound(issue, lo, offsets[c + 1], day)
    for j in range(lo, hi):
        if j == me:
            continue
        age_issue = day - issue[j]
        first_issue = min(first_issue, issue[j])
        n_others += 1.0
        sum_amt += amount[j]
        if age_issue < 30:
            issued_30d += 1.0
        if age_issue < 365:
            issued_365d += 1.0
        if disputed[j]:
            n_disputed += 1.0
        if paid[j] <= day:
            days_late = max(0, paid[j] - due[j])
            is_late = days_late > grace
            days_to_pay = float(paid[j] - issue[j])
            age = day - paid[j]
            for w in range(n_windows):
                if windows[w] == 0 or age < windows[w]:
                    acc[w, W_COUNT] += 1.0
                    acc[w, W_SUM_DL] += days_late
                    acc[w, W_AMT] += amount[j]
                    acc[w, W_SUM_DTP] += days_to_pay
                    acc[w, W_SUM_DTP2] += days_to_pay * days_to_pay
                    if is_late:
                        acc[w, W_LATE] += 1.0
                        acc[w, W_LATE_AMT] += amount[j]
                    acc[w, W_MAX_DL] = max(acc[w, W_MAX_DL], days_late)
            if not disputed[j]:
                n_undisputed += 1.0
                sum_dtp_undisputed += days_to_pay
                if is_late:
                    late_undisputed += 1.0
            if my_channel >= 0 and channel[j] == my_channel:
                n_same_channel += 1.0
                sum_dtp_same_channel += days_to_pay
            if is_late:
                last_late = max(last_late, paid[j])
            last_paid = max(last_paid, paid[j])
        else:
            received = _paid_by(pay_offsets, pay_date, pay_amount, j, day)
            remaining = amount[j] - received
            open_count += 1.0
            open_amt += remaining
            if received > 0:
                partial += 1.0
            if due[j] < day:
                overdue_count += 1.0
                overdue_amt += remaining
                min_overdue_due = min(min_overdue_due, due[j])
    for j in range(lo, hi):
        settled_after_last_late = j != me and last_late < paid[j] <= day
        if settled_after_last_late and max(0, paid[j] - due[j]) <= grace:
            streak += 1.0

    for w in range(n_windows):
        for a in range(PER_WINDOW):
            row[w * PER_WINDOW + a] = acc[w, a]
        if acc[w, W_COUNT] == 0:
            row[w * PER_WINDOW + W_MAX_DL] = np.nan
    row[base + S_SELF_PAID] = (
        _paid_by(pay_offsets, pay_date, pay_amount, me, day) if me >= 0 else 0.0
    )
    row[base + S_STREAK] = streak
    row[base + S_OPEN_COUNT] = open_count
    row[base + S_OPEN_AMT] = open_amt
    row[base + S_PARTIAL] = partial
    row[base + S_OVERDUE_COUNT] = overdue_count
    row[base + S_OVERDUE_AMT] = overdue_amt
    row[base + S_N_OTHERS] = n_others
    row[base + S_SUM_AMT] = sum_amt
    row[base + S_ISSUED_30D] = issued_30d
    row[base + S_ISSUED_365D] = issued_365d
    row[base + S_N_UNDISPUTED] = n_undisputed
    row[base + S_LATE_UNDISPUTED] = late_undisputed
    row[base + S_SUM_DTP_UNDISPUTED] = sum_dtp_undisputed
    row[base + S_N_DISPUTED] = n_disputed
    row[base + S_N_SAME_CHANNEL] = n_same_channel
    row[base + S_SUM_DTP_SAME_CHANNEL] = sum_dtp_same_channel
    if last_late != PAST:
        row[base + S_LAST_LATE] = last_late
    if last_paid != PAST:
        row[base + S_LAST_PAID] = last_paid
    if min_overdue_due != NEVER:
        row[base + S_MIN_OVERDUE_DUE] = min_overdue_due
    if first_issue != NEVER:
        row[base + S_FIRST_ISSUE] = first_issue


@numba.njit(parallel=True, cache=True)
def _aggregate_parallel(  # type: ignore[no-untyped-def]
    offsets,
    issue,
    due,
    paid,
    amount,
    disputed,
    channel,
    pay_offsets,
    pay_date,
    pay_amount,
    t_customer,
    t_day,
    t_self,
    t_channel,
    windows,
    grace,
):
    out = np.full((t_day.shape[0], windows.shape[0] * PER_WINDOW + N_SCALARS), np.nan)
    for k in numba.prange(t_day.shape[0]):
        _target_row(
            offsets,
            issue,
            due,
            paid,
            amount,
            disputed,
            channel,
            pay_offsets,
            pay_date,
            pay_amount,
            t_customer[k],
            t_day[k],
            t_self[k],
            t_channel[k],
            windows,
            grace,
            out[k],
        )
    return out


@numba.njit(cache=True)
def _aggregate_serial(  # type: ignore[no-untyped-def]
    offsets,
    issue,
    due,
    paid,
    amount,
    disputed,
    channel,
    pay_offsets,
    pay_date,
    pay_amount,
    t_customer,
    t_day,
    t_self,
    t_channel,
    windows,
    grace,
):
    out = np.full((t_day.shape[0], windows.shape[0] * PER_WINDOW + N_SCALARS), np.nan)
    for k in range(t_day.shape[0]):
        _target_row(
            offsets,
            issue,
            due,
            paid,
            amount,
            disputed,
            channel,
            pay_offsets,
            pay_date,
            pay_amount,
            t_customer[k],
            t_day[k],
            t_self[k],
            t_channel[k],
            windows,
            grace,
            out[k],
        )
    return out


def aggregate(  # type: ignore[no-untyped-def]
    offsets,  # int64[n_customers + 1]: rows of each customer in the issue-sorted arrays
    issue,  # int32[n]
    due,  # int32[n]
    paid,  # int32[n], NEVER when open
    amount,  # float64[n]
    disputed,  # int8[n], 1 when disputed (missing counts as not)
    channel,  # int32[n], channel code, -1 when missing
    pay_offsets,  # int64[n + 1]: payments of each invoice
    pay_date,  # int32[m]
    pay_amount,  # float64[m]
    t_customer,  # int64[k], -1 when the customer has no history
    t_day,  # int32[k]
    t_self,  # int64[k], row of the target itself or -1
    t_channel,  # int32[k], channel code of the target, -1 when missing or unseen
    windows,  # int32[w], 0 = all time
    grace,  # int
) -> np.ndarray:
    """One row of raw aggregates per target: the window blocks, then the scalars."""
    run = _aggregate_serial if len(t_day) < SERIAL_BELOW else _aggregate_parallel
    return run(  # type: ignore[no-any-return]
        offsets,
        issue,
        due,
        paid,
        amount,
        disputed,
        channel,
        pay_offsets,
        pay_date,
        pay_amount,
        t_customer,
        t_day,
        t_self,
        t_channel,
        windows,
        grace,
    )
