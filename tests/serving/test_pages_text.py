"""What a manager reads on the pages and in the report: words, not codes, nan or microseconds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from service_helpers import KEYS, Served, headers, settings_for

from serving.app import create_app
from serving.report import render_report
from serving.store.store import ScoreStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pages(served: Served) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(served))) as c:
        assert c.post("/pages/login", data={"key": KEYS["viewer"]}).status_code == 200
        yield c


@pytest.fixture(scope="module")
def frames(served: Served) -> dict[str, Any]:
    store = ScoreStore(served.store_url)
    batch = store.latest_batch()
    assert batch is not None
    return {**store.batch_frames(batch["as_of"], batch["model_version"]), "batch": batch}


def _cells(html: str, table: str) -> str:
    found = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S)
    return found.group(1) if found else ""


def test_contact_history_has_no_nan_nor_microseconds(pages: TestClient, served: Served) -> None:
    customer = served.account_ids[0]
    recorded = pages.post(
        "/v1/contacts",
        json={
            "customer_id": customer,
            "channel": "phone",
            "contacted_at": "2025-12-30T09:15:42.123456Z",
        },
        headers=headers("admin"),
    )
    assert recorded.status_code == 201
    contacts = _cells(pages.get(f"/pages/accounts/{customer}").text, "contacts")
    assert "2025-12-30 09:15" in contacts
    assert "nan" not in contacts and "None" not in contacts and ".123456" not in contacts
    assert ":42" not in contacts


def test_treatments_are_words(pages: TestClient, served: Served) -> None:
    listing = pages.get("/pages/accounts").text
    rows = _cells(listing, "accounts") or listing
    assert not re.search(r"<td>[a-z]+_[a-z_]+</td>", rows), "a treatment shown as a code"
    page = pages.get(f"/pages/accounts/{served.account_ids[0]}").text
    treatment = re.search(r"treatment: ([^<&]+)", page)
    assert treatment is not None and "_" not in treatment.group(1)


def test_disputed_invoices_are_marked(pages: TestClient, frames: dict[str, Any]) -> None:
    invoices = frames["invoice_scores"]
    disputed = invoices[invoices["disputed"] > 0]
    assert not disputed.empty
    row = disputed.iloc[0]
    table = _cells(pages.get(f"/pages/accounts/{row['customer_id']}").text, "invoices")
    marked = re.search(rf"<td>{re.escape(str(row['invoice_id']))}</td><td>disputed</td>", table)
    assert marked, table[:500]


def test_the_account_page_says_when_each_invoice_will_be_paid_and_why(
    pages: TestClient, frames: dict[str, Any]
) -> None:
    pay = frames["pay_dates"].dropna(subset=["expected_pay_date"])
    row = pay.iloc[0]
    page = pages.get(f"/pages/accounts/{row['customer_id']}").text
    table = _cells(page, "invoices")
    expected = pd.Timestamp(row["expected_pay_date"]).strftime("%Y-%m-%d")
    assert "expected paid" in table and expected in table
    assert re.search(r"\([+-]\d+ days\)</td>", table), "no reason for a pay date, in days"
    assert 'id="expected-pay-date"' in page
    segment = frames["account_scores"].set_index("customer_id").loc[row["customer_id"]]
    assert f"payer segment: {segment['payer_segment']}" in page  # the behavioural segment
    assert "nan" not in table and "None" not in table and "NaT" not in table


def test_all_overdue_accounts_show_their_overdue_facts(
    pages: TestClient, frames: dict[str, Any]
) -> None:
    accounts = frames["account_scores"]
    overdue = accounts[accounts["risk"].isna()]
    assert not overdue.empty
    customer = overdue.iloc[0]["customer_id"]
    page = pages.get(f"/pages/accounts/{customer}").text
    why = page.split("<h2>Why</h2>", 1)[1].split("<h2>", 1)[0]
    assert "days past due" in why and "lowers risk" not in why
    mine = frames["invoice_scores"][frames["invoice_scores"]["customer_id"] == customer]
    assert f"{mine['open_amount'].sum():,.0f}" in why


def test_reasons_read_naturally(pages: TestClient, served: Served) -> None:
    for customer in served.account_ids[:10]:
        assert "sent by " not in pages.get(f"/pages/accounts/{customer}").text


def test_pages_say_when_the_store_is_unreachable(served: Served, tmp_path: Any) -> None:
    settings = settings_for(served, database_url=f"sqlite:///{tmp_path}/missing/dir/store.db")
    with TestClient(create_app(settings)) as c:
        c.post("/pages/login", data={"key": KEYS["viewer"]})
        page = c.get("/pages/accounts").text
        assert "score store is unreachable" in page and "No scores are stored yet" not in page


def test_report_has_an_overview_with_totals_and_charts(frames: dict[str, Any]) -> None:
    invoices, accounts = frames["invoice_scores"], frames["account_scores"]
    html = render_report(
        invoices,
        accounts,
        frames["reasons"],
        p_base=float(frames["batch"]["p_base"]),
        as_of=pd.Timestamp(frames["batch"]["as_of"]),
        model_version="1",
        top=5,
    )
    overview = html.split('id="overview"', 1)[1].split("<section", 1)[0]
    assert f"{invoices['open_amount'].sum():,.0f}</b>total open" in overview
    overdue = invoices["risk_band"] == "overdue"
    assert f"{invoices.loc[overdue, 'open_amount'].sum():,.0f}</b>overdue" in overview
    assert f"{len(invoices):,}</b>open invoices" in overview
    assert overview.count("<svg") == 2 and "by risk band" in overview
    assert not re.search(r"<b>\d{4,}</b>", html), "a number without thousands separators"


def test_the_account_page_previews_the_messages_in_customer_words(
    pages: TestClient, frames: dict[str, Any]
) -> None:
    from message_words import INTERNAL_WORDS

    accounts = frames["account_scores"]
    shown = 0
    for customer in accounts["customer_id"].head(8):
        page = pages.get(f"/pages/accounts/{customer}").text
        found = re.search(r'<div id="messages">(.*?)</div>', page, re.S)
        if found is None:
            assert "No outreach planned for this account today." in page
            continue
        shown += 1
        previews = re.findall(r'<pre class="message">(.*?)</pre>', found.group(1), re.S)
        assert previews
        for text in previews:
            assert not [w for w in INTERNAL_WORDS if w.lower() in text.lower()], text
            assert " EUR" in text
    assert shown


def test_promises_to_pay_show_their_status_in_the_contact_history(
    pages: TestClient, served: Served
) -> None:
    customer = served.account_ids[3]
    for key, made, promised, amount in (
        ("page-broken", "2025-12-10T09:00:00Z", "2025-12-15", 1e9),  # never covered: broken
        ("page-pending", "2025-12-30T09:00:00Z", "2026-01-05", 1250.5),  # after the ledger
    ):
        posted = pages.post(
            "/v1/contacts",
            json={
                "customer_id": customer,
                "channel": "phone",
                "contacted_at": made,
                "outcome": "promise_to_pay",
                "promised_date": promised,
                "promised_amount": amount,
                "note": "spoke to accounts payable",
                "idempotency_key": key,
            },
            headers=headers("admin"),
        )
        assert posted.status_code in (200, 201), posted.text
    contacts = _cells(pages.get(f"/pages/accounts/{customer}").text, "contacts")
    assert "1,000,000,000.00 by 2025-12-15: broken" in contacts
    assert "1,250.50 by 2026-01-05: pending" in contacts
    assert "promise to pay" in contacts and "spoke to accounts payable" in contacts
    assert "nan" not in contacts and "None" not in contacts
