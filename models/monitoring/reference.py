"""The training reference a monitor compares with, stored with the model when it is logged.

It is the population the model will score, as it stood before training: the invoices open (and
not yet overdue) at the training date and every :data:`STEP_DAYS` days before it for about
:data:`WEEKS` weeks, with their features as of each date. Five days apart, the dates fall on
every weekday (seven apart they would all be the same weekday, and features such as the days
since the last payment, paid on business days, would drift every other day of the week). Per feature and for the score it keeps decile bins and their
shares (:mod:`models.monitoring.drift`), and the confidence-based performance the scores
promise (:mod:`models.monitoring.performance`), so later populations are compared like for
like. Only dates on or before the training date are read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.build import History, open_amounts, scoring_set
from features.catalogue import describe
from features.labels import UNKNOWN
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.monitoring.drift import describe_column
from models.monitoring.performance import estimated

WEEKS = 8
STEP_DAYS = 5
VERSION = 1
INFO_KEY = "reference"
"""Where the reference lives in ``LatePaymentModel.info`` (also logged as ``reference.json``)."""


def scored_population(
    ledger: Ledger, days: list[pd.Timestamp], grace_days: int, history: History | None = None
) -> pd.DataFrame:
    """Features of the invoices the model scores (open, not yet overdue) at each of ``days``."""
    history = history or History.from_ledger(ledger, grace_days)
    frames = [scoring_set(ledger, day, grace_days=grace_days, history=history) for day in days]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        return frame
    return frame[frame["label_status"] == UNKNOWN].reset_index(drop=True)


def reference_days(as_of: pd.Timestamp, weeks: int = WEEKS) -> list[pd.Timestamp]:
    """The dates pooled, oldest first, ending at ``as_of``."""
    as_of = pd.Timestamp(as_of).normalize()
    count = 7 * weeks // STEP_DAYS + 1
    return [as_of - pd.Timedelta(days=STEP_DAYS * k) for k in range(count - 1, -1, -1)]


def build_reference(
    ledger: Ledger,
    model: LatePaymentModel,
    as_of: pd.Timestamp,
    *,
    weeks: int = WEEKS,
    history: History | None = None,
) -> dict[str, Any]:
    """The reference of ``model`` trained as of ``as_of`` (JSON-ready).

    The weeks end at the ledger's last issue date when that comes first: a ledger extracted
    long after its last invoice has nothing (or only stragglers) open at the extraction date."""
    last_issue = pd.Timestamp(ledger.invoices["issue_date"].max()).normalize()
    end = min(pd.Timestamp(as_of).normalize(), last_issue)
    days = reference_days(end, weeks)
    frame = scored_population(ledger, days, model.grace_days, history)
    features = [f for f in model.features if f in frame]
    p = model.predict_proba(frame) if len(frame) else np.zeros(0)
    owed = open_amounts(frame) if len(frame) else np.zeros(0)
    return {
        "version": VERSION,
        "as_of": str(pd.Timestamp(as_of).date()),
        "days": [str(d.date()) for d in days],
        "rows": len(frame),
        "features": {name: describe_column(frame[name]) for name in features},
        "groups": {name: describe(name).group for name in features},
        "score": describe_column(pd.Series(p, dtype="float64")),
        "estimated": estimated(p, owed) if len(frame) else {},
    }
