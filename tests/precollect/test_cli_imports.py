"""``precollect import-contacts`` and ``import-flags`` on both stores: each test's first run
is a real CLI process (what a user's shell sees, stderr whole); the rest run in process, which
is the same command at a fraction of the start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from service_helpers import run_cli
from typer.testing import CliRunner

from precollect.cli import app
from serving.store.store import ScoreStore

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Ran:
    returncode: int
    stderr: str


def cli(store_url: str, *args: str, real: bool = False) -> Ran:
    """``precollect ARGS`` against the store at ``store_url``, with no other PRECOLLECT_*."""
    if real:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRECOLLECT_")}
        env.update(PRECOLLECT_DATABASE_URL=store_url, PYTHONPATH=str(ROOT))
        done = run_cli(env, *args, timeout=120)
        return Ran(done.returncode, done.stderr)
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("PRECOLLECT_")}
    result = CliRunner().invoke(
        app, list(args), env={**unset, "PRECOLLECT_DATABASE_URL": store_url, "COLUMNS": "200"}
    )
    return Ran(result.exit_code, result.stderr)


def refused(result: Ran) -> str:
    """The one-line error of a refused import (no traceback); returns it."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_contacts_import_is_all_or_nothing_and_idempotent(store_url: str, tmp_path: Path) -> None:
    file = tmp_path / "contacts.csv"
    file.write_text(
        "customer_id,contacted_at,channel,outcome\n"
        "C1,2025-12-24T23:30:00-05:00,call,Reached\n"
        "C2,2025-12-26 09:00,email,\n"
        "C3,2025-13-45,call,\n"
        "C4,yesterday,call,\n"
    )
    line = refused(cli(store_url, "import-contacts", str(file), real=True))
    assert "contacted_at must be an ISO 8601 date and time (lines 4, 5)" in line
    store = ScoreStore(store_url)
    store.migrate()
    assert store.contacts().empty  # rows 1-2 were good, yet nothing was stored
    file.write_text("\n".join(file.read_text().splitlines()[:3]) + "\n")
    first = cli(store_url, "import-contacts", str(file))
    assert first.returncode == 0 and "2 contacts recorded" in first.stderr, first.stderr
    again = cli(store_url, "import-contacts", str(file))
    assert again.returncode == 0 and "0 contacts recorded, 2 already" in again.stderr
    stored = store.contacts().sort_values("customer_id")
    assert stored["contacted_at"].tolist() == [
        pd.Timestamp("2025-12-25 04:30", tz="UTC"),  # its UTC instant, not 23:30
        pd.Timestamp("2025-12-26 09:00", tz="UTC"),
    ]
    missing = refused(cli(store_url, "import-contacts", str(tmp_path / "missing.csv")))
    assert "missing.csv: no such file" in missing


def test_outcomes_and_promises_import_all_or_nothing(store_url: str, tmp_path: Path) -> None:
    header = (
        "customer_id,contacted_at,channel,outcome,promised_date,promised_amount,idempotency_key\n"
    )
    good = [
        "C1,2025-12-01T10:00:00Z,call,promise to pay,2025-12-10,500,crm-1\n",
        "C2,2025-12-01T11:00:00Z,email,No answer,,,crm-2\n",
    ]
    file = tmp_path / "outcomes.csv"
    file.write_text(
        header
        + "".join(good)
        + "C3,2025-12-01T12:00:00Z,call,promised,,,crm-3\n"  # line 4: not an outcome
        + "C4,2025-12-01T12:00:00Z,call,promise_to_pay,,,crm-4\n"  # line 5: no date, amount
        + "C5,2025-12-01T12:00:00Z,call,reached,2025-12-10,10,crm-5\n"  # line 6: promise fields
        + "C6,2025-12-05T12:00:00Z,call,promise_to_pay,2025-12-01,10,crm-6\n"  # line 7: earlier
    )
    line = refused(cli(store_url, "import-contacts", str(file), real=True))
    assert "outcome must be empty or one of reached, no_answer" in line and "(line 4)" in line
    assert "needs promised_date (YYYY-MM-DD) and promised_amount (> 0) (line 5)" in line
    assert "go only with outcome promise_to_pay (line 6)" in line
    assert "promised_date is before the contact (line 7)" in line
    store = ScoreStore(store_url)
    store.migrate()
    assert store.contacts().empty
    file.write_text(header + "".join(good))
    assert cli(store_url, "import-contacts", str(file)).returncode == 0
    stored = store.contacts().set_index("customer_id")
    assert stored.loc["C1", "outcome"] == "promise_to_pay"
    assert str(stored.loc["C1", "promised_date"]) == "2025-12-10"
    assert stored.loc["C1", "promised_amount"] == 500.0
    assert stored.loc["C2", "outcome"] == "no_answer"
    # the same key with other content refuses the whole file, the new row included
    file.write_text(
        header
        + "C7,2025-12-02T10:00:00Z,call,reached,,,crm-7\n"
        + "C1,2025-12-01T10:00:00Z,call,promise_to_pay,2025-12-10,400,crm-1\n"
    )
    line = refused(cli(store_url, "import-contacts", str(file)))
    assert "idempotency_key already recorded with other content (line 3)" in line
    assert len(store.contacts()) == 2


def test_flags_are_parsed_strictly(store_url: str, tmp_path: Path) -> None:
    file = tmp_path / "flags.csv"
    file.write_text(
        "customer_id,do_not_contact,queue\nC1,yes ,\nC2, y,\nC3,x,\nC4,YES,legal\nC4,no,\n"
    )
    line = refused(cli(store_url, "import-flags", str(file), real=True))
    assert "do_not_contact must be one of yes, no" in line and "(lines 2, 3, 4)" in line
    assert "customer_id appears more than once (lines 5, 6)" in line
    no_column = tmp_path / "no-column.csv"
    no_column.write_text("customer_id,queue\nC1,legal\n")
    assert "missing columns do_not_contact" in refused(
        cli(store_url, "import-flags", str(no_column))
    )
    store = ScoreStore(store_url)
    store.migrate()
    assert store.flags().empty
    file.write_text("customer_id,do_not_contact,queue\nC1,Y,\nC2,0,legal\nC3,True,\n")
    assert cli(store_url, "import-flags", str(file)).returncode == 0
    flags = store.flags().set_index("customer_id")
    assert flags["do_not_contact"].to_dict() == {"C1": True, "C2": False, "C3": True}
    assert flags.loc["C2", "queue"] == "legal"
