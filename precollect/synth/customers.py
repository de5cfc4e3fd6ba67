"""Synthetic customers: the written attributes plus the latent payment behaviour behind them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pyarrow as pa

from precollect.synth import calendar
from precollect.synth.ids import format_ids, id_width, pick_strings

SEGMENTS = ("enterprise", "mid-market", "smb")
_SEGMENT_P = np.array([0.1, 0.3, 0.6])
_RATE = np.array([5.0, 2.5, 1.0])
"""Relative invoicing rate per segment."""
_RATE_SD = 0.45
"""Spread (log) of the invoicing rate between customers of a segment."""
_AMOUNT = np.array([3_000.0, 2_200.0, 1_500.0])
"""Usual invoice amount per segment: enterprises order more often, not much bigger orders."""
_PAPER_P = np.array([0.1, 0.25, 0.45])

COUNTRIES = ("US", "CA", "AU", "GB", "DE", "FR", "NL", "IE", "ES")
_COUNTRY_P = np.array([0.55, 0.07, 0.02, 0.12, 0.08, 0.06, 0.04, 0.03, 0.03])
CURRENCIES = ("USD", "EUR", "GBP")
_HOME_CURRENCY = np.array([0, 0, 0, 2, 1, 1, 1, 1, 1])
"""Index into ``CURRENCIES`` of each country's own currency."""

TERMS = np.array([15, 30, 45, 60])
_TERM_P = np.array([[0.02, 0.38, 0.30, 0.30], [0.08, 0.60, 0.20, 0.12], [0.20, 0.65, 0.10, 0.05]])

CHANNELS = ("electronic", "paper")

