"""Dirty mode: extra invoice rows that each break exactly one rule of the ledger contract."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from precollect.synth.invoices import Invoices

RULES = (
    "invoices.invoice_id.unique",
    "invoices.amount.positive",
    "invoices.due_date.not_before_issue",
    "invoices.customer_id.known",
    "invoices.issue_date.valid",
)
DUPLICATE, AMOUNT, DUE_BEFORE_ISSUE, UNKNOWN_CUSTOMER, GARBAGE_DATE = range(len(RULES))

GARBAGE_DATES = (
    "2023-02-30",
    "31/31/2023",
    "n/a",
    "2024-13-01",
    "00/00/0000",
    "TBD",
    "2022-04-31",
    "#VALUE!",
)
"""Present but unparseable issue dates (never blank: a blank date is missing, not invalid)."""


@dataclass(frozen=True)
class Injected:
    """A chunk's rows after injection, in written order, and where the bad rows ended up."""

    rows: Invoices
    number: np.ndarray
    """Invoice number of each written row (0-based within the chunk; duplicates repeat one)."""
    valid_number: np.ndarray
    """Invoice number of each valid row, by its index before injection (for the payments)."""
    garbage: np.ndarray
    """Garbage issue-date text per written row ("" where the issue date is fine)."""
    position: np.ndarray
    """Written position (within the chunk) of each bad row."""
    kind: np.ndarray
    """Index into ``RULES`` of each bad row."""


def _bad_rows(
    rng: np.random.Generator,
    valid: Invoices,
    kind: np.ndarray,
    source: np.ndarray,
    last: int,
    n_customers: int,
) -> Invoices:
    """Copies of the ``source`` rows, each given its fault; all but duplicates are open."""
    n = len(kind)
    bad = valid.take(source)
    fresh = kind != DUPLICATE
    negative = np.where(rng.random(n) < 0.7, -bad.cents, 0)
    unknown = n_customers + 1 + rng.integers(0, n_customers, n)
    return replace(
        bad,
        is_open=np.where(fresh, True, bad.is_open),
        paid=np.where(fresh, 0, bad.paid),
        disputed=np.where(fresh, False, bad.disputed),
        cents=np.where(kind == AMOUNT, negative, bad.cents),
        due=np.where(
            kind == DUE_BEFORE_ISSUE,
            bad.issue - rng.integers(1, 31, n),
            np.where(kind == GARBAGE_DATE, np.minimum(bad.due, last), bad.due),
        ),
        customer=np.where(kind == UNKNOWN_CUSTOMER, unknown, bad.customer),
    )


def inject(
    rng: np.random.Generator, valid: Invoices, n_bad: int, last: int, n_customers: int
) -> Injected:
    """Insert ``n_bad`` faulty rows at random positions among the ``valid`` rows.

    A duplicate copies an earlier valid row (including its invoice number) and is placed after
    it; every other bad row gets a new invoice number and no payments.
    """
    n_valid = len(valid)
    if n_bad == 0 or n_valid == 0:
        everything = np.arange(n_valid)
        return Injected(
            rows=valid,
            number=everything,
            valid_number=everything,
            garbage=np.full(n_valid, "", dtype=object),
            position=np.zeros(0, np.int64),
            kind=np.zeros(0, np.int64),
        )
    kind = rng.integers(0, len(RULES), n_bad)
    source = rng.integers(0, n_valid, n_bad)
    dup = kind == DUPLICATE
    after = source + 1 + np.floor(rng.random(len(kind)) * (n_valid - source)).astype(np.int64)
    slot = np.where(dup, after, rng.integers(0, n_valid + 1, len(kind)))
    keys = np.concatenate([2 * np.arange(n_valid) + 1, 2 * slot])
    order = np.argsort(keys, kind="stable")
    fresh = np.concatenate([np.ones(n_valid, bool), ~dup])
    number_sorted = np.cumsum(fresh[order]) - 1
    number = np.empty(len(order), np.int64)
    number[order] = number_sorted
    number[n_valid:][dup] = number[source[dup]]
    bad = _bad_rows(rng, valid, kind, source, last, n_customers)
    garbage = np.full(len(order), "", dtype=object)
    is_garbage = np.flatnonzero(kind == GARBAGE_DATE)
    picks = rng.integers(0, len(GARBAGE_DATES), len(is_garbage))
    garbage[n_valid + is_garbage] = np.array(GARBAGE_DATES, dtype=object)[picks]
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return Injected(
        rows=valid.concat(bad).take(order),
        number=number[order],
        valid_number=number[:n_valid],
        garbage=garbage[order],
        position=rank[n_valid:],
        kind=kind,
    )
