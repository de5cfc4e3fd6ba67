"""Payments settling the invoices of one chunk, some in two or three instalments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from precollect.synth.invoices import Invoices, Settlement

MAX_PARTS = 3


@dataclass(frozen=True)
class Payments:
    """Payment rows: the invoice row (index into the chunk's invoices), day and amount in cents."""

    row: np.ndarray
    day: np.ndarray
    cents: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


def make_payments(
    rng: np.random.Generator, invoices: Invoices, plan: Settlement, last: int
) -> Payments:
    """Instalments dated up to ``last``; a paid invoice's last one falls on its paid date.

    Earlier instalments fall between issue and settlement; every part is at least a tenth of the
    amount, so an invoice is covered only by its final instalment. Invoices that are never settled
    lose their final instalment, and instalments after ``last`` are not written.
    """
    n = len(invoices)
    slot = np.arange(MAX_PARTS)
    active = slot[None, :] < plan.parts[:, None]
    final = slot[None, :] == plan.parts[:, None] - 1
    weight = np.where(active, rng.uniform(0.3, 1.0, (n, MAX_PARTS)), 0.0)
    share = weight / weight.sum(axis=1, keepdims=True)
    cents = np.floor(share * invoices.cents[:, None]).astype(np.int64)
    cents = np.where(active & ~final, cents, 0)
    cents = np.where(final, invoices.cents[:, None] - cents.sum(axis=1, keepdims=True), cents)
    span = (plan.settle - invoices.issue)[:, None]
    steps = np.sort(rng.random((n, MAX_PARTS)), axis=1)
    days = np.where(final, plan.settle[:, None], invoices.issue[:, None] + np.floor(steps * span))
    days = days.astype(np.int64)
    keep = active & (days <= last) & ~(final & plan.never[:, None])
    row, part = np.nonzero(keep)
    day = days[row, part]
    order = np.lexsort((row, day))
    return Payments(row=row[order], day=day[order], cents=cents[row, part][order])
