"""Attacks on a real ``precollect serve`` process: what answers and logs may never contain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from service_helpers import Process, Served, free_port, headers, start_service, stop_service

pytestmark = pytest.mark.slow
PASSWORD = "s3cr3t"
CUSTOMER_OF = {"erasure": (0, 1, 2), "idempotent_contact": 4, "control_characters": 5}
"""The accounts each test on the shared ``on_each_store`` service touches: none twice."""


@pytest.fixture(scope="module")
def registry_down(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """The service with an unreachable registry whose URL carries a user and password."""
    closed = free_port()  # bound and released: nothing listens there
    env = served.env(
        MLFLOW_TRACKING_URI=f"http://admin:{PASSWORD}@127.0.0.1:{closed}",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="2",
    )
    log = tmp_path_factory.mktemp("registry-down") / "service.log"
    process = start_service(env, log, timeout=180)
    yield process
    stop_service(process)


def test_no_credential_or_exception_text_in_any_answer(
    registry_down: Process, served: Served
) -> None:
    body = {
        "invoices": [
            {
                "invoice_id": "X-1",
                "customer_id": served.customers[0],
                "issue_date": "2025-12-01",
                "due_date": "2025-12-31",
                "amount": 10.0,
            }
        ]
    }
    with httpx.Client(base_url=registry_down.url, timeout=30) as http:
        answers = {
            "/readyz": http.get("/readyz"),
            "/v1/score": http.post("/v1/score", json=body, headers=headers("scorer")),
            "/v1/model": http.get("/v1/model", headers=headers("viewer")),
            "/v1/admin/reload": http.post("/v1/admin/reload", headers=headers("admin")),
            "/pages/model": http.get("/pages/model", headers=headers("viewer")),
        }
    assert answers["/readyz"].status_code == 503
    assert answers["/readyz"].json()["registry"] == "registry unavailable (MlflowException)"
    assert answers["/v1/score"].status_code == 503
    assert answers["/v1/model"].status_code == 503
    for path, answer in answers.items():
        text = answer.text
        for leak in (PASSWORD, "admin:", "api/2.0", "127.0.0.1", "Traceback", "API request"):
            assert leak not in text, (path, leak, text[:300])
    log = registry_down.log.read_text()
    assert "model registry check failed: MlflowException" in log  # the text is logged ...
    assert "http://***@127.0.0.1" in log  # ... with the URL's credentials hidden
    assert PASSWORD not in log and "Traceback" not in log


def test_redaction_of_urls_and_control_characters() -> None:
    from serving.redact import error_line, loggable

    line = error_line(
        RuntimeError("to postgresql+psycopg://postgres:p@ss@db:5432/x and\nhttp://u:v@h/p\x00")
    )
    assert line == (
        r"RuntimeError: to postgresql+psycopg://***@db:5432/x and\x0ahttp://***@h/p\x00"
    )
    assert loggable("x" * 600, limit=10) == "x" * 9 + "…"
    assert loggable(Path("/no/credentials")) == "/no/credentials"


@pytest.fixture
def own_store(served: Served, tmp_path: Path) -> Iterator[tuple[Process, dict[str, str]]]:
    """A service on a copy of the stored batch (the test writes flags and contacts to it)."""
    import sqlite3

    copy = tmp_path / "store.db"
    source = sqlite3.connect(served.store_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(copy)
    source.backup(target)  # with what is still in the write-ahead log
    source.close()
    target.close()
    env = served.env(PRECOLLECT_DATABASE_URL=f"sqlite:///{copy}")
    process = start_service(env, tmp_path / "service.log", timeout=180)
    yield process, env
    stop_service(process)


def test_worklist_reads_apply_new_flags_and_the_contact_cap(
    own_store: tuple[Process, dict[str, str]], tmp_path: Path
) -> None:
    from service_helpers import run_cli

    process, env = own_store
    with httpx.Client(base_url=process.url, timeout=30, headers=headers("admin")) as http:
        before = http.get("/v1/worklist").json()["items"]
        to_contact = [i["customer_id"] for i in before if i["contact"]]
        assert len(to_contact) >= 3
        flagged, capped, untouched = to_contact[:3]
        flags = tmp_path / "flags.csv"
        flags.write_text(f"customer_id,do_not_contact\n{flagged},yes\n")
        imported = run_cli(env, "import-flags", str(flags))
        assert imported.returncode == 0, imported.stderr
        for n in range(7):  # the playbook's cap: 7 contacts in 7 days
            posted = http.post("/v1/contacts", json={"customer_id": capped, "channel": "phone"})
            assert posted.status_code == 201, posted.text
            if n < 6:  # under the cap the stored answer stands
                row = next(
                    i
                    for i in http.get("/v1/worklist").json()["items"]
                    if i["customer_id"] == capped
                )
                assert row["contact"]
        after = {i["customer_id"]: i for i in http.get("/v1/worklist").json()["items"]}
        assert not after[flagged]["contact"]
        assert after[flagged]["skip_reason"] == "customer is flagged do-not-contact"
        assert not after[capped]["contact"]
        assert after[capped]["skip_reason"] == "contacted 7 times in 7 days"
        assert after[untouched]["contact"]
        treatment = after[flagged]["treatment"]  # a filtered read says the same
        filtered = http.get("/v1/worklist", params={"treatment": treatment}).json()["items"]
        assert not next(i for i in filtered if i["customer_id"] == flagged)["contact"]


def copy_store(source_url: str, target_url: str) -> None:
    """Every table of one store into another (an empty one, migrated here)."""
    import sqlalchemy as sa

    from serving.store import tables
    from serving.store.store import ScoreStore

    target = ScoreStore(target_url)
    target.migrate()
    source = ScoreStore(source_url)
    with source.engine.connect() as read, target.engine.begin() as write:
        for table in tables.metadata.sorted_tables:
            rows = [dict(r) for r in read.execute(sa.select(table)).mappings()]
            if rows:
                write.execute(table.insert(), rows)
        if target.engine.dialect.name == "postgresql":  # rows came with their ids: move the
            for table in tables.metadata.sorted_tables:  # sequences past them, as a dump would
                for column in table.primary_key.columns:
                    if column.autoincrement is True or (
                        column.autoincrement == "auto" and isinstance(column.type, sa.Integer)
                    ):
                        write.execute(
                            sa.text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                f"'{column.name}'), COALESCE((SELECT MAX({column.name}) FROM "
                                f"{table.name}), 0) + 1, false) WHERE pg_get_serial_sequence("
                                f"'{table.name}', '{column.name}') IS NOT NULL"
                            )
                        )
    source.engine.dispose()
    target.engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def on_each_store(
    request: pytest.FixtureRequest, served: Served, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Process, dict[str, str]]]:
    """A service on a copy of the stored batch: a SQLite file, or a PostgreSQL schema. One per
    store for the module (a service start is the slow part): its tests use customers of their
    own (:data:`CUSTOMER_OF`)."""
    import uuid

    import sqlalchemy as sa
    from conftest import PG_URL

    tmp_path = tmp_path_factory.mktemp(f"on-{request.param}")
    unique_name = f"t{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with sa.create_engine(PG_URL).begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {unique_name}"))
        url = f"{PG_URL}?options=-csearch_path%3D{unique_name}"
    copy_store(served.store_url, url)
    env = served.env(PRECOLLECT_DATABASE_URL=url)
    process = start_service(env, tmp_path / "service.log", timeout=180)
    yield process, env
    stop_service(process)
    if request.param == "postgresql":
        with sa.create_engine(PG_URL).begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {unique_name} CASCADE"))


def test_control_characters_in_ids_are_refused_with_422(
    on_each_store: tuple[Process, dict[str, str]], served: Served
) -> None:
    service, _ = on_each_store
    account = served.account_ids[CUSTOMER_OF["control_characters"]]
    with httpx.Client(base_url=service.url, timeout=30, headers=headers("admin")) as http:
        assert http.get(f"/v1/accounts/{account}").status_code == 200  # the store is there
        for bad in ("a%00b", "a%0Ab", "%1B%5B31m", "a%7Fb"):
            for path in (f"/v1/invoices/{bad}", f"/v1/accounts/{bad}", f"/pages/accounts/{bad}"):
                answer = http.get(path)
                assert answer.status_code == 422, (path, answer.status_code, answer.text[:200])
            listed = http.get(f"/v1/worklist?treatment={bad}")
            assert listed.status_code == 422, (bad, listed.status_code, listed.text[:200])
        for body in (
            {"customer_id": "a\u0000b", "channel": "phone"},
            {"customer_id": account, "channel": "ph\u0000one"},
            {"customer_id": account, "channel": "phone", "outcome": "x\u0000"},
            {"customer_id": account, "channel": "phone", "invoice_id": "\u001b[2J"},
        ):
            posted = http.post("/v1/contacts", json=body)
            assert posted.status_code == 422, (body, posted.status_code, posted.text[:200])
        assert http.get(f"/v1/accounts/{account}").status_code == 200
        assert http.get("/readyz").status_code == 200
    log = service.log.read_bytes()
    assert b"\x00" not in log and b"\x1b" not in log and b"Traceback" not in log


def test_a_store_that_never_answers_costs_seconds_not_minutes(
    served: Served, tmp_path: Path
) -> None:
    """A PostgreSQL address that accepts connections and never says a word."""
    import socket
    import time
    from concurrent.futures import ThreadPoolExecutor

    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)  # the kernel completes the handshakes; nobody ever reads or writes
        port = hole.getsockname()[1]
        env = served.env(
            PRECOLLECT_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
            PRECOLLECT_STORE_CONNECT_TIMEOUT="2",
        )
        started = time.monotonic()
        process = start_service(env, tmp_path / "service.log", timeout=180)
        try:
            startup = time.monotonic() - started
            with httpx.Client(base_url=process.url, timeout=30) as http:

                def ready(_: int) -> tuple[float, httpx.Response]:
                    begun = time.monotonic()
                    answer = http.get("/readyz")
                    return time.monotonic() - begun, answer

                with ThreadPoolExecutor(8) as pool:
                    answers = list(pool.map(ready, range(24)))
                assert http.get("/healthz").status_code == 200  # the thread pool is not stuck
            slowest = max(took for took, _ in answers)
            assert slowest < 2.0, slowest
            for _, answer in answers:
                assert answer.status_code == 503
                assert answer.json()["store"].startswith("unreachable")
        finally:
            stop_service(process)
    assert startup < 60, startup  # it took 4 min 40 s without a connect timeout


def _stored_rows(url: str, customer: str) -> dict[str, int]:
    """Rows of ``customer`` left in each table (reasons: of its account and invoices)."""
    import sqlalchemy as sa

    from serving.store import tables
    from serving.store.store import ScoreStore

    store = ScoreStore(url)
    out = {}
    with store.engine.connect() as connection:
        scored = tables.invoice_scores
        invoices = sa.select(scored.c.invoice_id).where(scored.c.customer_id == customer)
        reasons = tables.reasons
        out["reasons"] = connection.execute(
            sa.select(sa.func.count()).where(
                ((reasons.c.level == "account") & (reasons.c.key == customer))
                | ((reasons.c.level == "invoice") & reasons.c.key.in_(invoices))
            )
        ).scalar_one()
        for table in tables.metadata.sorted_tables:
            if "customer_id" in table.c:
                count = sa.select(sa.func.count()).where(table.c.customer_id == customer)
                out[table.name] = connection.execute(count.select_from(table)).scalar_one()
    store.engine.dispose()
    return out


def test_an_erased_customer_is_gone_from_the_store_and_the_running_api(
    on_each_store: tuple[Process, dict[str, str]], served: Served, tmp_path: Path
) -> None:
    from service_helpers import run_cli

    from serving.store.store import ScoreStore

    service, env = on_each_store
    url = env["PRECOLLECT_DATABASE_URL"]
    by_cli, by_api, kept = (served.account_ids[i] for i in CUSTOMER_OF["erasure"])
    with httpx.Client(base_url=service.url, timeout=30, headers=headers("admin")) as http:
        for customer in (by_cli, by_api):
            assert http.get(f"/v1/accounts/{customer}").status_code == 200
            posted = http.post("/v1/contacts", json={"customer_id": customer, "channel": "phone"})
            assert posted.status_code == 201, posted.text
        flags = tmp_path / "flags.csv"
        flags.write_text(f"customer_id,do_not_contact\n{by_cli},yes\n{by_api},no\n")
        assert run_cli(env, "import-flags", str(flags)).returncode == 0
        before = _stored_rows(url, by_cli)
        # every table holds some of its rows (no monitor ran here: no deteriorating accounts)
        assert all(v for k, v in before.items() if k != "monitoring_accounts"), before
        audited = len(ScoreStore(url).erasures())  # other tests' erasures came with the copy

        erased = run_cli(env, "erase", "--customer", by_cli)
        assert erased.returncode == 0, erased.stderr
        said = erased.stdout + erased.stderr
        assert f"{sum(before.values()):,} rows" in said
        assert "--out" in said and "MLflow" in said  # what it cannot reach
        deadline = time.monotonic() + 30  # the service's poller sees the erasure
        while http.get(f"/v1/accounts/{by_cli}").status_code != 404:
            assert time.monotonic() < deadline, "the erased account is still served"
            time.sleep(0.2)

        deleted = http.delete(f"/v1/customers/{by_api}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["rows"]["account_scores"] >= 1
        assert http.get(f"/v1/accounts/{by_api}").status_code == 404  # at once
        assert http.delete(f"/v1/customers/{kept}", headers=headers("viewer")).status_code == 403
        items = http.get("/v1/worklist").json()["items"]
        assert not {by_cli, by_api} & {i["customer_id"] for i in items}
        assert http.get(f"/v1/accounts/{kept}").status_code == 200
    assert not any(_stored_rows(url, by_cli).values())
    assert not any(_stored_rows(url, by_api).values())
    assert all(_stored_rows(url, kept)[t] for t in ("account_scores", "invoice_scores"))
    audit = ScoreStore(url).erasures().iloc[audited:]
    assert audit["erased_by"].tolist()[-1] == "admin-1" and audit["customers"].tolist() == [1, 1]
    assert audit["rows"].tolist()[0] == sum(before.values())
    assert not audit.astype(str).apply(lambda c: c.str.contains(by_cli)).any().any()


def test_every_answer_carries_the_security_headers(service: Process) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        answers = [
            http.get("/v1/model", headers=headers("viewer")),
            http.get("/v1/model"),  # 401
            http.get("/healthz"),
            http.get("/pages/login"),
        ]
        asset = http.get("/docs-assets/swagger-ui.css")
    for answer in answers:
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], answer.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in answer.headers  # development: no TLS assumed
    assert asset.status_code == 200 and "no-store" not in asset.headers.get("cache-control", "")
    assert answers[1].status_code == 401


def test_production_answers_add_hsts() -> None:
    from serving.middleware import HSTS, security_headers

    assert HSTS in security_headers("/v1/model", production=True)
    assert HSTS not in security_headers("/v1/model", production=False)


def test_an_idempotent_contact_post_is_stored_once_on_each_store(
    on_each_store: tuple[Process, dict[str, str]], served: Served
) -> None:
    from serving.store.store import ScoreStore

    service, env = on_each_store
    customer = served.account_ids[CUSTOMER_OF["idempotent_contact"]]
    contact = {
        "customer_id": customer,
        "channel": "phone",
        "contacted_at": "2025-12-24T23:30:00-05:00",
        "outcome": "promise_to_pay",
        "promised_date": "2026-01-05",
        "promised_amount": 99.5,
        "idempotency_key": "each-store-1",
    }
    with httpx.Client(base_url=service.url, timeout=30, headers=headers("collector")) as http:
        answers = [http.post("/v1/contacts", json=contact) for _ in range(3)]
        conflict = http.post("/v1/contacts", json={**contact, "promised_amount": 10.0})
    assert [a.status_code for a in answers] == [201, 200, 200], [a.text for a in answers]
    assert len({a.json()["contact_id"] for a in answers}) == 1
    assert conflict.status_code == 409
    store = ScoreStore(env["PRECOLLECT_DATABASE_URL"])
    stored = store.contacts(customer_id=customer)
    mine = stored[stored["idempotency_key"] == "each-store-1"]
    assert len(mine) == 1
    assert mine["contacted_at"].iloc[0] == pd.Timestamp("2025-12-25 04:30", tz="UTC")
    store.engine.dispose()


def _pages_open(url: str, cookie: str) -> bool:
    """Whether a session cookie still opens the managers' pages."""
    with httpx.Client(base_url=url, timeout=30, cookies={"precollect_session": cookie}) as http:
        answer = http.get("/pages/accounts", follow_redirects=False)
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


