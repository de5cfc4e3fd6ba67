"""The service as it runs: ``precollect serve`` (uvicorn) in its own process, over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from service_helpers import Process, Served, headers

pytestmark = pytest.mark.slow
SECRET_AMOUNT = 98765.4321  # must never appear in the service's log


def one_invoice(customer: str, invoice_id: str = "LIVE-1", amount: float = SECRET_AMOUNT) -> dict:
    return {
        "as_of": "2025-12-31",
        "invoices": [
            {
                "invoice_id": invoice_id,
                "customer_id": customer,
                "issue_date": "2025-12-20",
                "due_date": "2026-01-19",
                "amount": amount,
            }
        ],
    }


def test_auth_over_http(service: Process, served: Served) -> None:
    with httpx.Client(base_url=service.url, timeout=30) as http:
        body = one_invoice(served.customers[0])
        assert http.post("/v1/score", json=body).status_code == 401
        assert http.post("/v1/score", json=body, headers={"X-API-Key": "nope"}).status_code == 401
        assert http.post("/v1/score", json=body, headers=headers("viewer")).status_code == 403
        scored = http.post("/v1/score", json=body, headers=headers("scorer"))
        assert scored.status_code == 200
        assert scored.json()["results"][0]["risk_band"] in {"low", "medium", "high"}
        account = f"/v1/accounts/{served.account_ids[0]}"
        assert http.get(account).status_code == 401
        assert http.get(account, headers=headers("viewer")).status_code == 200
        assert http.get("/readyz").json()["status"] == "ready"
        assert "x-request-id" in scored.headers


def test_every_error_class_over_http(service: Process, served: Served) -> None:
    h = {**headers("scorer"), "content-type": "application/json"}
    with httpx.Client(base_url=service.url, timeout=30) as http:
        nan = b'{"invoices": [{"invoice_id": "X", "customer_id": "C", "issue_date": "2025-12-01", "due_date": "2025-12-31", "amount": NaN}]}'
        bad = http.post("/v1/score", content=nan, headers=h)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "amount"
        swapped = one_invoice("C", amount=5)
        swapped["invoices"][0]["due_date"] = "2025-01-01"
        due = http.post("/v1/score", json=swapped, headers=h)
        assert due.status_code == 422 and "due_date is before issue_date" in due.text
        assert http.post("/v1/score", content=b"{not json", headers=h).status_code == 400
        assert http.get("/v1/accounts/NOBODY", headers=h).status_code == 404
        assert http.get("/v1/invoices/NOTHING", headers=h).status_code == 404
        too_big = b'{"invoices": [' + b" " * (9 * 1024 * 1024) + b"]}"
        assert http.post("/v1/score", content=too_big, headers=h).status_code == 413

        def stream() -> Iterator[bytes]:
            yield b'{"invoices": ['
            for _ in range(9 * 1024):
                yield b" " * 1024
            yield b"]}"

        assert http.post("/v1/score", content=stream(), headers=h).status_code == 413
        for response in (bad, due):
            assert "Traceback" not in response.text and "File " not in response.text
    log = service.log.read_text()
    assert str(SECRET_AMOUNT) not in log and "Traceback" not in log


@pytest.fixture
def swap_service(service: Process, served: Served) -> Iterator[Process]:
    """The session's service; the champion alias is put back afterwards."""
    yield service
    served.registry().set_registered_model_alias(served.model_name, "champion", served.versions[0])
    httpx.post(f"{service.url}/v1/admin/reload", headers=headers("admin"), timeout=60)


def test_model_swap_under_load_fails_no_request(swap_service: Process, served: Served) -> None:
    """Move the alias while requests stream in: all succeed, then the new version answers."""
    old, new = served.versions
    outcomes: list[tuple[float, int, str, int]] = []  # (time, status, version, client)
    stop = threading.Event()

    def fire(worker: int) -> None:
        with httpx.Client(base_url=swap_service.url, timeout=30, headers=headers("scorer")) as c:
            n = 0
            while not stop.is_set():
                n += 1
                body = one_invoice(served.customers[n % len(served.customers)], f"W{worker}-{n}")
                try:
                    r = c.post("/v1/score", json=body)
                    version = r.json().get("model_version", "") if r.status_code == 200 else ""
                    outcomes.append((time.monotonic(), r.status_code, version, worker))
                except httpx.HTTPError as exc:
                    outcomes.append((time.monotonic(), 0, type(exc).__name__, worker))

    threads = [threading.Thread(target=fire, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    served.registry().set_registered_model_alias(served.model_name, "champion", new)
    moved = time.monotonic()
    deadline = moved + 60
    while time.monotonic() < deadline and not any(o[2] == new for o in outcomes[-20:]):
        time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    failed = [o for o in outcomes if o[1] != 200]
    assert not failed, failed[:5]
    versions = [o[2] for o in sorted(outcomes)]
    assert versions[0] == old and versions[-1] == new
    for client in range(4):
        # a client's next request is scored after its last answer: once it has seen the new
        # model it never sees the old one again (another client's answer from a batch scored
        # just before the swap may still arrive after this one's, which is no going back)
        seen = [o[2] for o in outcomes if o[3] == client]
        assert new in seen and set(seen[seen.index(new) :]) == {new}, (client, seen)
    assert len(outcomes) > 20
    with httpx.Client(base_url=swap_service.url, timeout=30) as http:
        assert http.get("/readyz").json()["model_version"] == new
        model = http.get("/v1/model", headers=headers("viewer")).json()
        assert model["version"] == new and model["registry"] == "ok"
        # the admin endpoint follows the alias at once, without waiting for the poll
        served.registry().set_registered_model_alias(served.model_name, "champion", old)
        reloaded = http.post("/v1/admin/reload", headers=headers("admin")).json()
        assert reloaded["model_version"] == old
