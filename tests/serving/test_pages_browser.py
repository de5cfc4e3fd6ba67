"""The managers' pages in headless Chromium against the running service: sign in, filter the
list, open an account, read its reasons; screenshots of each step."""

from __future__ import annotations

import pytest
from browser import SCREENSHOTS, chromium
from service_helpers import KEYS, Process

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_viewer_signs_in_filters_and_reads_an_account(service: Process) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))

        page.goto(f"{service.url}/pages/accounts")
        assert page.url.endswith("/pages/login")  # not signed in yet
        page.fill("#key", "not-a-key")
        page.click("#sign-in")
        assert "not valid" in page.inner_text("[role=alert]")
        page.fill("#key", KEYS["scorer"])  # collections systems' keys do not open the pages
        page.click("#sign-in")
        assert "may not open" in page.inner_text("[role=alert]")
        page.screenshot(path=str(SCREENSHOTS / "pages-login.png"))

        page.fill("#key", KEYS["viewer"])
        page.click("#sign-in")
        page.wait_for_url("**/pages/accounts")
        assert "Flagged accounts" in page.inner_text("h1")
        everyone = page.locator("tr.account-row").count()
        assert everyone > 5
        page.screenshot(path=str(SCREENSHOTS / "pages-accounts.png"), full_page=True)

        page.select_option("#band", "high")
        page.select_option("#sort", "risk")
        page.click("#apply")
        page.wait_for_url("**band=high**")
        rows = page.locator("tr.account-row")
        assert 0 < rows.count() < everyone
        assert {rows.nth(i).get_attribute("data-band") for i in range(rows.count())} == {"high"}
        risks = [
            float(t.strip("%"))
            for t in page.locator("tr.account-row td:nth-child(3)").all_inner_texts()
        ]
        assert risks == sorted(risks, reverse=True)
        page.screenshot(path=str(SCREENSHOTS / "pages-accounts-high.png"), full_page=True)

        first = rows.first.locator("a")
        customer = first.inner_text()
        first.click()
        page.wait_for_url(f"**/pages/accounts/{customer}")
        assert customer in page.inner_text("h1")
        reasons = page.locator("#reasons li").all_inner_texts()
        assert reasons and all(("raises risk" in r or "lowers risk" in r) for r in reasons)
        assert not any("{" in r or "nan" in r.lower() for r in reasons)
        assert page.locator("#waterfall svg rect").count() >= 3
        assert page.locator("#invoices tr").count() >= 2
        page.screenshot(path=str(SCREENSHOTS / "pages-account.png"), full_page=True)

        page.click("text=Model")
        page.wait_for_url("**/pages/model")
        scorers = page.locator("#metrics tr.scorer-row td:first-child").all_inner_texts()
        assert scorers[0] == "model" and {"logistic regression", "amount and age"} <= set(scorers)
        assert "roc auc" in page.inner_text("#metrics tr:first-child")
        assert page.locator("#plots img").count() >= 3
        page.screenshot(path=str(SCREENSHOTS / "pages-model.png"), full_page=True)

        page.click("text=KPIs")
        page.wait_for_url("**/pages/kpis")
        assert page.locator("tr.kpi-row").count() >= 12  # a year of month ends
        assert page.locator("#dso-chart polyline.series").count() == 3
        assert page.locator("#aging-chart svg rect").count() == 5
        assert "nan" not in page.inner_text("#kpis").lower()
        page.screenshot(path=str(SCREENSHOTS / "pages-kpis.png"), full_page=True)

        page.click("text=Forecast")
        page.wait_for_url("**/pages/forecast")
        assert page.locator("tr.forecast-row").count() == 13
        assert page.locator("#forecast-chart polygon.band").count() == 1
        assert page.locator("#forecast-chart polyline.series").count() >= 1
        assert "nan" not in page.inner_text("#forecast").lower()
        page.screenshot(path=str(SCREENSHOTS / "pages-forecast.png"), full_page=True)

        page.click("text=Sign out")
        page.wait_for_url("**/pages/login")
        page.goto(f"{service.url}/pages/accounts")
        assert page.url.endswith("/pages/login")
    assert all(url.startswith((service.url, "data:", "about:")) for url in requests), requests
    assert (SCREENSHOTS / "pages-account.png").stat().st_size > 10_000


def test_docs_render_offline_from_installed_assets(service: Process) -> None:
    """Swagger UI draws the operations with every request going to the service itself."""
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(service.url) else route.abort()
            ),
        )
        page.goto(f"{service.url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/v1/score" in p for p in paths)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "docs.png"))
    assert requests and all(url.startswith(service.url) for url in requests), requests


def test_monitoring_page_draws_drift_and_cohorts(service: Process, monitored: dict) -> None:
    """The monitor flow's stored run, as a manager sees it: alerts, PSI bars, AUC lines."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{service.url}/pages/login")
        page.fill("#key", KEYS["viewer"])
        page.click("#sign-in")
        page.wait_for_url("**/pages/accounts")
        page.click("text=Monitoring")
        page.wait_for_url("**/pages/monitoring")
        assert "Monitoring" in page.inner_text("h1")
        assert page.locator("#psi-chart svg rect").count() >= 3
        assert page.locator("#auc-chart polyline.series").count() >= 1
        assert page.locator("tr.cohort-row").count() == 5
        assert page.locator("tr.group-row").count() >= 3
        alerts = page.locator("tr.alert-row").count()
        assert alerts == len(monitored["alerts"])
        text = page.inner_text("body").lower()
        assert "nan" not in text and "traceback" not in text
        page.screenshot(path=str(SCREENSHOTS / "pages-monitoring.png"), full_page=True)
    assert all(url.startswith((service.url, "data:", "about:")) for url in requests), requests


def test_an_account_page_previews_its_messages(service: Process) -> None:
    from message_words import INTERNAL_WORDS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(f"{service.url}/pages/login")
        page.fill("#key", KEYS["viewer"])
        page.click("#sign-in")
        page.wait_for_url("**/pages/accounts")
        links = page.locator("tr.account-row a")
        customers = [links.nth(i).inner_text() for i in range(min(links.count(), 10))]
        shown = None
        for customer in customers:
            page.goto(f"{service.url}/pages/accounts/{customer}")
            if page.locator("#messages pre.message").count():
                shown = customer
                break
        assert shown is not None, customers
        texts = page.locator("#messages pre.message").all_inner_texts()
        assert texts and all(" EUR" in t for t in texts)
        for text in texts:
            assert not [w for w in INTERNAL_WORDS if w.lower() in text.lower()], text
        page.locator("#messages").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "pages-account-messages.png"), full_page=True)
