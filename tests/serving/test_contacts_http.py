"""Contacts through a real ``precollect serve`` process: outcomes, promises, idempotency keys,
and the ``collector`` role (records contacts and reads the worklist, nothing else)."""

from __future__ import annotations

import httpx
import pytest
from service_helpers import Process, Served, headers

from serving.store.store import ScoreStore

pytestmark = pytest.mark.slow


def test_the_collector_role_records_contacts_and_reads_the_worklist_only(
    service: Process, served: Served
) -> None:
    customer = served.account_ids[1]
    invoice = {
        "invoice_id": "X-1",
        "customer_id": customer,
        "issue_date": "2025-12-01",
        "due_date": "2025-12-31",
        "amount": 10.0,
    }
    body = {"invoices": [invoice], "as_of": "2025-12-31"}
    with httpx.Client(base_url=service.url, timeout=30, headers=headers("collector")) as http:
        assert http.get("/v1/worklist").status_code == 200
        posted = http.post("/v1/contacts", json={"customer_id": customer, "channel": "phone"})
        assert posted.status_code == 201, posted.text
        denied = {
            "reload": http.post("/v1/admin/reload"),
            "score": http.post("/v1/score", json=body),
            "model": http.get("/v1/model"),
            "account": http.get(f"/v1/accounts/{customer}"),
            "erase": http.delete(f"/v1/customers/{customer}"),
        }
    for action, answer in denied.items():
        assert answer.status_code == 403, (action, answer.status_code, answer.text[:200])
        assert answer.json() == {"detail": "role 'collector' may not do this"}
    key = headers("collector")["X-API-Key"]
    pages = httpx.post(f"{service.url}/pages/login", data={"key": key}, timeout=30)
    assert pages.status_code == 403  # not the managers' pages either


def test_an_idempotent_contact_post_is_stored_once(service: Process, served: Served) -> None:
    customer = served.account_ids[2]
    contact = {
        "customer_id": customer,
        "channel": "phone",
        "contacted_at": "2025-12-24T23:30:00-05:00",
        "outcome": "promise_to_pay",
        "promised_date": "2026-01-05",
        "promised_amount": 1250.5,
        "idempotency_key": "crm-call-0001",
    }
    store = ScoreStore(served.store_url)
    before = len(store.contacts(customer_id=customer))
    with httpx.Client(base_url=service.url, timeout=30, headers=headers("collector")) as http:
        first = http.post("/v1/contacts", json=contact)
        again = http.post("/v1/contacts", json=contact)
        other = http.post("/v1/contacts", json={**contact, "promised_amount": 1000.0})
        unkeyed = {k: v for k, v in contact.items() if k != "idempotency_key"}
        derived = [http.post("/v1/contacts", json={**unkeyed, "channel": "sms"}) for _ in "ab"]
        broken = [
            http.post("/v1/contacts", json={**unkeyed, "promised_date": None}),
            http.post("/v1/contacts", json={**unkeyed, "outcome": "reached"}),
            http.post("/v1/contacts", json={**unkeyed, "outcome": "promised"}),
            http.post("/v1/contacts", json={**unkeyed, "promised_date": "2025-12-01"}),
        ]
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json() == {
        "contact_id": first.json()["contact_id"],
        "replayed": True,
    }
    assert other.status_code == 409, other.text
    assert "other content" in other.json()["detail"]
    assert [d.status_code for d in derived] == [201, 200]
    assert derived[0].json()["contact_id"] == derived[1].json()["contact_id"]
    assert [b.status_code for b in broken] == [422] * 4, [b.text[:200] for b in broken]
    stored = store.contacts(customer_id=customer)
    assert len(stored) == before + 2
    mine = stored[stored["idempotency_key"] == "crm-call-0001"].iloc[0]
    assert mine["contacted_at"].isoformat() == "2025-12-25T04:30:00+00:00"  # its UTC instant
    assert mine["outcome"] == "promise_to_pay" and mine["promised_amount"] == 1250.5
    assert mine["recorded_by"] == "collector-1"
    assert "Traceback" not in service.log.read_text()