_CUSTOMER_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("country", pa.string()),
        ("segment", pa.string()),
        ("credit_limit", pa.float64()),
        ("customer_since", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class Customers:
    """One entry per customer; days are integers since 1970-01-01."""

    segment: np.ndarray
    country: np.ndarray
    currency: np.ndarray
    since: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    rate: np.ndarray
    log_amount: np.ndarray
    amount_sigma: np.ndarray
    term: np.ndarray
    paper: np.ndarray
    credit_limit: np.ndarray
    propensity: np.ndarray
    early_days: np.ndarray
    onset: np.ndarray
    ramp: np.ndarray
    shift: np.ndarray
    recovery: np.ndarray
    recovery_ramp: np.ndarray

    def __len__(self) -> int:
        return len(self.segment)


_HABIT_P = np.array([[0.82, 0.1, 0.08], [0.7, 0.12, 0.18], [0.6, 0.12, 0.28]])
"""Per segment: shares of reliable, occasional and chronic late payers. Small firms run tighter
on cash, so more of them pay on their own schedule rather than on the terms."""
_HABIT_CENTRE = np.array([-2.2, -0.6, 2.4])
"""Propensity at the centre of each habit: on time ~95 %, late ~35 %, late ~97 % of the time."""
_HABIT_SPREAD = np.array([0.35, 0.4, 0.35])
_SIZE_SD = 0.25
"""Spread (log) of customers' usual invoice amount within a segment."""
_SIZE_EFFECT = 1.5
"""Within a segment, customers with larger usual invoices are sounder payers (per log unit)."""
_AMOUNT_SIGMA = (0.15, 0.4)
"""Range of each customer's spread (log) of invoice amounts around its usual amount: most
invoices are repeat orders of a similar size."""
_TROUBLE = np.array([0.4, 1.0, 1.4])
"""Relative chance per segment of running into lasting payment trouble (larger firms have more
buffer)."""
_CHRONIC_FROM = 1.0
"""Propensity above which a customer already pays late nearly always."""
_DETERIORATION_SHARE = 0.12
_DETERIORATION_ONSET = (0.3, 0.9)
"""Onset range, as fractions of the customer's active span."""
_DETERIORATION_RAMP = (60.0, 240.0)
"""Days over which a deterioration builds up to its full shift."""
_DETERIORATION_SHIFT = (2.5, 4.0)
_RECOVERY_P = 0.4


def _propensity(rng: np.random.Generator, segment: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Latent, persistent lateness on a logit scale: each customer's payment habit.

    Most customers pay on time nearly always; a clear minority (more of them small firms) pay
    late nearly always, which their history shows. ``size`` is the customer's log usual
    amount relative to its segment.
    """
    n = len(segment)
    habit = (rng.random(n)[:, None] > np.cumsum(_HABIT_P[segment], axis=1)).sum(axis=1)
    habit = np.minimum(habit, len(_HABIT_CENTRE) - 1)
    noise = _HABIT_SPREAD[habit] * rng.standard_normal(n)
    return _HABIT_CENTRE[habit] + noise - _SIZE_EFFECT * size


def _deterioration(
    rng: np.random.Generator,
    segment: np.ndarray,
    propensity: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Onset, ramp, logit shift and recovery of the customers whose payments get worse.

    Only customers who were not already chronic late payers can visibly get worse.
    """
    n = len(first)
    span = last - first
    chance = _DETERIORATION_SHARE * _TROUBLE[segment] * (propensity < _CHRONIC_FROM)
    hit = (rng.random(n) < chance) & (span > 240)
    onset = first + rng.uniform(*_DETERIORATION_ONSET, n) * span
    ramp = rng.uniform(*_DETERIORATION_RAMP, n)
    shift = np.where(hit, rng.uniform(*_DETERIORATION_SHIFT, n), 0.0)
    recovers = rng.random(n) < _RECOVERY_P
    recovery = np.where(recovers, onset + ramp + rng.uniform(120, 400, n), np.inf)
    recovery_ramp = rng.uniform(60, 180, n)
    return onset, ramp, shift, recovery, recovery_ramp


def make_customers(rng: np.random.Generator, n: int, first_day: int, last_day: int) -> Customers:
    """Draw ``n`` customers whose invoicing falls between ``first_day`` and ``last_day``."""
    segment = rng.choice(3, size=n, p=_SEGMENT_P)
    country = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P)
    currency = np.where(rng.random(n) < 0.9, _HOME_CURRENCY[country], 0)
    established = rng.random(n) < 0.7
    before = first_day - 1 - np.floor(rng.exponential(3 * 365.25, n)).astype(np.int64)
    joined = rng.integers(first_day, max(first_day + 1, last_day - 60), n)
    since = np.where(established, before, joined)
    start = np.maximum(since, first_day)
    churned = rng.random(n) < 0.07
    stop = np.where(
        churned, start + 90 + (rng.random(n) * (last_day - start - 90)).astype(np.int64), last_day
    )
    stop = np.clip(stop, start, last_day)
    rate = _RATE[segment] * rng.lognormal(0.0, _RATE_SD, n)
    size = _SIZE_SD * rng.standard_normal(n)
    log_amount = np.log(_AMOUNT[segment]) + size
    amount_sigma = rng.uniform(*_AMOUNT_SIGMA, n)
    term_pick = (rng.random(n)[:, None] > np.cumsum(_TERM_P[segment], axis=1)).sum(axis=1)
    term = TERMS[np.minimum(term_pick, len(TERMS) - 1)]
    paper = rng.random(n) < _PAPER_P[segment]
    monthly = rate / rate.mean() * np.exp(log_amount + amount_sigma**2 / 2)
    credit = np.round(monthly * term / 30 * rng.uniform(1.5, 4.0, n), -2).clip(1_000, None)
    propensity = _propensity(rng, segment, size)
    early = np.where(rng.random(n) < 0.25, rng.uniform(2, 10, n), 0.3)
    onset, ramp, shift, recovery, recovery_ramp = _deterioration(
        rng, segment, propensity, start, stop
    )
    return Customers(
        segment=segment,
        country=country,
        currency=currency,
        since=since,
        first_day=start,
        last_day=stop,
        rate=rate,
        log_amount=log_amount,
        amount_sigma=amount_sigma,
        term=term,
        paper=paper,
        credit_limit=credit,
        propensity=propensity,
        early_days=early,
        onset=onset,
        ramp=ramp,
        shift=shift,
        recovery=recovery,
        recovery_ramp=recovery_ramp,
    )


def invoice_counts(
    rng: np.random.Generator, customers: Customers, n_invoices: int, cum: np.ndarray, first: int
) -> np.ndarray:
    """Split ``n_invoices`` over customers by rate times invoicing volume while active."""
    lo = customers.first_day - first
    hi = customers.last_day - first
    weight = customers.rate * (cum[hi + 1] - cum[lo])
    return rng.multinomial(n_invoices, weight / weight.sum())


def customer_width(n_customers: int) -> int:
    """Digits of customer ids; leaves room for unknown ids above ``n_customers``."""
    return id_width(2 * n_customers + 1, 6)


def customers_table(customers: Customers) -> pa.Table:
    """The customers table as written to ``customers.parquet``."""
    n = len(customers)
    ids = format_ids("C", np.arange(1, n + 1), customer_width(n))
    since = customers.since.astype("datetime64[D]").astype("datetime64[us]")
    return pa.Table.from_arrays(
        [
            ids,
            pick_strings(COUNTRIES, customers.country),
            pick_strings(SEGMENTS, customers.segment),
            pa.array(customers.credit_limit, type=pa.float64()),
            pa.array(since, type=pa.timestamp("us")),
        ],
        schema=_CUSTOMER_SCHEMA,
    )


@dataclass(frozen=True)
class SegmentShift:
    """From ``day`` on, every customer of ``segment`` pays as a deteriorating one does, at once
    and for good (for the simulated month: a shift the monitor must catch)."""

    segment: str
    day: date
    logit: float = 4.0


def shift_segment(c: Customers, change: SegmentShift) -> Customers:
    """``c`` with the segment's lateness raised by ``change.logit`` on invoices due from its day
    (the deterioration model's onset, with no ramp and no recovery)."""
    hit = c.segment == SEGMENTS.index(change.segment)
    day = float(calendar.to_day(change.day))
    return replace(
        c,
        onset=np.where(hit, day - 1, c.onset),  # full from the day itself
        ramp=np.where(hit, 1.0, c.ramp),
        shift=np.where(hit, c.shift + change.logit, c.shift),
        recovery=np.where(hit, np.inf, c.recovery),
    )
