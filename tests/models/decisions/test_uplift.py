"""The uplift report by hand on a tiny worklist history, and ``precollect uplift`` on a store."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from models.decisions.promises import payments_of
from models.decisions.uplift import uplift_report, uplift_units

OBSERVED = pd.Timestamp("2025-12-01")
INVOICES = pd.DataFrame(
    {
        "invoice_id": ["IA1", "IA2", "IA3", "IB1", "IB2", "IC1"],
        "customer_id": ["A1", "A2", "A3", "B1", "B2", "C1"],
        "issue_date": pd.to_datetime(["2025-10-01"] * 6),
        "due_date": pd.to_datetime(
            ["2025-11-10", "2025-11-10", "2025-11-20", "2025-11-10", "2025-11-10", "2025-10-20"]
        ),
        "amount": [100.0, 200.0, 50.0, 100.0, 100.0, 70.0],
    }
)
PAYMENTS = pd.DataFrame(
    {
        "payment_id": ["P1", "P2", "P3", "P4", "P5"],
        "invoice_id": ["IA1", "IA2", "IA3", "IB1", "IB2"],
        "payment_date": pd.to_datetime(
            ["2025-11-08", "2025-11-15", "2025-11-05", "2025-11-20", "2025-12-05"]
        ),  # IB2's payment comes after the observed day: still unpaid
        "amount": [100.0, 200.0, 50.0, 100.0, 100.0],
    }
)
CONTACTS = pd.DataFrame(
    {
        "customer_id": ["A1", "B1"],
        "contacted_at": pd.to_datetime(["2025-11-02T09:00:00Z", "2025-10-30T09:00:00Z"], utc=True),
    }
)  # B1's contact came before its worklist day: not this outreach


def worklists() -> pd.DataFrame:
    day1, day2 = pd.Timestamp("2025-11-01"), pd.Timestamp("2025-11-02")
    return pd.DataFrame(
        {
            "as_of": [day1] * 6 + [day2],
            "customer_id": ["A1", "A2", "A3", "B1", "B2", "C1", "A1"],
            "invoice_id": ["IA1", "IA2", "IA3", "IB1", "IB2", "IC1", "IA1"],
            "arm": ["treatment"] * 3 + ["control"] * 2 + ["treatment", "control"],
        }
    )  # C1's invoice was overdue already (not pre-due); A1 counts on its first day only


def test_units_and_report_by_hand() -> None:
    units = uplift_units(
        worklists(), INVOICES, payments_of(INVOICES, PAYMENTS), CONTACTS, OBSERVED
    ).set_index("customer_id")
    assert sorted(units.index) == ["A1", "A2", "A3", "B1", "B2"]
    assert units.loc["A1", "arm"] == "treatment"
    assert units["late"].to_dict() == {"A1": 0, "A2": 1, "A3": 0, "B1": 1, "B2": 1}
    assert units["days_late"].to_dict() == {"A1": 0, "A2": 5, "A3": 0, "B1": 10, "B2": 21}
    assert units["collected_before_due"].to_dict() == {
        "A1": 100,
        "A2": 0,
        "A3": 50,
        "B1": 0,
        "B2": 0,
    }
    assert units["contacted"].to_dict() == {"A1": 1, "A2": 0, "A3": 0, "B1": 0, "B2": 0}

    table = uplift_report(units.reset_index(), draws=500).table.set_index("arm")
    treated, control, gap = (table.loc[a] for a in ("treatment", "control", "difference"))
    assert treated["late"] == pytest.approx(1 / 3) and control["late"] == 1.0
    assert treated["days_late"] == pytest.approx(5 / 3) and control["days_late"] == 15.5
    assert treated["collected_before_due"] == 50.0 and control["collected_before_due"] == 0.0
    assert gap["late"] == pytest.approx(-2 / 3) and gap["collected_before_due"] == 50.0
    for arm in ("treatment", "control", "difference"):
        row = table.loc[arm]
        for metric in ("late", "days_late", "collected_before_due"):
            assert row[f"{metric}_low"] <= row[metric] <= row[f"{metric}_high"], (arm, metric)
    assert control["late_low"] == control["late_high"] == 1.0  # every control account late
    again = uplift_report(units.reset_index(), draws=500).table.set_index("arm")
    pd.testing.assert_frame_equal(table, again)  # seeded: the same report twice


def test_invoices_not_yet_due_at_the_observed_day_are_left_out_of_lateness() -> None:
    units = uplift_units(
        worklists(), INVOICES, payments_of(INVOICES, PAYMENTS), CONTACTS, pd.Timestamp("2025-11-15")
    ).set_index("customer_id")
    assert pd.isna(units.loc["A3", "late"])  # due the 20th: not known on the 15th
    assert units.loc["A2", "days_late"] == 5  # paid on the 15th itself


def test_without_arms_every_account_is_treatment_and_the_report_says_so() -> None:
    units = uplift_units(
        worklists().drop(columns="arm"),
        INVOICES,
        payments_of(INVOICES, PAYMENTS),
        CONTACTS,
        OBSERVED,
    )
    assert set(units["arm"]) == {"treatment"}
    report = uplift_report(units, draws=200, arm_recorded=False)
    assert any("no arm column" in n for n in report.notes)
    assert any("cannot be estimated" in n for n in report.notes)
    assert pd.isna(report.table.set_index("arm").loc["difference", "late"])


def test_the_uplift_command_on_a_small_store(store_url: str, tmp_path: Path) -> None:
    import sqlalchemy as sa
    from service_helpers import run_cli

    from serving.store import tables
    from serving.store.store import ScoreStore

    folder = tmp_path / "ledger"
    folder.mkdir()
    INVOICES.assign(
        issue_date=INVOICES["issue_date"].dt.date, due_date=INVOICES["due_date"].dt.date
    ).to_csv(folder / "invoices.csv", index=False)
    known = PAYMENTS[PAYMENTS["payment_date"] <= OBSERVED]  # the ledger ends on the 1st
    known.assign(payment_date=known["payment_date"].dt.date).to_csv(
        folder / "payments.csv", index=False
    )
    (folder / "ledger.toml").write_text('[ledger]\nextracted_at = "2025-12-01"\n')
    store = ScoreStore(store_url)
    store.migrate()
    work = worklists().drop(columns="arm")
    with store.engine.begin() as connection:
        for day, version, created in (
            ("2025-11-01", "old", datetime(2025, 11, 1, 5, tzinfo=UTC)),
            ("2025-11-01", "new", datetime(2025, 11, 1, 6, tzinfo=UTC)),
            ("2025-11-02", "new", datetime(2025, 11, 2, 6, tzinfo=UTC)),
        ):
            connection.execute(
                sa.insert(tables.batches).values(
                    as_of=pd.Timestamp(day).date(),
                    model_version=version,
                    created_at=created,
                    invoices=1,
                    accounts=1,
                    p_base=0.3,
                )
            )
    for day in ("2025-11-01", "2025-11-02"):
        rows = work[work["as_of"] == day].assign(
            rank=lambda f: range(1, len(f) + 1),
            queue="default",
            treatment="reminder_before_due",
            treatment_reason="test",
            amount_at_risk=1.0,
            contact=True,
        )
        store.write_worklist(pd.Timestamp(day), "new", rows)
    stale = rows.assign(customer_id="ZZ", invoice_id="IA1")  # the older batch of the 1st
    store.write_worklist(pd.Timestamp("2025-11-01"), "old", stale)
    store.record_contact("A1", datetime(2025, 11, 2, 9, tzinfo=UTC), "phone", outcome="reached")
    store.engine.dispose()

    env = {k: v for k, v in os.environ.items() if not k.startswith("PRECOLLECT_")}
    env.update(PRECOLLECT_DATABASE_URL=store_url)
    out = tmp_path / "units.csv"
    args = ["uplift", "--ledger", str(folder), "--from", "2025-11-01", "--to", "2025-11-30"]
    done = run_cli(env, *args, "--out", str(out), "--draws", "300")
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    assert "no arm column: every account counted as treatment" in said
    assert "percentile bootstrap" in said
    assert "treatment" in said and "60.0%" in said  # 3 of 5 accounts late
    units = pd.read_csv(out)
    assert sorted(units["customer_id"]) == ["A1", "A2", "A3", "B1", "B2"]  # not ZZ
    bad = run_cli(
        env, "uplift", "--ledger", str(folder), "--from", "2025-12-01", "--to", "2025-11-01"
    )
    assert bad.returncode == 1 and "is before" in bad.stderr and "Traceback" not in bad.stderr


def test_no_payments_and_no_contacts_leave_every_matured_invoice_late() -> None:
    unpaid = payments_of(INVOICES.assign(paid_date=pd.NaT), None)
    units = uplift_units(worklists(), INVOICES, unpaid, CONTACTS.iloc[:0], OBSERVED)
    assert (units["late"] == 1).all() and (units["contacted"] == 0).all()
    assert (units["collected_before_due"] == 0).all()
