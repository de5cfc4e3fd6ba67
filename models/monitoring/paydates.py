"""Pay-date intervals and the cash forecast, judged as their outcomes become known.

At each past origin d (a week, two, ... before T), the invoices open at d are forecast with
their features as of d. By T the first ``(T - d) / 7`` weeks of collections are known, so the
forecast's WAPE over those weeks is; an interval is judged once its last day has passed (paid
inside it or not), which selects on the forecast, never on the outcome. Origins before the
pay-date model's own cutoff are left out: its fit saw those outcomes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.build import History, open_amounts, scoring_set
from features.ledger.ledger import Ledger
from models.paydates.backtest import _weeks_of, wape
from models.paydates.forecast import cash_forecast
from models.paydates.hazard import PayDateModel
from models.paydates.intervals import covered, day_bounds
from models.paydates.predict import interval

SIMULATIONS = 50


def paydate_checks(
    ledger: Ledger,
    as_of: pd.Timestamp,
    model: PayDateModel,
    weeks: int = 4,
    history: History | None = None,
) -> list[dict[str, Any]]:
    """One row per origin ``as_of - 7k`` (k = 1..weeks): interval coverage of the intervals
    already over, and weekly collections WAPE over the weeks already over."""
    as_of = pd.Timestamp(as_of).normalize()
    cutoff = pd.Timestamp(model.info.get("cutoff", pd.Timestamp.min)).normalize()
    history = history or History.from_ledger(ledger)
    paid = ledger.invoices.drop_duplicates("invoice_id").set_index("invoice_id")["paid_date"]
    out = []
    for k in range(1, weeks + 1):
        origin = as_of - pd.Timedelta(days=7 * k)
        if origin < cutoff:
            continue
        features = scoring_set(ledger, origin, history=history)
        if features.empty:
            continue
        when = pd.to_datetime(paid.reindex(features["invoice_id"]).to_numpy())
        days = np.asarray((when - origin).days, dtype="float64")
        days[~(when <= as_of)] = np.nan  # not paid by T (a payment after T is unknown)
        cdf = model.cdf(features)
        lo, _, hi = interval(model, cdf, features["days_until_due"].to_numpy("float64"))
        _, last = day_bounds(lo, hi)
        over = last <= 7 * k
        owed = open_amounts(features)
        forecast = cash_forecast(
            cdf, owed, features["customer_id"].to_numpy(), origin, weeks=k, simulations=SIMULATIONS
        )
        actual = _weeks_of(days, owed)[:k]
        expected = forecast.weekly["expected"].to_numpy()[:k]
        out.append(
            {
                "origin": str(origin.date()),
                "weeks_known": k,
                "intervals_judged": int(over.sum()),
                "coverage": float(covered(lo[over], hi[over], days[over]).mean())
                if over.any()
                else None,
                "wape": wape(actual, expected),
                "collected": float(actual.sum()),
                "forecast": float(expected.sum()),
            }
        )
    return out
