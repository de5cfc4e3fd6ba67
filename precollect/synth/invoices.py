"""Invoices of one chunk of customers, with their payment behaviour (fully vectorised)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from precollect.synth import calendar
from precollect.synth.customers import TERMS, Customers

BASE_LOGIT = -0.3
"""Intercept of the lateness model; sets the overall late share (about 27 %)."""
_SEGMENT_LOGIT = np.array([0.15, 0.05, 0.0])
"""Enterprises approve payments slowly: a little later at the same propensity."""
_LARGE_LOGIT = np.array([0.3, 0.6, 1.2])
"""Per segment: extra lateness per standard deviation an invoice lies above the customer's usual
amount (beyond ``_LARGE_FROM``); cash-strapped small firms struggle most with big bills."""
_LARGE_FROM = 0.7
_PAPER_LOGIT = np.array([0.2, 0.4, 1.2])
"""Per segment: paper invoices get lost or keyed late, mostly where accounts payable is manual."""
_MONTH_END_LOGIT = np.array([1.5, 0.8, 0.0])
"""Per segment: invoices issued after a monthly AP cut-off wait for the next payment run."""
_DISPUTED_LOGIT = 4.0
_DISPUTE_BASE = -3.2
"""Intercept of the dispute model (about 3.5 % of invoices are disputed)."""


@dataclass(frozen=True)
class Invoices:
    """Invoice rows as parallel arrays; days are integers since 1970-01-01."""

    customer: np.ndarray
    """Customer number (1-based, as in the id ``C000001``)."""
    issue: np.ndarray
    due: np.ndarray
    cents: np.ndarray
    currency: np.ndarray
    paper: np.ndarray
    disputed: np.ndarray
    paid: np.ndarray
    is_open: np.ndarray

    def __len__(self) -> int:
        return len(self.customer)

    def take(self, index: np.ndarray) -> Invoices:
        """The rows at ``index``, in that order."""
        return Invoices(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def concat(self, other: Invoices) -> Invoices:
        """These rows followed by ``other``'s."""
        return Invoices(
            **{
                f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                for f in fields(self)
            }
        )


