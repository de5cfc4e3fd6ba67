"""Worklist queues, rules, EV ranking, experiment arms and constraints on a hand-built batch."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from models.decisions.playbook import PlaybookError, WorklistConfig, load_config
from models.decisions.worklist import build_worklist, in_control

AS_OF = pd.Timestamp("2025-03-31")
NO_CONTROL = WorklistConfig(control_share=0.0)


def batch() -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = ["disp", "late", "plan", "high", "mid", "low", "high2"]
    invoices = pd.DataFrame(
        {
            "invoice_id": ["D1", "O1", "P1", "H1", "M1", "L1", "H2"],
            "customer_id": ids,
            "as_of": AS_OF,
            "p_late": [0.5, 1.0, 0.9, 0.8, 0.4, 0.1, 0.7],
            "risk_band": ["medium", "overdue", "high", "high", "medium", "low", "high"],
            "open_amount": [1000.0, 9000, 100000, 10000, 1000, 100, 10000],
            "amount_at_risk": [500, 9000, 90000, 8000, 400, 10, 7000],
            "days_until_due": [5.0, -10, 7, 3, 10, 4, 6],
            "disputed": [1.0, 0, 0, 0, 0, 0, 0],
            "late_share_trend": [0, 0, 0.3, 0, 0, 0, 0.0],
            "late_share_365d": [float("nan")] * 7,
            "mean_days_late_365d": [float("nan")] * 7,
        }
    )
    accounts = pd.DataFrame(
        {
            "customer_id": ids,
            "risk": [0.5, None, 0.9, 0.8, 0.4, 0.1, 0.7],
            "risk_band": ["medium", "overdue", "high", "high", "medium", "low", "high"],
            "open_amount": [1000, 9000, 100000, 10000, 1000, 100, 10000],
            "amount_at_risk": [500, 9000, 90000, 8000, 400, 10, 7000],
            "top_reason": ["r"] * 7,
            "payer_segment": ["new", "chronic", "deteriorating", "occasional", "reliable"] * 1
            + ["reliable", "occasional"],
        }
    )
    return invoices, accounts


def test_queues_treatments_and_ev_ranking() -> None:
    work = build_worklist(*batch(), NO_CONTROL, as_of=AS_OF)
    # pre-due first (by EV, the automated low-risk account last), then dispute, then overdue
    assert list(work["customer_id"]) == ["plan", "high", "high2", "mid", "low", "disp", "late"]
    row = work.set_index("customer_id")
    assert dict(row["queue"]) == {
        "plan": "pre_due",
        "high": "pre_due",
        "high2": "pre_due",
        "mid": "pre_due",
        "low": "pre_due",
        "disp": "dispute",
        "late": "overdue",
    }
    assert dict(row["treatment"]) == {
        "plan": "payment_plan",
        "late": "escalate",
        "high": "personal_call",
        "high2": "personal_call",
        "disp": "dispute_resolution",
        "mid": "reminder_before_due",
        "low": "automated_reminder",
    }
    # no pay-date model, no late history: 15 days late, payment plan moves up to 14 days (reach
    # 14/15); 0.9 x 20% x 14/15 x (100,000 x 14 x 0.10/365 + 100,000 x 2%) - 8 = 392.44
    assert row.loc["plan", "expected_value"] == pytest.approx(392.44, abs=0.01)
    assert row.loc["plan", "value_reason"].startswith("EV 392.44 = 90% late × 19% uplift")
    # 0.4 x 8% x (1,000 x 5 x 0.10/365 + 20) - 1 < 0: the e-mail is not worth sending, but
    # by default the pre-due queue uses its capacity in EV order; with a floor it is not sent
    assert row.loc["mid", "expected_value"] < 0 and row.loc["mid", "contact"]
    floor = build_worklist(*batch(), replace(NO_CONTROL, min_expected_value=0.0), as_of=AS_OF)
    mid = floor.set_index("customer_id").loc["mid"]
    assert not mid["contact"] and mid["skip_reason"] == "expected value below 0.00"
    assert pd.isna(row.loc["disp", "expected_value"])  # EV ranks the pre-due queue only
    assert row.loc["low", "contact"]  # automated: no capacity, no EV gate
    assert row.loc["plan", "segment"] == "deteriorating"
    assert set(work["arm"]) == {"treatment", "none"}


def test_pre_due_is_served_first_and_each_queue_has_its_capacity() -> None:
    config = replace(
        NO_CONTROL, capacity=3, queue_capacity={"pre_due": 2, "dispute": 5, "overdue": 5}
    )
    work = build_worklist(*batch(), config, as_of=AS_OF).set_index("customer_id")
    assert work.loc["plan", "contact"] and work.loc["high", "contact"]
    assert not work.loc["high2", "contact"] and "queue pre_due" in work.loc["high2", "skip_reason"]
    # the dispute queue takes what is left of the total; the overdue queue finds none
    assert work.loc["disp", "contact"]
    assert not work.loc["late", "contact"] and "today's" in work.loc["late", "skip_reason"]
    roomy = replace(config, capacity=10, queue_capacity={"pre_due": 1, "overdue": 0})
    work = build_worklist(*batch(), roomy, as_of=AS_OF).set_index("customer_id")
    assert work.loc["plan", "contact"] and not work.loc["high", "contact"]
    assert work.loc["disp", "contact"] and not work.loc["late", "contact"]


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
    config = replace(NO_CONTROL, capacity=2, max_contacts=3)
    work = build_worklist(*batch(), config, contacts=contacts, flags=flags, as_of=AS_OF).set_index(
        "customer_id"
    )
    assert not work.loc["plan", "contact"] and "do-not-contact" in work.loc["plan", "skip_reason"]
    assert (
        not work.loc["high", "contact"] and "3 times in 7 days" in work.loc["high", "skip_reason"]
    )
    # its invoice was reminded of days ago: nothing left for a pre-due contact to be worth
    assert "no invoice due" in work.loc["high", "value_reason"]
    assert work.loc["high2", "contact"] and work.loc["mid", "contact"]  # pre-due first
    assert not work.loc["disp", "contact"] and "capacity" in work.loc["disp", "skip_reason"]
    assert not work.loc["late", "contact"] and "capacity" in work.loc["late", "skip_reason"]
    assert work.loc["low", "contact"]  # automated: no capacity used
    assert int(work["contact"].sum()) == 3


def test_collector_capacity_and_rules_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "playbook.toml"
    path.write_text("""