def _logged_in(url: str, key: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=url, timeout=30)
    login = http.post("/pages/login", data={"key": key}, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/pages/accounts"
    return http, str(http.cookies["precollect_session"])


def test_logout_and_key_rotation_end_sessions_and_wrong_keys_are_throttled(
    own_store: tuple[Process, dict[str, str]], tmp_path: Path
) -> None:
    import json

    from service_helpers import KEYS, PEPPER

    from serving.security import peppered_key

    process, env = own_store
    viewer_key = KEYS["viewer"]
    first, copied = _logged_in(process.url, viewer_key)
    second, other = _logged_in(process.url, viewer_key)  # the same key on another browser
    assert _pages_open(process.url, copied) and _pages_open(process.url, other)
    first.post("/pages/logout", follow_redirects=False)
    first.close()
    assert not _pages_open(process.url, copied)  # a copy of the logged-out cookie is dead
    assert not _pages_open(process.url, other)  # and so is every session of that key
    second.close()
    _, fresh = _logged_in(process.url, viewer_key)  # logging in again works
    assert _pages_open(process.url, fresh)
    # the viewer's key is rotated: same name, new secret; the service restarts with it
    keys = json.loads(env["PRECOLLECT_API_KEYS"])
    rotated = "viewer-key-rotated-0123456789"
    for key in keys:
        if key["role"] == "viewer":
            key["hmac_sha256"] = peppered_key(rotated, PEPPER)
    stop_service(process)
    rotated_env = {
        **env,
        "PRECOLLECT_API_KEYS": json.dumps(keys),
        "PRECOLLECT_API_MAX_FAILED_KEYS": "3",
    }
    restarted = start_service(rotated_env, tmp_path / "rotated.log", timeout=180)
    try:
        assert not _pages_open(restarted.url, fresh)  # opened with the old key
        _, new = _logged_in(restarted.url, rotated)
        assert _pages_open(restarted.url, new)
        # three wrong keys from this client, then even the right one waits
        with httpx.Client(base_url=restarted.url, timeout=30) as http:
            for _ in range(3):
                assert http.get("/v1/model", headers={"X-API-Key": viewer_key}).status_code == 401
            refused = http.get("/v1/model", headers={"X-API-Key": rotated})
            assert refused.status_code == 429, refused.text
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert refused.json() == {
                "detail": "too many wrong API keys from this client; try again later"
            }
            login = http.post("/pages/login", data={"key": rotated}, follow_redirects=False)
            assert login.status_code == 429 and "Try again in" in login.text
    finally:
        stop_service(restarted)
