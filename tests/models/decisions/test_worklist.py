"""Worklist rules and constraints on a hand-built batch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.decisions.playbook import WorklistConfig, load_config
from models.decisions.worklist import build_worklist

AS_OF = pd.Timestamp("2025-03-31")


def batch() -> tuple[pd.DataFrame, pd.DataFrame]:
    invoices = pd.DataFrame(
        {
            "invoice_id": ["D1", "O1", "P1", "H1", "M1", "L1", "H2"],
            "customer_id": ["disp", "late", "plan", "high", "mid", "low", "high2"],
            "p_late": [0.5, 1.0, 0.9, 0.8, 0.4, 0.1, 0.7],
            "risk_band": ["medium", "overdue", "high", "high", "medium", "low", "high"],
            "amount_at_risk": [500, 9000, 90000, 8000, 400, 10, 7000],
            "disputed": [1.0, 0, 0, 0, 0, 0, 0],
            "late_share_trend": [0, 0, 0.3, 0, 0, 0, 0.0],
        }
    )
    accounts = pd.DataFrame(
        {
            "customer_id": ["disp", "late", "plan", "high", "mid", "low", "high2"],
            "risk": [0.5, None, 0.9, 0.8, 0.4, 0.1, 0.7],
            "risk_band": ["medium", "overdue", "high", "high", "medium", "low", "high"],
            "open_amount": [1000, 0, 100000, 10000, 1000, 100, 10000],
            "overdue_open_amount": [0, 9000, 0, 0, 0, 0, 0],
            "amount_at_risk_total": [500, 9000, 90000, 8000, 400, 10, 7000],
            "top_reason": ["r"] * 7,
        }
    )
    return invoices, accounts


def test_playbook_treatments_and_ranking() -> None:
    work = build_worklist(*batch(), WorklistConfig(capacity=10), as_of=AS_OF)
    assert list(work["customer_id"]) == ["plan", "late", "high", "high2", "disp", "mid", "low"]
    treatment = dict(zip(work["customer_id"], work["treatment"], strict=True))
    assert treatment == {
        "plan": "payment_plan",
        "late": "escalate",
        "high": "personal_call",
        "high2": "personal_call",
        "disp": "dispute_resolution",
        "mid": "reminder_before_due",
        "low": "automated_reminder",
    }
    assert work["contact"].all()


def test_capacity_frequency_cap_and_do_not_contact() -> None:
    contacts = pd.DataFrame(
        {
            "customer_id": ["high"] * 3 + ["late"],
            "contacted_at": pd.to_datetime(
                ["2025-03-29", "2025-03-30", "2025-03-31", "2025-03-01"], utc=True
            ),
        }
    )
    flags = pd.DataFrame({"customer_id": ["plan"], "do_not_contact": [True], "queue": [None]})
    config = WorklistConfig(capacity=2, max_contacts=3)
    work = build_worklist(*batch(), config, contacts=contacts, flags=flags, as_of=AS_OF).set_index(
        "customer_id"
    )
    assert not work.loc["plan", "contact"] and "do-not-contact" in work.loc["plan", "skip_reason"]
    assert (
        not work.loc["high", "contact"] and "3 times in 7 days" in work.loc["high", "skip_reason"]
    )
    assert work.loc["late", "contact"]  # a contact 30 days ago does not count
    assert work.loc["high2", "contact"]
    assert not work.loc["disp", "contact"] and "capacity" in work.loc["disp", "skip_reason"]
    assert work.loc["low", "contact"]  # automated: no capacity used
    assert int(work["contact"].sum()) == 3


def test_per_queue_capacity_and_rules_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "playbook.toml"
    path.write_text("""
[worklist]
capacity = 5
queue_capacity = { east = 1 }

[[rules]]
treatment = "escalate"
reason = "overdue"
overdue = true

[[rules]]
treatment = "call"
reason = "anything else"
""")
    config = load_config(path)
    flags = pd.DataFrame(
        {
            "customer_id": ["plan", "high"],
            "do_not_contact": [False, False],
            "queue": ["east", "east"],
        }
    )
    work = build_worklist(*batch(), config, flags=flags, as_of=AS_OF).set_index("customer_id")
    assert set(work["treatment"]) == {"escalate", "call"}
    assert work.loc["plan", "contact"] and not work.loc["high", "contact"]
    assert "queue east" in work.loc["high", "skip_reason"]
    assert int(work["contact"].sum()) == 5


def test_a_stored_worklist_read_later_follows_new_flags_and_contacts() -> None:
    from models.decisions.worklist import enforce_contact_rules, read_end

    config = WorklistConfig(capacity=10, max_contacts=2, contact_window_days=7)
    work = build_worklist(*batch(), config, as_of=AS_OF).assign(as_of=AS_OF.date())
    assert work["contact"].all()
    flags = pd.DataFrame({"customer_id": ["plan"], "do_not_contact": [True], "queue": [None]})
    later = AS_OF + pd.Timedelta(days=3)  # contacts posted after the worklist's day count
    contacts = pd.DataFrame(
        {
            "customer_id": ["high", "high", "mid", "low"],
            "contacted_at": [later, later, later, AS_OF - pd.Timedelta(days=30)],
        }
    )
    end = read_end(AS_OF.date(), later + pd.Timedelta(hours=1))
    assert end == later + pd.Timedelta(hours=1)
    now = enforce_contact_rules(work, config, contacts, flags, end).set_index("customer_id")
    assert not now.loc["plan", "contact"] and "do-not-contact" in now.loc["plan", "skip_reason"]
    assert not now.loc["high", "contact"] and now.loc["high", "skip_reason"] == (
        "contacted 2 times in 7 days"
    )
    assert now.loc["mid", "contact"] and now.loc["low", "contact"]  # under the cap; too old
    assert int(now["contact"].sum()) == len(work) - 2
    # the worklist's own day still ends the window when it is read before that day is over
    assert read_end(AS_OF.date(), AS_OF) == AS_OF + pd.Timedelta(days=1)
