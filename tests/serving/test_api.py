"""The API in process (TestClient, real model and store): auth per role, every error class,
the same scores as the batch flow, and a registry outage that keeps the last good model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from service_helpers import KEYS, Served, headers, settings_for

from features.ledger.ingest import load_ledger
from models.decisions.playbook import SEGMENTS
from serving.app import create_app

pytestmark = pytest.mark.slow
MAX_BATCH = 50


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(served))) as c:
        yield c


def invoice(customer: str = "C000001", **changes: Any) -> dict[str, Any]:
    return {
        "invoice_id": "NEW-1",
        "customer_id": customer,
        "issue_date": "2025-12-20",
        "due_date": "2026-01-19",
        "amount": 1200.0,
        "currency": "EUR",
        **changes,
    }


READS = ["/v1/model", "/v1/worklist", "/v1/kpis", "/v1/forecast"]


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_key_and_admit_every_role(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
    for role in KEYS:
        allowed = role != "collector" or path == "/v1/worklist"  # collectors: the worklist only
        expected = 200 if allowed else 403
        assert client.get(path, headers=headers(role)).status_code == expected, role


def test_roles_are_enforced_per_action(client: TestClient, served: Served) -> None:
    body = {"invoices": [invoice()], "as_of": "2025-12-31"}
    assert client.post("/v1/score", json=body).status_code == 401
    assert client.post("/v1/score", json=body, headers=headers("viewer")).status_code == 403
    assert client.post("/v1/score", json=body, headers=headers("scorer")).status_code == 200
    assert client.post("/v1/score", json=body, headers=headers("admin")).status_code == 200
    assert client.post("/v1/score", json=body, headers=headers("collector")).status_code == 403
    for role, code in (("scorer", 403), ("viewer", 403), ("admin", 201), ("collector", 201)):
        contact = {"customer_id": served.account_ids[0], "channel": "phone", "note": role}
        assert client.post("/v1/contacts", json=contact, headers=headers(role)).status_code == code
    for role, code in (("scorer", 403), ("viewer", 403), ("admin", 200), ("collector", 403)):
        assert client.post("/v1/admin/reload", headers=headers(role)).status_code == code
    denied = client.post("/v1/score", json=body, headers=headers("viewer")).json()
    assert denied == {"detail": "role 'viewer' may not do this"}


def test_stored_scores_and_404s(client: TestClient, served: Served) -> None:
    h = headers("viewer")
    account = client.get(f"/v1/accounts/{served.account_ids[0]}", headers=h)
    assert account.status_code == 200
    body = account.json()
    assert body["model_version"] == served.versions[0]
    assert body["as_of"] == str(served.as_of.date())
    assert body["reasons"] and {"reason", "direction", "text", "effect"} <= set(body["reasons"][0])
    assert body["payer_segment"] in SEGMENTS
    # one definition per amount: the account, its worklist entry and its invoices agree
    assert body["open_amount"] == pytest.approx(body["not_yet_due_amount"] + body["overdue_amount"])
    work = client.get("/v1/worklist", headers=h).json()["items"]
    assert len(work) >= 5
    for entry in work[:5]:
        same = client.get(f"/v1/accounts/{entry['customer_id']}", headers=h).json()
        assert entry["open_amount"] == pytest.approx(same["open_amount"])
        assert entry["amount_at_risk"] == pytest.approx(same["amount_at_risk"])
    schema = client.get("/openapi.json").json()["components"]["schemas"]["StoredAccount"]
    for name in ("open_amount", "not_yet_due_amount", "overdue_amount", "amount_at_risk"):
        assert schema["properties"][name].get("description"), name
    # the store fallback (no view loaded) answers the same as the cached view
    from serving.store.store import ScoreStore
    from serving.views import account_pay_rows, account_record

    store = ScoreStore(served.store_url)
    found = store.latest_score("account", body["customer_id"])
    assert found is not None
    batch = (body["customer_id"], found["as_of"], str(found["model_version"]))
    pay = account_pay_rows(
        store.customer_rows("pay_dates", *batch), store.customer_rows("invoice_scores", *batch)
    ).get(body["customer_id"])
    assert json.loads(json.dumps(account_record(found, pay), default=str)) == body
    pay_summary = body["pay_dates"]  # the account's money: when it is expected
    assert pay_summary["pay_model_version"] == "1"
    assert 0 <= pay_summary["expected_unpaid_180d_after_due"] <= body["open_amount"] + 1e-6
    assert pay_summary["next_pay_date_p50"] <= pay_summary["last_pay_date_p90"]
    assert pay_summary["next_pay_date_p50"] > body["as_of"]
    found = client.get(f"/v1/invoices/{served.invoice_ids[0]}", headers=h).json()
    assert found["invoice_id"] == served.invoice_ids[0] and 0 <= found["p_late"] <= 1
    for path in ("/v1/accounts/NOBODY", "/v1/invoices/NO-SUCH-INVOICE"):
        missing = client.get(path, headers=h)
        assert missing.status_code == 404 and "no stored score" in missing.json()["detail"]
    pay = found["pay_dates"]  # from the pay-date model that scored the same batch
    assert pay["pay_model_version"] == "1" and pay["pay_date_p10"] <= pay["pay_date_p90"]
    assert pay["pay_date_p10"] > found["as_of"] and 0 <= pay["p_unpaid_180d_after_due"] <= 1
    # and why the date falls where it does, in days, largest first
    why = pay["reasons"]
    assert why and {"reason", "direction", "text", "effect"} == set(why[0])
    assert {r["direction"] for r in why} <= {"pushes the date later", "brings the date forward"}
    sizes = [abs(r["effect"]) for r in why]
    assert sizes == sorted(sizes, reverse=True)


def test_the_stored_cash_forecast_with_what_has_come_in_since(
    client: TestClient, served: Served
) -> None:
    h = headers("viewer")
    body = client.get("/v1/forecast", headers=h).json()
    assert body["as_of"] == str(served.as_of.date()) and body["model_version"] == served.versions[0]
    weeks = body["weeks"]
    assert len(weeks) == 13 and weeks[0]["week_start"] > body["as_of"]
    assert all(w["p10"] <= w["p50"] <= w["p90"] for w in weeks)
    assert 0 < sum(w["expected"] for w in weeks) <= body["open_amount"]
    # scored on the ledger's last day: no week of it has begun, so nothing is "collected" yet
    assert {w["collected"] for w in weeks} == {None}
    assert all(w["forecast_dso"] is not None and w["forecast_dso"] > 0 for w in weeks)
    missing = client.get("/v1/forecast", params={"as_of": "2001-01-01"}, headers=h)
    assert missing.status_code == 404 and "no stored forecast" in missing.json()["detail"]


def test_worklist_and_model(client: TestClient, served: Served) -> None:
    h = headers("scorer")
    work = client.get("/v1/worklist", params={"limit": 3}, headers=h).json()
    assert [i["rank"] for i in work["items"]] == [1, 2, 3]
    first = work["items"][0]
    assert first["queue"] == "pre_due"  # the pre-due queue is served first
    assert first["segment"] in SEGMENTS and first["arm"] in {"treatment", "control", "none"}
    assert first["expected_value"] is None or first["value_reason"].startswith("EV ")
    treatment = first["treatment"]
    same = client.get("/v1/worklist", params={"treatment": treatment}, headers=h).json()
    assert {i["treatment"] for i in same["items"]} == {treatment}
    model = client.get("/v1/model", headers=h).json()
    assert model["version"] == served.versions[0] and model["alias"] == "champion"
    assert model["test_metrics"]["model.roc_auc"] > 0.5
    assert model["training_window"] and model["registry"] == "ok"
    assert {"name", "description", "group", "unit"} <= set(model["features"][0])


def test_online_scores_equal_the_batch_flow(client: TestClient, served: Served) -> None:
    """POST /v1/score uses the training feature code: same invoice, same day, same score."""
    ledger = load_ledger(served.ledger)
    stored = client.get(f"/v1/invoices/{served.invoice_ids[0]}", headers=headers("scorer"))
    assert stored.status_code == 200
    ids = [
        i
        for i in served.invoice_ids[:400]
        if client.get(f"/v1/invoices/{i}", headers=headers("scorer")).json()["risk_band"]
        != "overdue"
    ][:20]
    rows = ledger.invoices.set_index("invoice_id").loc[ids].reset_index()
    request = {
        "as_of": str(served.as_of.date()),
        "top_reasons": 5,
        "invoices": [
            {
                "invoice_id": r["invoice_id"],
                "customer_id": r["customer_id"],
                "issue_date": str(r["issue_date"].date()),
                "due_date": str(r["due_date"].date()),
                "amount": float(r["amount"]),
                "currency": None if pd.isna(r.get("currency")) else r["currency"],
                "disputed": None if pd.isna(r.get("disputed")) else bool(r["disputed"]),
                "channel": None if pd.isna(r.get("channel")) else r["channel"],
            }
            for r in rows.to_dict("records")
        ],
    }
    response = client.post("/v1/score", json=request, headers=headers("scorer"))
    assert response.status_code == 200, response.text
    scored = response.json()
    assert scored["model_version"] == served.versions[0]
    for result in scored["results"]:
        batch = client.get(f"/v1/invoices/{result['invoice_id']}", headers=headers("scorer")).json()
        assert result["p_late"] == pytest.approx(batch["p_late"], abs=1e-9)
        assert result["risk_band"] == batch["risk_band"]
        assert [r["text"] for r in result["reasons"]] == [r["text"] for r in batch["reasons"]]
    plain = client.post("/v1/score", json={**request, "top_reasons": 0}, headers=headers("scorer"))
    for with_reasons, without in zip(scored["results"], plain.json()["results"], strict=True):
        assert without["p_late"] == pytest.approx(with_reasons["p_late"], abs=1e-9)
        assert without["reasons"] == []


def test_scores_new_customers_and_overdue_invoices(client: TestClient) -> None:
    body = {
        "as_of": "2025-12-31",
        "invoices": [
            invoice("BRAND-NEW", invoice_id="A"),
            invoice(issue_date="2025-10-01", due_date="2025-10-31", invoice_id="B"),
        ],
    }
    results = client.post("/v1/score", json=body, headers=headers("scorer")).json()["results"]
    assert [r["invoice_id"] for r in results] == ["A", "B"]
    assert 0 < results[0]["p_late"] < 1 and results[0]["reasons"]
    assert results[1]["risk_band"] == "overdue" and results[1]["p_late"] == 1.0
    assert results[1]["reasons"][0]["text"] == "already 61 days past due"


def test_a_request_may_carry_the_history(client: TestClient) -> None:
    past = [
        {
            "invoice_id": f"P{i}",
            "customer_id": "CARRIED",
            "issue_date": f"2025-{m:02d}-01",
            "due_date": f"2025-{m:02d}-28",
            "amount": 1000.0,
            "paid_date": f"2025-{m + 1:02d}-20",
        }
        for i, m in enumerate(range(1, 11))
    ]
    body = {
        "as_of": "2025-12-31",
        "invoices": [invoice("CARRIED")],
        "history": {"invoices": past, "customers": [{"customer_id": "CARRIED", "segment": "smb"}]},
    }
    late = client.post("/v1/score", json=body, headers=headers("scorer")).json()["results"][0]
    body["history"]["invoices"] = [{**p, "paid_date": p["due_date"]} for p in past]  # type: ignore[index]
    on_time = client.post("/v1/score", json=body, headers=headers("scorer")).json()["results"][0]
    assert late["p_late"] > on_time["p_late"]  # more late history never lowers the risk


BAD_INVOICES = {
    "nan amount": (b'"amount": NaN', "amount"),
    "infinite amount": (b'"amount": Infinity', "amount"),
    "negative amount": (b'"amount": -5', "amount"),
    "zero amount": (b'"amount": 0', "amount"),
    "unknown currency": (b'"amount": 5, "currency": "XYZ"', "currency"),
    "due before issue": (b'"amount": 5, "due_date": "2025-11-01"', "due_date is before issue_date"),
    "not a date": (b'"amount": 5, "issue_date": "yesterday"', "issue_date"),
    "extra field": (b'"amount": 5, "colour": "red"', "colour"),
}


@pytest.mark.parametrize("case", BAD_INVOICES)
def test_invalid_invoices_get_422_with_field_messages(client: TestClient, case: str) -> None:
    fragment, expected = BAD_INVOICES[case]
    body = (
        b'{"invoices": [{"invoice_id": "X", "customer_id": "C", "issue_date": "2025-12-01",'
        b' "due_date": "2025-12-31", ' + fragment + b"}]}"
    )
    body = body.replace(
        b'"due_date": "2025-12-31", "amount": 5, "due_date"', b'"amount": 5, "due_date"'
    )
    response = client.post(
        "/v1/score",
        content=body,
        headers={**headers("scorer"), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert any(expected in " ".join(map(str, e["loc"])) + " " + e["msg"] for e in errors), errors
    assert "Traceback" not in response.text and "input" not in errors[0]


def test_oversize_batch_and_empty_batch_get_422(client: TestClient) -> None:
    many = {"invoices": [invoice(invoice_id=f"N{i}") for i in range(MAX_BATCH + 1)]}
    response = client.post("/v1/score", json=many, headers=headers("scorer"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == f"at most {MAX_BATCH} invoices per request"
    empty = client.post("/v1/score", json={"invoices": []}, headers=headers("scorer"))
    assert empty.status_code == 422


def test_bodies_over_the_limit_get_413(client: TestClient) -> None:
    big = b'{"invoices": [' + b" " * (70 * 1024) + b"]}"
    h = {**headers("scorer"), "content-type": "application/json"}
    assert client.post("/v1/score", content=big, headers=h).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"invoices": ['
        for _ in range(80):
            yield b" " * 1024
        yield b"]}"

    streamed = client.post("/v1/score", content=chunks(), headers=h)
    assert streamed.status_code == 413 and "larger than" in streamed.json()["detail"]


def test_readyz_when_ready(client: TestClient, served: Served) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "model_version": served.versions[0],
        "store": "ok",
        "registry": "ok",
    }
    assert client.get("/healthz").json() == {"status": "alive"}


def test_registry_outage_keeps_the_last_good_model(client: TestClient, served: Served) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    resolve = service.champion._resolve

    def unreachable(alias: str) -> str:
        raise ConnectionError("registry down")

    service.champion._resolve = unreachable
    try:
        reload = client.post("/v1/admin/reload", headers=headers("admin")).json()
        assert reload["model_version"] == served.versions[0] and not reload["swapped"]
        # a fixed reason and the class: never the exception's text (it may quote a password)
        down = "registry unavailable (ConnectionError)"
        assert reload["registry"] == down
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["registry"] == down
        assert client.get("/v1/model", headers=headers("viewer")).json()["registry"] == down
        body = {"invoices": [invoice()], "as_of": "2025-12-31"}
        assert client.post("/v1/score", json=body, headers=headers("scorer")).status_code == 200
    finally:
        service.champion._resolve = resolve
        service.champion.refresh()


def test_no_model_means_503_with_the_reason(served: Served) -> None:
    settings = settings_for(served, model_alias="no-such-alias")
    with TestClient(create_app(settings)) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["model_version"] is None
        assert ready.json()["registry"] == "registry unavailable (MlflowException)"
        body = {"invoices": [invoice()]}
        scored = c.post("/v1/score", json=body, headers=headers("scorer"))
        assert scored.status_code == 503 and "no model is being served" in scored.json()["detail"]
        assert c.get("/v1/model", headers=headers("viewer")).status_code == 503


def test_store_unavailable_means_503(served: Served, tmp_path: Any) -> None:
    settings = settings_for(served, database_url=f"sqlite:///{tmp_path}/missing/dir/store.db")
    with TestClient(create_app(settings)) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["store"].startswith("unreachable")
        for path in ("/v1/invoices/X", "/v1/accounts/X", "/v1/worklist"):
            response = c.get(path, headers=headers("viewer"))
            assert response.status_code == 503, path
            assert response.json() == {"detail": "score store unavailable"}


def test_score_without_as_of_uses_the_ledger_extraction_date_and_warns_when_stale(
    client: TestClient, served: Served
) -> None:
    extracted = load_ledger(served.ledger).extracted_at
    assert extracted is not None
    body = {"invoices": [invoice(issue_date="2025-12-01", due_date="2025-12-31")]}
    scored = client.post("/v1/score", json=body, headers=headers("scorer")).json()
    assert (
        scored["as_of"] == str(extracted.date())
        and scored["as_of_source"] == "ledger extraction date"
    )
    assert scored["results"][0]["as_of"] == str(extracted.date())
    stale = (pd.Timestamp.today().normalize() - extracted).days > 7
    assert bool(scored["warnings"]) == stale
    assert not stale or f"history ends on {extracted.date()}" in scored["warnings"][0]
    chosen = client.post(
        "/v1/score", json={**body, "as_of": "2025-12-15"}, headers=headers("scorer")
    )
    assert chosen.json()["as_of_source"] == "request" and chosen.json()["as_of"] == "2025-12-15"


def test_leaving_out_channel_scores_the_mix_of_the_channels(
    client: TestClient, served: Served
) -> None:
    """Absent optional fields must not move the score: through the API, an invoice without a
    channel scores between the channels it could have (the share-weighted mix, exact in
    tests/models/test_absent_values.py), and no reason calls the channel "not known"."""
    from features.ledger.ingest import load_ledger

    channels = load_ledger(served.ledger).invoices["channel"].dropna().astype(str).unique()

    def scored(customer: str, **fields: Any) -> dict[str, Any]:
        body = {"as_of": "2025-12-31", "invoices": [invoice(customer, **fields)]}
        response = client.post("/v1/score", json=body, headers=headers("scorer"))
        assert response.status_code == 200, response.text
        return response.json()["results"][0]

    # a customer whose score the channel moves (a calibrated score can sit on a flat step)
    for customer in served.customers:
        each = [scored(customer, channel=str(c))["p_late"] for c in channels]
        if len(set(each)) > 1:
            break
    assert len(set(each)) > 1, "the channel moves no customer's score"
    without = scored(customer)
    assert min(each) - 1e-9 <= without["p_late"] <= max(each) + 1e-9
    assert not any("not known" in r["text"] for r in without["reasons"])


STRICT = {
    "as_of zero": ({"as_of": 0}, "as_of"),
    "amount as text": ({"invoices": [invoice(amount="12")]}, "amount"),
    "amount as true": ({"invoices": [invoice(amount=True)]}, "amount"),
    "issue date as epoch": ({"invoices": [invoice(issue_date=0)]}, "issue_date"),
    "disputed as text": ({"invoices": [invoice(disputed="yes")]}, "disputed"),
    "customer_since zero": (
        {
            "invoices": [invoice()],
            "history": {"customers": [{"customer_id": "C000001", "customer_since": 0}]},
        },
        "customer_since",
    ),
}


@pytest.mark.parametrize("case", STRICT)
def test_strict_types_refuse_epoch_dates_and_coerced_numbers(client: TestClient, case: str) -> None:
    change, field = STRICT[case]
    body = {"as_of": "2025-12-31", "invoices": [invoice()], **change}
    response = client.post("/v1/score", json=body, headers=headers("scorer"))
    assert response.status_code == 422, response.text
    assert any(e["loc"][-1] == field for e in response.json()["detail"]), response.text


def test_the_schema_states_the_date_range(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    described = json.dumps(schema["InvoiceIn"]["properties"]["issue_date"])
    assert "from 1900-01-01 to 2199-12-31" in described
    assert "from 1900-01-01 to 2199-12-31" in json.dumps(schema["ContactIn"])
    assert {"as_of", "as_of_source", "warnings"} <= set(schema["ScoreResponse"]["properties"])


def test_malformed_json_is_400_after_the_key_check(client: TestClient) -> None:
    h = {"content-type": "application/json"}
    assert client.post("/v1/score", content=b"{not json", headers=h).status_code == 401
    assert client.post("/v1/score", json={"invoices": "x"}, headers=h).status_code == 401
    bad = client.post("/v1/score", content=b"{not json", headers={**h, **headers("scorer")})
    assert bad.status_code == 400 and bad.json()["detail"] == "the body is not readable JSON"
    spec = client.get("/openapi.json").json()["paths"]["/v1/score"]["post"]["responses"]
    assert "400" in spec and "401" in spec


def test_unknown_treatment_is_422_naming_the_known_ones(client: TestClient) -> None:
    response = client.get("/v1/worklist?treatment=escalation", headers=headers("viewer"))
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "unknown treatment 'escalation'" in message and "escalate" in message
    known = client.get("/v1/worklist?treatment=escalate", headers=headers("viewer"))
    assert known.status_code == 200
    assert all(i["treatment"] == "escalate" for i in known.json()["items"])


def test_contacts_for_unknown_customers_or_in_the_future_are_422(
    client: TestClient, served: Served
) -> None:
    h = headers("admin")
    unknown = client.post(
        "/v1/contacts", json={"customer_id": "NOBODY", "channel": "phone"}, headers=h
    )
    assert unknown.status_code == 422 and "unknown customer" in unknown.text
    future = {
        "customer_id": served.customers[0],
        "channel": "phone",
        "contacted_at": "2031-01-01T10:00:00Z",
    }
    late = client.post("/v1/contacts", json=future, headers=h)
    assert late.status_code == 422 and "in the future" in late.text
    epoch = client.post("/v1/contacts", json={**future, "contacted_at": 0}, headers=h)
    assert epoch.status_code == 422
    now = client.post(
        "/v1/contacts", json={"customer_id": served.customers[0], "channel": "phone"}, headers=h
    )
    assert now.status_code == 201


def test_kpis_of_the_served_ledger_match_the_cli_formulas(
    client: TestClient, served: Served
) -> None:
    from models.decisions.kpis import kpis_at

    answer = client.get("/v1/kpis?from=2025-09-01&to=2025-11-30", headers=headers("viewer"))
    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [r["as_of"] for r in rows] == ["2025-09-30", "2025-10-31", "2025-11-30"]
    ledger = load_ledger(served.ledger)
    expected = kpis_at(ledger, pd.Timestamp("2025-10-31"))
    assert rows[1]["dso"] == pytest.approx(expected["dso"])
    assert rows[1]["total"] == pytest.approx(expected["total"])
    for bad in ("from=2025-12-01&to=2025-01-01", "from=1900-01-01&to=2199-12-31", "from=0"):
        assert client.get(f"/v1/kpis?{bad}", headers=headers("viewer")).status_code == 422, bad
