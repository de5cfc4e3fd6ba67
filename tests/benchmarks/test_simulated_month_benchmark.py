"""A simulated month, unattended (issue 19 item 5): score every morning, retrain every week,
monitor every day. At day 15 the small firms start paying much later.

Prints, day by day, the monitor's alert kinds and the out-of-time ROC-AUC of the morning's
scores (the invoices open and not yet due that day, judged afterwards by how they were paid) for
the model served (retrained weekly) and for the model frozen before the month. The target: the
first retrain that follows the shift's alert brings the served AUC back to within 0.02 of the
frozen model's before the shift.

Run with ``pytest -s -m benchmark tests/benchmarks/test_simulated_month_benchmark.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from simulated_month import morning_scores
from sklearn.metrics import roc_auc_score

from features.labels import final_days_late
from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.model import LatePaymentModel
from models.monitoring.monitor import SCORE_COLUMNS, monitor_at
from models.monitoring.reference import INFO_KEY, build_reference
from models.training.train import train_on_ledger
from precollect.synth import SegmentShift, generate_ledger

pytestmark = pytest.mark.benchmark

START = pd.Timestamp("2025-12-01")
DAYS = 30
SHIFT_DAY = 15
RETRAIN_EVERY = 7
SEGMENT = "smb"
RETRAIN_DAYS = [k for k in range(2, DAYS + 1) if (k - 1) % RETRAIN_EVERY == 0]
"""Days 8, 15, 22 and 29: the weekly retrain, before the morning run."""


def _served(ledger: Ledger, as_of: pd.Timestamp) -> LatePaymentModel:
    model = train_on_ledger(ledger, as_of=as_of).model
    return replace(model, info={**model.info, INFO_KEY: build_reference(ledger, model, as_of)})


def _auc(scores: pd.DataFrame, late: pd.Series) -> float:
    ahead = scores[~scores["overdue"]]
    y = late.reindex(ahead["invoice_id"]).to_numpy()
    known = ~pd.isna(y)
    y = y[known].astype(bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, ahead["p_late"].to_numpy()[known]))


def test_simulated_month(tmp_path: Path) -> None:
    shift_day = START + pd.Timedelta(days=SHIFT_DAY - 1)
    generate_ledger(
        tmp_path,
        n_customers=200,
        n_invoices=24_000,
        seed=5,
        start=date(2024, 1, 1),
        end=date(2026, 3, 31),  # followed long enough to judge the month's invoices
        segment_shift=SegmentShift(SEGMENT, shift_day.date()),
    )
    ledger = load_ledger(tmp_path)
    invoices = ledger.invoices.set_index("invoice_id")
    late = (final_days_late(invoices.reset_index()) > 0).set_axis(invoices.index)
    late = late.where(invoices["paid_date"].notna(), True)  # still unpaid at the end: late
    frozen = _served(ledger, START - pd.Timedelta(days=1))
    served, trained_on = frozen, START - pd.Timedelta(days=1)
    stored: list[pd.DataFrame] = []
    rows = []
    for k in range(1, DAYS + 1):
        day = START + pd.Timedelta(days=k - 1)
        if k in RETRAIN_DAYS:
            served, trained_on = _served(ledger, day - pd.Timedelta(days=1)), day
        morning = morning_scores(ledger, served, day)
        stored.append(morning)
        scores = pd.concat(stored, ignore_index=True)[list(SCORE_COLUMNS)]
        report = monitor_at(ledger, day, served, scores=scores)
        kinds = sorted({a["kind"] for a in report["alerts"]})
        segment_alert = any(
            a["kind"] == "segment_lateness" and a.get("segment") == SEGMENT
            for a in report["alerts"]
        )
        rows.append(
            {
                "day": k,
                "date": day.date(),
                "model_trained": trained_on.date(),
                "auc_served": _auc(morning, late),
                "auc_frozen": _auc(
                    morning if served is frozen else morning_scores(ledger, frozen, day), late
                ),
                "segment_alert": segment_alert,
                "alerts": ",".join(kinds),
            }
        )
    month = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\n" + month.to_string(index=False, float_format="{:.3f}".format))
    before = month[month["day"] < SHIFT_DAY]["auc_frozen"].mean()
    flagged = month[(month["day"] >= SHIFT_DAY) & month["segment_alert"]]["day"]
    first_alert = int(flagged.min()) if len(flagged) else None
    after = [k for k in RETRAIN_DAYS if first_alert is not None and k > first_alert]
    print(f"frozen model's AUC before the shift (days 1-{SHIFT_DAY - 1}): {before:.3f}")
    print(f"segment alert first raised on day {first_alert} (shift on day {SHIFT_DAY})")
    for k in after:
        week = month[(month["day"] >= k) & (month["day"] < k + RETRAIN_EVERY)]
        served_auc, frozen_auc = week["auc_served"].mean(), week["auc_frozen"].mean()
        print(
            f"retrain of day {k}: served AUC {served_auc:.3f} over days {k}-{week['day'].max()} "
            f"(frozen {frozen_auc:.3f}); {served_auc - before:+.3f} against before the shift"
        )
    assert np.isfinite(before) and len(month) == DAYS
    assert first_alert is not None and first_alert < SHIFT_DAY + 4, "the shift went unseen"
    first = month[(month["day"] >= after[0]) & (month["day"] < after[0] + RETRAIN_EVERY)]
    assert abs(first["auc_served"].mean() - before) <= 0.02, "the retrain did not restore the AUC"
