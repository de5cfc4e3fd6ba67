"""The simulated month's morning run, shared by its test and its benchmark."""

from __future__ import annotations

import pandas as pd

from features.build import scoring_set
from features.ledger.ledger import Ledger
from models.decisions.scoring import score_rows
from models.model import LatePaymentModel


def morning_scores(ledger: Ledger, model: LatePaymentModel, day: pd.Timestamp) -> pd.DataFrame:
    """The morning batch of ``day``, through the one scoring core (no explanation needed):
    the monitor's score columns, and whether each invoice is already overdue."""
    features = scoring_set(ledger, day, grace_days=model.grace_days)
    scored = score_rows(model, features, top=0)
    return pd.DataFrame(
        {
            "as_of": day,
            "invoice_id": features["invoice_id"].to_numpy(),
            "p_late": scored.p_late,
            "open_amount": scored.open_amount,
            "risk_band": scored.risk_band,
            "overdue": scored.overdue,
        }
    )
