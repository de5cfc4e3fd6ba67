"""The managers' report, opened in headless Chromium: readable, self-contained, screenshotted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from browser import SCREENSHOTS, chromium

from features.ledger.ingest import load_ledger
from features.ledger.ledger import Ledger
from models.decisions.scoring import score_ledger
from models.training.train import train_on_ledger
from serving.report import render_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def report_of(ledger: Ledger, day: pd.Timestamp) -> str:
    """Train on what was known at ``day``, score the invoices open then, render the report."""
    result = train_on_ledger(ledger, as_of=day)
    batch = score_ledger(ledger, day, result.model, "test")
    return render_report(
        batch.invoices,
        batch.accounts,
        batch.reasons,
        p_base=batch.p_base,
        as_of=batch.as_of,
        model_version="test",
        top=5,
    )


@pytest.mark.parametrize("which", ["ibm", "synthetic"])
def test_report_renders_offline_with_readable_reasons(
    which: str, ibm_ledger: Ledger, small_synthetic: Path, tmp_path: Path
) -> None:
    if which == "ibm":
        html = report_of(ibm_ledger, pd.Timestamp("2013-09-30"))
    else:
        ledger = load_ledger(small_synthetic)
        html = report_of(ledger, ledger.last_date())
    page_file = tmp_path / "report.html"
    page_file.write_text(html)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri())
        page.screenshot(path=str(SCREENSHOTS / f"report-{which}.png"), full_page=True)
        assert page.locator("section.card").count() == 5
        explained = page.locator("section.card:has(svg)")  # overdue-only accounts have no chart
        assert explained.count() >= 2
        first = explained.first
        assert first.locator("svg rect").count() >= 3  # the waterfall chart
        reasons = first.locator("ul.reasons li").all_inner_texts()
        assert reasons and all(("raises risk" in r or "lowers risk" in r) for r in reasons)
        assert not any("{" in r or "nan" in r.lower() for r in reasons)
        assert first.locator("table tr").count() >= 2  # its open invoices
        assert "Accounts to contact first" in page.title() + page.inner_text("h1")
    assert all(url.startswith(("file:", "data:", "about:")) for url in requests), requests
    assert (SCREENSHOTS / f"report-{which}.png").stat().st_size > 10_000