@dataclass(frozen=True)
class Settlement:
    """How each invoice gets paid: the day it is (or would be) settled and in how many parts."""

    settle: np.ndarray
    never: np.ndarray
    parts: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def deterioration(c: Customers, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Extra lateness (logit) of each row's customer on ``day``: ramps up, may ramp down."""
    rise = np.clip((day - c.onset[cust]) / c.ramp[cust], 0.0, 1.0)
    fall = np.clip((day - c.recovery[cust]) / c.recovery_ramp[cust], 0.0, 1.0)
    return c.shift[cust] * rise * (1.0 - fall)


def _month_end(days: np.ndarray) -> np.ndarray:
    """Issued in the last three days of a month (after many customers' AP cut-off)."""
    return calendar.month(days + 3) != calendar.month(days)


def _terms(rng: np.random.Generator, c: Customers, cust: np.ndarray) -> np.ndarray:
    """Each customer's usual term, with an occasional one-off different term."""
    other = TERMS[rng.integers(0, len(TERMS), len(cust))]
    return np.where(rng.random(len(cust)) < 0.06, other, c.term[cust])


def _delay(
    rng: np.random.Generator,
    c: Customers,
    cust: np.ndarray,
    z: np.ndarray,
    rows: Invoices,
) -> np.ndarray:
    """Days from due date to settlement (negative = early) from the lateness model."""
    n = len(cust)
    due = rows.due.astype(np.float64)
    drift = deterioration(c, cust, due)
    december = calendar.month(rows.due) == 12
    segment = c.segment[cust]
    logit = (
        BASE_LOGIT
        + 1.5 * c.propensity[cust]
        + _SEGMENT_LOGIT[segment]
        + _LARGE_LOGIT[segment] * np.maximum(z - _LARGE_FROM, 0.0)
        + _PAPER_LOGIT[segment] * rows.paper
        + _MONTH_END_LOGIT[segment] * _month_end(rows.issue)
        + drift
        + 0.25 * december
        + _DISPUTED_LOGIT * rows.disputed
    )
    late = rng.random(n) < _sigmoid(logit)
    scale = 3.0 + 6.0 * np.log1p(np.exp(c.propensity[cust])) + 4.0 * drift
    late_days = 1 + np.floor(rng.gamma(1.3, scale)).astype(np.int64)
    late_days += np.where(rows.disputed, rng.integers(15, 90, n), 0)
    term = rows.due - rows.issue
    # A customer heading into trouble first stops paying early, then starts paying late.
    early_days = np.minimum(rng.poisson(c.early_days[cust] * np.exp(-drift)), term)
    return np.where(late, late_days, -early_days)


def make_invoices(
    rng: np.random.Generator,
    c: Customers,
    cust: np.ndarray,
    first: int,
    last: int,
    cum: np.ndarray,
) -> tuple[Invoices, Settlement]:
    """Invoices of the customers ``cust`` (0-based, one entry per invoice), ordered by issue day.

    ``first``/``last`` bound the ledger (days) and ``cum`` is the issue-day weight over them.
    """
    n = len(cust)
    issue = first + calendar.sample_days(
        rng, cum, c.first_day[cust] - first, c.last_day[cust] - first
    )
    z = rng.standard_normal(n)
    cents = np.maximum(500, np.round(np.exp(c.log_amount[cust] + c.amount_sigma[cust] * z) * 100))
    paper = c.paper[cust] ^ (rng.random(n) < 0.05)
    disputed = rng.random(n) < _sigmoid(_DISPUTE_BASE + 0.5 * z + 0.35 * c.propensity[cust])
    rows = Invoices(
        customer=cust.astype(np.int64) + 1,
        issue=issue,
        due=issue + _terms(rng, c, cust),
        cents=cents.astype(np.int64),
        currency=c.currency[cust],
        paper=paper,
        disputed=disputed,
        paid=np.zeros(n, dtype=np.int64),
        is_open=np.zeros(n, dtype=bool),
    )
    return settle(rng, c, cust, z, rows, last)


def settle(
    rng: np.random.Generator,
    c: Customers,
    cust: np.ndarray,
    z: np.ndarray,
    rows: Invoices,
    last: int,
) -> tuple[Invoices, Settlement]:
    """How each invoice of ``rows`` gets paid (or never), and what is open on ``last``.

    ``z`` is each amount's deviation (log, in standard deviations) from the customer's usual.
    """
    n = len(cust)
    issue = rows.issue
    disputed = rows.disputed
    cents = rows.cents
    delay = _delay(rng, c, cust, z, rows)
    day = calendar.to_business_day(rows.due + delay, delay > 0)
    day = np.maximum(day, issue)
    never_p = 0.002 + 0.03 * _sigmoid(2.0 * (c.propensity[cust] - 2.5)) + 0.04 * disputed
    never = rng.random(n) < never_p
    day = np.where(never, rows.due + 60 + rng.integers(0, 120, n), day)
    multi_p = 0.04 + 0.05 * (c.segment[cust] == 2) + 0.04 * _sigmoid(c.propensity[cust])
    u = rng.random(n)
    parts = np.where(cents >= 2_000, 1 + (u < multi_p) + (u < 0.3 * multi_p), 1)
    is_open = never | (day > last)
    rows = replace(rows, paid=np.where(is_open, 0, day), is_open=is_open)
    order = np.lexsort((rows.customer, rows.issue))
    plan = Settlement(settle=day[order], never=never[order], parts=parts[order])
    return rows.take(order), plan


MONTHLY_TERMS = 25
"""Statements fall due about 25 days after they are issued."""
_WINTER = np.array([1.3, 1.25, 1.1, 1.0, 0.9, 0.85, 0.85, 0.85, 0.9, 1.0, 1.15, 1.3])
"""January..December: what a monthly bill weighs against the customer's usual."""


def monthly_counts(c: Customers, first: int, last: int) -> np.ndarray:
    """Statements each customer gets: one per month of its active span (its own cycle day)."""
    cycle = _cycle_day(c)
    months = np.arange(int(_month_index(first)), int(_month_index(last)) + 1)
    days = _month_start(months)[None, :] + cycle[:, None]
    active = (days >= c.first_day[:, None]) & (days <= c.last_day[:, None])
    return active.sum(axis=1).astype(np.int64)


def _cycle_day(c: Customers) -> np.ndarray:
    """Each customer's statement day of the month (0-based, spread by the customer's number)."""
    return (np.arange(len(c)) * 7919) % 28


def _month_index(day: int | np.ndarray) -> np.ndarray:
    return np.asarray(day).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def make_monthly_invoices(
    rng: np.random.Generator, c: Customers, cust: np.ndarray, first: int, last: int
) -> tuple[Invoices, Settlement]:
    """Monthly statements of the customers ``cust`` (one entry per statement, as counted by
    :func:`monthly_counts`), ordered by issue day: consumer or utility receivables."""
    n = len(cust)
    cycle = _cycle_day(c)[cust]
    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]]) if n else np.zeros(0, int)
    nth = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    # the first active month of each customer, then one statement a month
    first_month = _month_index(np.maximum(c.first_day[cust] - cycle, first))
    first_issue = _month_start(first_month) + cycle
    first_month = np.where(first_issue < c.first_day[cust], first_month + 1, first_month)
    issue = _month_start(first_month + nth) + cycle
    month = (first_month + nth) % 12
    z = rng.standard_normal(n)
    bill = np.exp(c.log_amount[cust] + c.amount_sigma[cust] * z) * _WINTER[month]
    rows = Invoices(
        customer=cust.astype(np.int64) + 1,
        issue=issue,
        due=issue + MONTHLY_TERMS,
        cents=np.maximum(500, np.round(bill * 100)).astype(np.int64),
        currency=c.currency[cust],
        paper=c.paper[cust],
        disputed=rng.random(n) < 0.01,
        paid=np.zeros(n, dtype=np.int64),
        is_open=np.zeros(n, dtype=bool),
    )
    return settle(rng, c, cust, z, rows, last)
