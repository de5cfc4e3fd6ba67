"""Customer messages: customer-facing words only, tone by segment, instalments that add up,
and ``precollect messages`` writing a mail merge and a JSON from a stored worklist."""

from __future__ import annotations

import itertools
import json
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from message_words import INTERNAL_WORDS

from serving.messages import (
    CHANNELS,
    TEMPLATES,
    TONES,
    Facts,
    instalments,
    messages_for,
    render,
)


def facts(treatment: str, tone: str, overdue: bool) -> Facts:
    due = date(2025, 12, 10) if overdue else date(2026, 1, 5)
    return Facts("C000186", "INV-1", 5715.0, due, 8200.5, 2, date(2025, 12, 20), treatment, tone)


@pytest.mark.parametrize(
    ("treatment", "channel"),
    list(itertools.product([*CHANNELS, "some_new_treatment"], ["email", "sms", "call"])),
)
def test_no_message_says_an_internal_word(treatment: str, channel: str) -> None:
    for tone, overdue in itertools.product(("friendly", "neutral", "firm"), (False, True)):
        subject, body = render(facts(treatment, tone, overdue), channel)
        text = f"{subject}\n{body}"
        for word in INTERNAL_WORDS:
            assert word.lower() not in text.lower(), (treatment, channel, tone, word, text)
        if treatment != "dispute_resolution":
            assert "5,715.00 EUR" in text and "INV-1" in text
        if channel == "email":
            assert subject
        if overdue and treatment != "dispute_resolution":
            assert "was due on 10 December 2025" in text
        elif treatment != "dispute_resolution":
            assert "5 January 2026" in text


def test_every_template_file_is_used_by_a_treatment_or_is_a_default() -> None:
    for path in TEMPLATES.glob("*/*.j2"):
        channel, treatment = path.parent.name, path.stem
        assert treatment == "default" or channel in CHANNELS.get(treatment, ()), path


def test_tone_follows_the_segment() -> None:
    work = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "invoice_id": ["I1", "I2", "I3"],
            "treatment": ["reminder_before_due"] * 3,
            "contact": [True] * 3,
            "segment": ["reliable", "chronic", None],
        }
    )
    out = messages_for(work, scored()).query("channel == 'email'").set_index("customer_id")
    assert out["tone"].to_dict() == {"C1": "friendly", "C2": "firm", "C3": "neutral"}
    assert out.loc["C1", "body"].startswith("Hello,")
    assert "Please make sure the payment reaches us by" in out.loc["C2", "body"]
    assert set(TONES.values()) == {"friendly", "neutral", "firm"}


def test_instalments_add_up_to_the_balance_in_cents() -> None:
    plan = instalments(100.0, date(2026, 1, 5))
    assert plan == [(date(2026, 1, 5), 33.33), (date(2026, 2, 4), 33.33), (date(2026, 3, 6), 33.34)]
    assert round(sum(a for _, a in instalments(8200.55, date(2026, 1, 5))), 2) == 8200.55


def scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "invoice_id": ["I1", "I1b", "I2", "I3", "I4"],
            "customer_id": ["C1", "C1", "C2", "C3", "C4"],
            "as_of": pd.Timestamp("2025-12-20"),
            "open_amount": [1000.0, 500.0, 200.0, 300.0, 60000.0],
            "amount_at_risk": [500.0, 100.0, 50.0, 30.0, 30000.0],
            "days_until_due": [16.0, 30.0, 5.0, -10.0, 20.0],
        }
    )


def test_messages_for_the_accounts_to_contact() -> None:
    work = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "invoice_id": ["I1", "I2", "I3", "I4"],
            "treatment": ["personal_call", "automated_reminder", "escalate", "payment_plan"],
            "contact": [True, False, True, True],  # C2 is not to be contacted today
        }
    )
    out = messages_for(work, scored())
    assert sorted(zip(out["customer_id"], out["channel"], strict=True)) == [
        ("C1", "call"),
        ("C1", "email"),
        ("C3", "call"),
        ("C3", "email"),
        ("C4", "call"),
        ("C4", "email"),
    ]
    c1 = out[(out["customer_id"] == "C1") & (out["channel"] == "email")].iloc[0]
    assert c1["due_date"] == "2026-01-05" and "1 other open invoice;" in c1["body"]
    assert "open balance is 1,500.00 EUR" in c1["body"]
    plan = json.loads(out[out["customer_id"] == "C4"].iloc[0]["instalments"])
    assert plan == [
        {"date": "2026-01-09", "amount": 20000.0},
        {"date": "2026-02-08", "amount": 20000.0},
        {"date": "2026-03-10", "amount": 20000.0},
    ]
    assert json.loads(out[out["customer_id"] == "C1"].iloc[0]["instalments"]) == []


def test_the_messages_command_writes_a_mail_merge_and_json(tmp_path: Path) -> None:
    from fake_batches import fake_batch
    from service_helpers import run_cli

    from models.decisions.worklist import build_worklist
    from serving.store.store import ScoreStore

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = ScoreStore(url)
    store.migrate()
    as_of = pd.Timestamp("2025-12-20")
    batch = fake_batch(60, seed=3)
    store.write_batch(as_of=as_of, model_version="1", p_base=0.3, **batch)
    invoices = store.batch_frames(as_of, "1")["invoice_scores"]
    accounts = batch["accounts"].assign(as_of=as_of)
    work = build_worklist(invoices.assign(late_share_trend=0.0), accounts, as_of=as_of)
    store.write_worklist(as_of, "1", work)
    store.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECOLLECT_")}
    env.update(PRECOLLECT_DATABASE_URL=url, PRECOLLECT_WORKLIST_CURRENCY="GBP")
    out = tmp_path / "messages"
    done = run_cli(env, "messages", "--as-of", "2025-12-20", "--out", str(out))
    assert done.returncode == 0, done.stderr
    merge = pd.read_csv(out / "messages.csv")
    records = json.loads((out / "messages.json").read_text())
    assert len(merge) == len(records) > 0
    assert set(merge["customer_id"]) <= set(work.loc[work["contact"], "customer_id"])
    assert (merge["currency"] == "GBP").all()
    for record in records:
        text = f"{record['subject']}\n{record['body']}".lower()
        assert not [w for w in INTERNAL_WORDS if w.lower() in text], record
    assert "messages for" in done.stderr and "Traceback" not in done.stderr


def test_a_dispute_message_names_the_disputed_invoice() -> None:
    invoices = scored().assign(disputed=[0.0, 1.0, 0.0, 0.0, 0.0])
    work = pd.DataFrame(
        {
            "customer_id": ["C1"],
            "invoice_id": ["I1"],  # the worklist's lead: the most at risk, not the disputed one
            "treatment": ["dispute_resolution"],
            "contact": [True],
        }
    )
    out = messages_for(work, invoices)
    assert set(out["invoice_id"]) == {"I1b"}
    assert all("invoice I1b for 500.00 EUR" in body for body in out["body"])