[worklist]
capacity = 5
collector_capacity = { east = 1 }
queue_capacity = { pre_due = 4 }
control_share = 0.0

[treatments.call]
channel = "call"
uplift = 0.5

[[rules]]
treatment = "escalate"
reason = "overdue"
queue = "overdue"
overdue = true

[[rules]]
treatment = "call"
reason = "chronic or deteriorating payers first"
segments = ["chronic", "deteriorating"]

[[rules]]
treatment = "call"
reason = "anything else"
""")
    config = load_config(path)
    assert config.queue_capacity["pre_due"] == 4 and config.queue_capacity["dispute"] == 10
    assert config.treatment("call").uplift == 0.5
    flags = pd.DataFrame(
        {
            "customer_id": ["plan", "high"],
            "do_not_contact": [False, False],
            "queue": ["east", "east"],
        }
    )
    work = build_worklist(*batch(), config, flags=flags, as_of=AS_OF).set_index("customer_id")
    assert set(work["treatment"]) == {"escalate", "call"}
    assert work.loc["plan", "treatment_reason"].startswith("chronic or deteriorating")
    assert work.loc["plan", "contact"] and not work.loc["high", "contact"]
    assert "collector east" in work.loc["high", "skip_reason"]
    assert work.loc["plan", "collector"] == "east"


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[worklist]\nqueue_capacity = { emea = 3 }", "collector_capacity"),
        ('[[rules]]\ntreatment = "x"\nreason = "y"\nqueue = "later"', "unknown queue"),
        ('[[rules]]\ntreatment = "x"\nreason = "y"\nsegments = ["vip"]', "unknown segments"),
        ('[treatments.x]\nchannel = "fax"', "no contact_cost"),
        ("[worklist]\ncontrol_share = 1.5", "control_share"),
    ],
)
def test_a_playbook_with_an_unknown_queue_segment_or_channel_is_refused(
    tmp_path: Path, toml: str, words: str
) -> None:
    path = tmp_path / "playbook.toml"
    path.write_text(toml)
    with pytest.raises(PlaybookError, match=words):
        load_config(path)


def test_the_control_arm_is_hash_seeded_and_near_its_share() -> None:
    ids = [f"C{i:05d}" for i in range(4000)]
    drawn = [in_control(c, "personal_call", "precollect", 0.10) for c in ids]
    assert drawn == [in_control(c, "personal_call", "precollect", 0.10) for c in ids]
    assert 0.08 < sum(drawn) / len(ids) < 0.12
    other_salt = [in_control(c, "personal_call", "other", 0.10) for c in ids]
    assert drawn != other_salt
    # every account in the control arm
    work = build_worklist(*batch(), replace(NO_CONTROL, control_share=0.999999), as_of=AS_OF)
    row = work.set_index("customer_id")
    assert row.loc["high", "arm"] == "control" and row.loc["high", "treatment"] == (
        "automated_reminder"
    )
    assert "control group" in row.loc["high", "treatment_reason"]
    assert row.loc["low", "arm"] == "none"  # already the default treatment: not in the test
    assert row.loc["disp", "arm"] == "none"  # not a pre-due account
    assert not work[work["arm"] == "control"]["contact"].isna().any()


def test_broken_promises_enter_their_queue_with_the_reason() -> None:
    broken = pd.DataFrame(
        {
            "customer_id": ["high"],
            "invoice_id": ["H1"],
            "promised_date": [pd.Timestamp("2025-03-20")],
            "promised_amount": [1200.0],
            "reason": ["payments covered 0.00 of 1,200.00 by the date"],
        }
    )
    work = build_worklist(*batch(), NO_CONTROL, as_of=AS_OF, broken_promises=broken)
    row = work.set_index("customer_id").loc["high"]
    assert row["queue"] == "promise_follow_up" and row["treatment"] == "promise_follow_up"
    assert row["treatment_reason"].startswith("promised 1,200.00 on 2025-03-20 for H1, broken")
    assert row["contact"]
    with pytest.raises(ValueError, match="reason"):
        build_worklist(*batch(), NO_CONTROL, broken_promises=broken.drop(columns="reason"))


def test_the_pay_date_model_sets_the_days_late() -> None:
    invoices, accounts = batch()
    pay = pd.DataFrame(
        {
            "invoice_id": ["H1"],
            "expected_pay_date": [AS_OF + pd.Timedelta(days=3 + 4)],  # 4 days after due
            "p_unpaid_180d_after_due": [0.0],
        }
    )
    work = build_worklist(invoices, accounts, NO_CONTROL, as_of=AS_OF, pay_dates=pay)
    high = work.set_index("customer_id").loc["high"]
    # 0.8 x 15% x (10,000 x 4 days x 0.10/365 + 0) - 8 = -6.68
    assert high["expected_value"] == pytest.approx(0.12 * 10_000 * 4 * 0.1 / 365 - 8, abs=0.01)
    assert "4.0 days" in high["value_reason"]


def test_a_stored_worklist_read_later_follows_new_flags_and_contacts() -> None:
    from models.decisions.worklist import enforce_contact_rules, read_end

    config = replace(NO_CONTROL, capacity=10, max_contacts=2, contact_window_days=7)
    work = build_worklist(*batch(), config, as_of=AS_OF).assign(as_of=AS_OF.date())
    contacted = set(work.loc[work["contact"], "customer_id"])
    assert contacted == {"plan", "high", "high2", "mid", "low", "disp", "late"}
    flags = pd.DataFrame({"customer_id": ["plan"], "do_not_contact": [True], "queue": [None]})
    later = AS_OF + pd.Timedelta(days=3)  # contacts posted after the worklist's day count
    contacts = pd.DataFrame(
        {
            "customer_id": ["high", "high", "disp", "low"],
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
    assert now.loc["disp", "contact"] and now.loc["low", "contact"]  # under the cap; too old
    assert int(now["contact"].sum()) == len(contacted) - 2
    # the worklist's own day still ends the window when it is read before that day is over
    assert read_end(AS_OF.date(), AS_OF) == AS_OF + pd.Timedelta(days=1)
