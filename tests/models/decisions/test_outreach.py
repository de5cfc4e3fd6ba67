"""The outreach backtest on a hand-built day: EV ranking calls the account a call can help."""

from __future__ import annotations

import pandas as pd
import pytest

from features.ledger.ledger import Ledger
from models.decisions.outreach import Day, run_outreach_backtest
from models.decisions.playbook import WorklistConfig

DAY = pd.Timestamp("2025-06-02")
DUE = DAY + pd.Timedelta(days=5)


def _day() -> tuple[Day, Ledger, pd.DataFrame]:
    # A pays 8 days late: a call moving it 10 days earlier makes it on time. B, twice as big,
    # pays 40 days late: the same call cannot.
    invoices = pd.DataFrame(
        {
            "invoice_id": ["IA", "IB"],
            "customer_id": ["A", "B"],
            "as_of": DAY,
            "issue_date": DAY - pd.Timedelta(days=25),
            "due_date": DUE,
            "p_late": [0.9, 0.9],
            "risk_band": ["high", "high"],
            "open_amount": [100_000.0, 200_000.0],
            "amount_at_risk": [90_000.0, 180_000.0],
            "days_until_due": [5.0, 5.0],
            "disputed": [0.0, 0.0],
            "late_share_trend": [0.0, 0.0],
            "late_share_365d": [1.0, 1.0],
            "mean_days_late_365d": [8.0, 40.0],
        }
    )
    accounts = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "risk": [0.9, 0.9],
            "risk_band": ["high", "high"],
            "open_amount": [100_000.0, 200_000.0],
            "amount_at_risk": [90_000.0, 180_000.0],
            "top_reason": ["r", "r"],
            "payer_segment": ["chronic", "chronic"],
        }
    )
    ledger = Ledger(
        invoices=pd.DataFrame(
            {
                "invoice_id": ["IA", "IB"],
                "customer_id": ["A", "B"],
                "issue_date": DAY - pd.Timedelta(days=25),
                "due_date": DUE,
                "amount": [100_000.0, 200_000.0],
                "paid_date": [DUE + pd.Timedelta(days=8), DUE + pd.Timedelta(days=40)],
            }
        )
    )
    effects = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "responds": [True, True],
            "days_earlier_call": [10.0, 10.0],
            "days_earlier_reminder": [4.0, 4.0],
            "window_days": [14, 14],
        }
    )
    return Day(DAY, invoices, accounts), ledger, effects


def test_ev_ranking_prevents_what_amount_rankings_do_not() -> None:
    day, ledger, effects = _day()
    result = run_outreach_backtest(
        [day], ledger, effects, capacity=1, config=WorklistConfig(control_share=0.0)
    ).set_index("strategy")
    assert result["contacts"].tolist() == [1, 1, 1]
    assert result.loc["ev", "prevented"] == pytest.approx(100_000.0)  # A, now on time
    assert result.loc["probability_x_amount", "prevented"] == 0.0  # B: still late
    assert result.loc["amount_and_age", "prevented"] == 0.0
    # a customer who never responds is not moved at all
    deaf = effects.assign(days_earlier_call=0.0, responds=False)
    none = run_outreach_backtest(
        [day], ledger, deaf, capacity=2, config=WorklistConfig(control_share=0.0)
    )
    assert (none["prevented"] == 0).all()
