"""``GET /v1/monitoring`` and the monitoring page in process, on the monitor flow's stored run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from service_helpers import KEYS, Served, headers, settings_for

from serving.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(served: Served, monitored: dict) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(served))) as c:
        yield c


def test_monitoring_needs_a_reader_and_returns_the_stored_report(
    client: TestClient, served: Served, monitored: dict
) -> None:
    assert client.get("/v1/monitoring").status_code == 401
    for role in KEYS:
        expected = 403 if role == "collector" else 200  # collectors: worklist and contacts only
        assert client.get("/v1/monitoring", headers=headers(role)).status_code == expected, role
    body = client.get("/v1/monitoring", headers=headers("viewer")).json()
    assert body["as_of"] == str(served.as_of.date())
    assert body["alerts"] == monitored["alerts"]
    report = body["report"]
    assert report["drift"]["available"] and report["drift"]["features"]
    assert len(report["performance"]["cohorts"]) == 5  # the four earlier batches and today's
    assert body["history"][-1]["as_of"] == body["as_of"]
    missing = client.get("/v1/monitoring?as_of=2001-01-01", headers=headers("viewer"))
    assert missing.status_code == 404 and "precollect monitor" in missing.json()["detail"]


def test_each_monitor_run_is_an_mlflow_run(served: Served, monitored: dict) -> None:
    run = served.registry().get_run(monitored["run_id"])
    assert run.data.tags["kind"] == "monitor"
    assert run.data.metrics["alerts"] == len(monitored["alerts"])
    assert "score_psi" in run.data.metrics


def test_the_page_shows_the_charts(client: TestClient) -> None:
    client.post("/pages/login", data={"key": KEYS["viewer"]})
    page = client.get("/pages/monitoring")
    assert page.status_code == 200
    assert 'id="psi-chart"' in page.text and "<svg" in page.text
    assert "nan" not in page.text.lower().replace("nannyml", "")
