"""Simulated contact effects: what a reminder or a call before the due date would do.

The ledger the generator writes is the world without outreach. With ``contact_effects``, it
also writes each customer's true effect beside it (``true_effects.csv``), for a backtest to
apply to the contacts a ranking makes:

- a share of customers never respond (more of the habitual late payers: they pay on their own
  schedule whatever they are told);
- the others pay an invoice due within ``window_days`` after the contact earlier by their own
  number of days (heterogeneous: gamma-distributed, mean 8 days for a call; a reminder moves a
  random 20-60 % of that), never before the day after the contact.

The effects come from their own random stream: the same seed writes the same ledger with and
without them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from precollect.synth.customers import Customers

WINDOW_DAYS = 14
EFFECT_COLUMNS = (
    "customer_id",
    "responds",
    "days_earlier_call",
    "days_earlier_reminder",
    "window_days",
)


def contact_effects(rng: np.random.Generator, customers: Customers, ids: list[str]) -> pd.DataFrame:
    """One row per customer: :data:`EFFECT_COLUMNS`."""
    n = len(customers)
    habit = 1.0 / (1.0 + np.exp(-(customers.propensity - 1.0)))
    never = rng.random(n) < 0.15 + 0.45 * habit
    call = np.where(never, 0.0, rng.gamma(2.0, 4.0, n))
    reminder = call * rng.uniform(0.2, 0.6, n)
    return pd.DataFrame(
        {
            "customer_id": ids,
            "responds": ~never,
            "days_earlier_call": np.round(call, 1),
            "days_earlier_reminder": np.round(reminder, 1),
            "window_days": WINDOW_DAYS,
        }
    )


def read_effects(folder: Path) -> pd.DataFrame:
    """The true effects written beside a generated ledger.

    Raises:
        FileNotFoundError: the ledger was generated without ``--contact-effects``.
    """
    path = Path(folder) / "true_effects.csv"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: generate the ledger with precollect synth --contact-effects"
        )
    return pd.read_csv(path, dtype={"customer_id": str})
