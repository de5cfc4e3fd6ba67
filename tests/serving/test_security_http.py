"""Attacks on a real ``precollect serve`` process: what answers and logs may never contain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_helpers import Process, Served, free_port, headers, start_service, stop_service

pytestmark = pytest.mark.slow
PASSWORD = "s3cr3t"


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
