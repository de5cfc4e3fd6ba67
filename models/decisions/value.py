"""The expected value of a pre-due contact, in plain arithmetic.

    EV = P(late) x uplift x (open amount x days of lateness avoided x daily cost of capital
                             + expected loss avoided) - contact cost

- ``P(late)``: the model's calibrated probability (an account's: its invoices' amount-weighted
  risk).
- ``uplift``: the share of late payments the treatment turns into on-time ones: a documented prior
  per treatment (:data:`models.decisions.playbook.DEFAULT_TREATMENTS`, until measured outcomes
  replace it) times its **reach** on the invoice, ``min(1, days earlier / days late if late)``
  (:func:`reach`): a nudge that moves a payment 10 days earlier cannot make a payment 40 days
  late an on-time one.
- ``days of lateness avoided``: the days the invoice would be late if late, at most the days the
  treatment moves a payment earlier (:func:`days_late_if_late`, :func:`days_avoided`).
- ``expected loss avoided``: open amount x the share of a late invoice that is never paid.
- ``contact cost``: per channel (a call costs more than an e-mail).

An account's EV is the sum of its invoices' EVs less one contact cost; :func:`account_terms`
folds the invoices into one line of the same formula, so the words shown add up to the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_DAYS_LATE = 180.0
"""Days late are capped here: beyond it an invoice counts as lost, not as slow."""


def daily_rate(annual_cost_of_capital: float) -> float:
    """The daily cost of capital of an annual rate (simple interest over 365 days)."""
    return annual_cost_of_capital / 365.0


def days_late_if_late(
    expected_days_late: np.ndarray,
    mean_days_late: np.ndarray,
    late_share: np.ndarray,
    default_days: float,
) -> np.ndarray:
    """Days an invoice would be late, if it is late.

    From the pay-date model's expected pay date when known (``expected_days_late``: expected pay
    date minus due date); else the customer's mean lateness over the last 365 days divided by
    its late share (the mean lateness of the late ones); else ``default_days``. At least 1 day
    (it is late) and at most :data:`MAX_DAYS_LATE`.
    """
    expected = np.asarray(expected_days_late, dtype="float64")
    mean = np.asarray(mean_days_late, dtype="float64")
    share = np.asarray(late_share, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        history = np.where(share > 0, mean / share, np.nan)
    days = np.where(
        np.isfinite(expected), expected, np.where(np.isfinite(history), history, default_days)
    )
    return np.clip(days, 1.0, MAX_DAYS_LATE)


def days_avoided(days_late: np.ndarray, days_earlier: float) -> np.ndarray:
    """Days of lateness a treatment that moves payment ``days_earlier`` days avoids."""
    return np.minimum(np.asarray(days_late, dtype="float64"), float(days_earlier))


def reach(days_late: np.ndarray, days_earlier: float) -> np.ndarray:
    """The share of an invoice's late outcomes within a treatment's reach:
    ``min(1, days_earlier / days late if late)``."""
    days = np.asarray(days_late, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(days > 0, float(days_earlier) / days, 1.0)
    return np.clip(share, 0.0, 1.0)


def invoice_value(
    p_late: np.ndarray,
    uplift: np.ndarray,
    open_amount: np.ndarray,
    days: np.ndarray,
    rate: float,
    loss_share: np.ndarray,
) -> np.ndarray:
    """Per invoice, the benefit before the contact cost: p x uplift x (A x d x r + A x loss)."""
    amount = np.asarray(open_amount, dtype="float64")
    return (
        np.asarray(p_late, dtype="float64")
        * np.asarray(uplift, dtype="float64")
        * (amount * np.asarray(days, dtype="float64") * rate + amount * np.asarray(loss_share))
    )


@dataclass(frozen=True)
class ValueTerms:
    """One account's EV in the formula's terms (the words behind the figure)."""

    p_late: float
    uplift: float
    open_amount: float
    days: float
    rate: float
    loss: float
    cost: float
    channel: str

    @property
    def ev(self) -> float:
        return (
            self.p_late * self.uplift * (self.open_amount * self.days * self.rate + self.loss)
            - self.cost
        )

    def words(self) -> str:
        """``EV 41.20 = 62% late x 15% uplift x (12,000.00 x 9.0 days x 0.027%/day + 240.00
        loss avoided) - 8.00 call``."""
        return (
            f"EV {self.ev:,.2f} = {self.p_late:.0%} late × {self.uplift:.0%} uplift × "
            f"({self.open_amount:,.2f} × {self.days:.1f} days × {self.rate:.3%}/day + "
            f"{self.loss:,.2f} loss avoided) − {self.cost:,.2f} {self.channel}"
        )


def account_terms(
    invoices: pd.DataFrame, uplift: float, rate: float, cost: float, channel: str
) -> ValueTerms:
    """Fold an account's invoices (columns ``p_late``, ``open_amount``, ``days``,
    ``loss_share``, optionally ``reach``) into one line of the formula whose EV is the sum of
    theirs less one cost.

    With ``u_i = uplift x reach_i``: P(late) is the amount-weighted risk, the uplift the
    (risk x amount)-weighted u_i, the days the (risk x amount x u_i)-weighted days, and the loss
    the expected loss avoided if late: then p x u x (A x d x r + L) equals the sum of the
    invoices' p_i x u_i x (A_i x d_i x r + A_i x l_i) exactly.
    """
    amount = invoices["open_amount"].to_numpy("float64")
    p = invoices["p_late"].to_numpy("float64")
    each = uplift * (
        invoices["reach"].to_numpy("float64") if "reach" in invoices else np.ones(len(p))
    )
    total = float(amount.sum())
    weight = p * amount
    at_risk = float(weight.sum())
    p_late = at_risk / total if total > 0 else 0.0
    lifted = weight * each
    u = float(lifted.sum()) / at_risk if at_risk else uplift
    spread = float(lifted.sum())
    days = float((lifted * invoices["days"].to_numpy("float64")).sum()) / spread if spread else 0.0
    loss_if_late = (
        float((lifted * invoices["loss_share"].to_numpy("float64")).sum()) / (p_late * u)
        if p_late and u
        else 0.0
    )
    return ValueTerms(p_late, u, total, days, rate, loss_if_late, cost, channel)
