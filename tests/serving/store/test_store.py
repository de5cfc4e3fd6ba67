"""The score store on SQLite and PostgreSQL: idempotent batches, crash safety, lookups."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fake_batches import fake_batch

from serving.store import tables
from serving.store.store import ScoreStore, read_frame

AS_OF = pd.Timestamp("2025-01-31")
HERE = Path(__file__).parent
HELPERS = HERE.parents[1]


def write(store: ScoreStore, n: int, seed: int, version: str = "1") -> dict[str, pd.DataFrame]:
    batch = fake_batch(n, seed)
    store.write_batch(as_of=AS_OF, model_version=version, p_base=0.3, **batch)
    return batch


def test_rerun_replaces_the_batch_never_duplicates(store_url: str) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    store.migrate()  # migrating twice is harmless
    write(store, 500, seed=1)
    write(store, 300, seed=5)  # same as-of and model: replaces
    write(store, 200, seed=6, version="2")  # another model version: kept beside it
    batches = store.batches()
    assert len(batches) == 2
    frames = store.batch_frames(AS_OF, "1")
    assert len(frames["invoice_scores"]) == 300
    assert set(frames["invoice_scores"]["top_reason"]) == {"seed 5"}
    assert len(frames["reasons"]) == 300
    assert len(store.batch_frames(AS_OF, "2")["invoice_scores"]) == 200


def test_latest_scores_and_contacts(store_url: str) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    batch = write(store, 50, seed=1)
    invoice = batch["invoices"].iloc[3]
    found = store.latest_score("invoice", invoice["invoice_id"])
    assert found is not None and found["p_late"] == pytest.approx(invoice["p_late"])
    assert store.latest_score("invoice", "nope") is None
    account = batch["accounts"].iloc[0]
    assert (
        store.latest_score("account", account["customer_id"])["open_invoices"]
        == account["open_invoices"]
    )
    store.record_contact("C00001", datetime(2025, 1, 30, tzinfo=UTC), "call", outcome="reached")
    assert len(store.contacts(customer_id="C00001")) == 1


@pytest.mark.slow
def test_kill_mid_write_leaves_previous_batch_intact(store_url: str, tmp_path: Path) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    before = write(store, 1000, seed=1)
    marker = tmp_path / "writing"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")]),
    }
    child = subprocess.Popen(
        [sys.executable, str(HELPERS / "fake_batches.py"), store_url, str(marker), "60000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "the writer never started"
        time.sleep(0.05)
        # while the new batch is being written, readers still see the old one, whole
    during = store.batch_frames(AS_OF, "1")["invoice_scores"]
    assert len(during) == 1000 and set(during["top_reason"]) == {"seed 1"}
    time.sleep(0.3)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    after = ScoreStore(store_url)
    frames = after.batch_frames(AS_OF, "1")
    assert len(frames["invoice_scores"]) == len(before["invoices"])
    assert set(frames["invoice_scores"]["top_reason"]) == {"seed 1"}  # nothing of the killed batch
    assert len(frames["reasons"]) == len(before["reasons"])
    assert len(after.batches()) == 1
    write(after, 10, seed=3)  # and the store still takes the next batch
    assert len(after.batch_frames(AS_OF, "1")["invoice_scores"]) == 10


def test_object_columns_and_missing_values_are_stored(store_url: str) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    batch = fake_batch(30, seed=2)
    invoices = batch["invoices"].astype(object)
    invoices.loc[0, "segment"] = None
    invoices.loc[1, "raw_score"] = float("nan")
    reasons = batch["reasons"].astype(object)
    store.write_batch(
        as_of=AS_OF,
        model_version="1",
        p_base=0.3,
        invoices=invoices,
        accounts=batch["accounts"],
        reasons=reasons,
    )
    stored = store.batch_frames(AS_OF, "1")["invoice_scores"].set_index("invoice_id")
    first, second = invoices["invoice_id"].iloc[0], invoices["invoice_id"].iloc[1]
    assert pd.isna(stored.loc[first, "segment"]) and pd.isna(stored.loc[second, "raw_score"])
    assert stored["p_late"].sort_index().tolist() == pytest.approx(
        invoices.set_index("invoice_id")["p_late"].sort_index().astype(float).tolist()
    )
    assert len(store.batch_frames(AS_OF, "1")["reasons"]) == len(reasons)


def test_latest_score_is_from_the_batch_written_last(store_url: str) -> None:
    """Version "10" written after version "9" on the same day wins (a text order would say 9)."""
    store = ScoreStore(store_url)
    store.migrate()
    older = write(store, 20, seed=1, version="9")
    newer = write(store, 20, seed=2, version="10")
    invoice_id = older["invoices"]["invoice_id"].iloc[4]
    found = store.latest_score("invoice", invoice_id)
    assert found is not None and found["model_version"] == "10"
    expected = newer["invoices"].set_index("invoice_id").loc[invoice_id, "p_late"]
    assert found["p_late"] == pytest.approx(expected)
    customer = newer["accounts"]["customer_id"].iloc[0]
    assert store.latest_score("account", customer)["model_version"] == "10"  # type: ignore[index]


def test_the_migrations_build_exactly_the_declared_tables(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from serving.store import tables

    store = ScoreStore(store_url)
    store.migrate()
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), tables.metadata)
    assert differences == []


def test_contact_times_keep_their_utc_instant(store_url: str) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    eastern = datetime.fromisoformat("2025-12-24T23:30:00-05:00")
    store.record_contact("C1", eastern, "call")
    naive = datetime(2025, 12, 25, 4, 30)  # taken as UTC: the same instant, so the same key
    assert store.record_contact("C1", naive, "call")[1] is False
    store.record_contact("C1", naive, "email")
    stored = store.contacts(customer_id="C1")["contacted_at"].tolist()
    assert stored == [pd.Timestamp("2025-12-25 04:30", tz="UTC")] * 2
    since = datetime.fromisoformat("2025-12-24T23:59:00-05:00")  # 04:59 UTC: after both
    assert store.contacts(since=since, customer_id="C1").empty


def test_importing_contacts_twice_records_them_once(store_url: str) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C2"],
            "contacted_at": pd.to_datetime(
                ["2025-12-24T23:30:00-05:00", "2025-12-26T10:00:00Z", "2025-12-26T10:00:00Z"],
                utc=True,
            ),
            "channel": ["call", "call", "email"],
            "invoice_id": [None, "I1", None],
            "outcome": [None, None, "promise_to_pay"],
            "promised_date": [None, None, "2026-01-05"],
            "promised_amount": [None, None, 120.0],
        }
    )
    assert store.record_contacts(frame, recorded_by="csv import") == (3, 0)
    assert store.record_contacts(frame, recorded_by="csv import") == (0, 3)
    assert len(store.contacts()) == 3


def test_every_table_is_erasable_by_customer_or_holds_no_customer_data() -> None:
    from serving.store import tables

    for table in tables.metadata.sorted_tables:
        erasable = "customer_id" in table.c or table is tables.reasons
        assert erasable or table in tables.WITHOUT_CUSTOMER_DATA, table.name


def test_bulk_read_gives_what_read_sql_gives(store_url: str) -> None:
    """Batches are read back in bulk (rows straight from the driver); the frames are those
    of ``pd.read_sql``, missing values and types included."""
    import sqlalchemy as sa

    store = ScoreStore(store_url)
    store.migrate()
    batch = fake_batch(300, seed=4)
    batch["invoices"].loc[3, ["segment", "amount"]] = [None, float("nan")]
    store.write_batch(as_of=AS_OF, model_version="1", p_base=0.3, **batch)
    with store.engine.connect() as connection:
        for table in (*tables.BATCH_TABLES, tables.batches):
            query = sa.select(table)
            pd.testing.assert_frame_equal(
                read_frame(connection, query), pd.read_sql(query, connection)
            )


def test_monitor_runs_are_replaced_per_day_and_their_accounts_erased(store_url: str) -> None:
    store = ScoreStore(store_url)
    store.migrate()
    account = {
        "customer_id": "C1",
        "measure": "days_to_pay",
        "before": 30.0,
        "recent": 50.0,
        "change": 20.0,
        "severity": 2.0,
        "recent_invoices": 2,
        "before_invoices": 4,
    }
    report = {"as_of": "2024-06-30", "alerts": [{"kind": "score_drift", "psi": 0.3}]}
    store.write_monitoring({**report, "accounts": [account]}, "3")
    store.write_monitoring({**report, "accounts": [account, {**account, "customer_id": "C2"}]}, "3")
    store.write_monitoring({"as_of": "2024-06-29", "alerts": [], "accounts": []}, "3")
    runs = store.monitoring_runs()
    assert [str(d) for d in runs["as_of"]] == ["2024-06-30", "2024-06-29"]
    latest = store.monitoring_report()
    assert latest is not None and latest["report"]["alerts"] == report["alerts"]
    assert [a["customer_id"] for a in latest["report"]["accounts"]] == ["C1", "C2"]
    assert store.monitoring_report(pd.Timestamp("2024-06-29"))["report"]["accounts"] == []
    assert store.monitoring_report(pd.Timestamp("2024-01-01")) is None
    store.erase(["C1"], erased_by="test")
    assert [a["customer_id"] for a in store.monitoring_report()["report"]["accounts"]] == ["C2"]


def test_an_idempotency_key_stores_a_contact_once(store_url: str) -> None:
    from serving.store.store import ContactConflict

    store = ScoreStore(store_url)
    store.migrate()
    when = datetime.fromisoformat("2025-12-24T23:30:00-05:00")
    promise = {
        "outcome": "promise_to_pay",
        "promised_date": datetime(2025, 12, 31).date(),
        "promised_amount": 250.0,
        "idempotency_key": "crm-42",
    }
    first = store.record_contact("C1", when, "call", **promise)
    again = store.record_contact("C1", when.astimezone(UTC), "call", **promise)
    assert first[1] and again == (first[0], False)
    with pytest.raises(ContactConflict):
        store.record_contact("C1", when, "call", **{**promise, "promised_amount": 200.0})
    # without a key: who, when, how and which invoice make the key
    unkeyed = store.record_contact("C2", when, "email", outcome="reached")
    assert store.record_contact("C2", when, "email", outcome="reached") == (unkeyed[0], False)
    with pytest.raises(ContactConflict):
        store.record_contact("C2", when, "email", outcome="refused")
    stored = store.contacts()
    assert len(stored) == 2
    assert stored["contacted_at"].tolist() == [pd.Timestamp("2025-12-25 04:30", tz="UTC")] * 2


def test_a_conflicting_row_in_an_import_stores_nothing(store_url: str) -> None:
    from serving.store.store import ContactConflict

    store = ScoreStore(store_url)
    store.migrate()
    at = pd.Timestamp("2025-12-01 10:00", tz="UTC")
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C3"],
            "contacted_at": [at] * 4,
            "channel": ["call"] * 4,
            "outcome": ["reached", "reached", "reached", "refused"],  # row 3 contradicts row 2
            "idempotency_key": ["k1", "k2", "k3", "k3"],
        }
    )
    with pytest.raises(ContactConflict) as raised:
        store.record_contacts(frame, recorded_by="test")
    assert raised.value.positions == [3]
    assert store.contacts().empty
    assert store.record_contacts(frame.iloc[:3], recorded_by="test") == (3, 0)
    assert store.record_contacts(frame.iloc[[0, 0]], recorded_by="test") == (0, 2)


def test_revision_0004_keys_the_contacts_stored_before_it(store_url: str) -> None:
    """A store at revision 0002 with free-text outcomes: upgraded, its contacts are recognised."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from serving.store.store import MIGRATIONS

    store = ScoreStore(store_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    old = sa.table(
        "contacts",
        sa.column("customer_id"),
        sa.column("contacted_at", sa.DateTime(timezone=True)),
        sa.column("channel"),
        sa.column("outcome"),
    )
    at = datetime(2025, 12, 1, 10, tzinfo=UTC)
    with store.engine.begin() as connection:
        connection.execute(
            old.insert(),
            [
                {"customer_id": "C1", "contacted_at": at, "channel": "call", "outcome": "promised"},
                {"customer_id": "C1", "contacted_at": at, "channel": "call", "outcome": None},
                {"customer_id": "C2", "contacted_at": at, "channel": "call", "outcome": "paid"},
            ],
        )
    store.migrate()
    stored = store.contacts().sort_values("contact_id")
    assert stored["note"].tolist()[0] == "promised" and pd.isna(stored["outcome"].tolist()[0])
    assert stored["outcome"].tolist()[2] == "paid"
    assert stored["idempotency_key"].notna().all() and stored["idempotency_key"].is_unique
    frame = pd.DataFrame(
        {"customer_id": ["C2"], "contacted_at": [at], "channel": ["call"], "outcome": ["paid"]}
    )
    assert store.record_contacts(frame, recorded_by="test") == (0, 1)  # the same contact


def test_the_same_key_posted_at_once_from_many_threads_is_one_row(store_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = ScoreStore(store_url)
    store.migrate()
    when = datetime(2025, 12, 1, 9, tzinfo=UTC)

    def post(_: int) -> tuple[int, bool]:
        return store.record_contact("C1", when, "call", outcome="reached", idempotency_key="race")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(16)))
    assert len({contact_id for contact_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    assert len(store.contacts()) == 1


@pytest.mark.parametrize("marker_in_batch", [False, True])
def test_texts_come_back_exactly_as_written(store_url: str, marker_in_batch: bool) -> None:
    """Texts that a bulk format could mangle come back as written: empty, quotes, commas,
    tabs, newlines, backslashes, and COPY's NULL marker."""
    store = ScoreStore(store_url)
    store.migrate()
    batch = fake_batch(8, seed=5)
    awkward = ["", 'says "no", twice', "a\tb", "line\nbreak\r\n", "back\\slash", "ça", "x"]
    awkward.append("\\N" if marker_in_batch else "plain")
    invoices = batch["invoices"].assign(top_reason=awkward, segment=[None, *awkward[1:]])
    store.write_batch(as_of=AS_OF, model_version="1", p_base=0.3, **{**batch, "invoices": invoices})
    stored = store.batch_frames(AS_OF, "1")["invoice_scores"].set_index("invoice_id")
    stored = stored.loc[invoices["invoice_id"]]
    assert stored["top_reason"].tolist() == awkward
    assert pd.isna(stored["segment"].iloc[0]) and stored["segment"].iloc[1:].tolist() == awkward[1:]


def _row(table: sa.Table, **given: object) -> dict[str, object]:
    """A row of ``table`` with ``given`` values and a plain value in every other required column."""
    plain = {sa.Float: 0.0, sa.Integer: 0, sa.Date: AS_OF.date(), sa.Boolean: False}
    row: dict[str, object] = {}
    for column in table.columns:
        if column.name in given:
            row[column.name] = given[column.name]
        elif not column.nullable:
            kind = next((v for t, v in plain.items() if isinstance(column.type, t)), "x")
            row[column.name] = kind
    return row


def test_stored_accounts_keep_their_meaning_through_the_amounts_migration(store_url: str) -> None:
    """Revision 0009 renames the account amounts to one definition each; stored batches move."""
    store = ScoreStore(store_url)
    store.migrate("0008")
    old = sa.MetaData()
    accounts = sa.Table("account_scores", old, autoload_with=store.engine)
    invoices = sa.Table("invoice_scores", old, autoload_with=store.engine)
    key = {"as_of": AS_OF.date(), "model_version": "1"}
    with store.engine.begin() as connection:
        connection.execute(
            accounts.insert(),
            _row(
                accounts,
                **key,
                customer_id="C1",
                open_amount=300.0,  # the not-yet-due part, in the old meaning
                overdue_open_amount=200.0,
                amount_at_risk=60.0,
                amount_at_risk_total=260.0,
                open_invoices=1,  # the not-yet-due ones only
            ),
        )
        for invoice in ("I1", "I2", "I3"):
            connection.execute(
                invoices.insert(), _row(invoices, **key, invoice_id=invoice, customer_id="C1")
            )
    store.migrate()
    stored = store.batch_frames(AS_OF, "1")["account_scores"].iloc[0]
    assert stored["open_amount"] == 500.0 and stored["not_yet_due_amount"] == 300.0
    assert stored["overdue_amount"] == 200.0
    assert stored["amount_at_risk"] == 260.0 and stored["amount_at_risk_not_yet_due"] == 60.0
    assert stored["open_invoices"] == 3
