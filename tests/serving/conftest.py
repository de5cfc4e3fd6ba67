"""A trained, registered model and one stored batch, shared by the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_helpers import Process, Served, build_served, start_service, stop_service


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, small_synthetic: Path) -> Served:
    """Two registered versions (1 = champion) and version 1's batch in a SQLite store."""
    return build_served(tmp_path_factory.mktemp("service-home"), small_synthetic)


@pytest.fixture(scope="session")
def service(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One real uvicorn process for the session's HTTP tests."""
    log = tmp_path_factory.mktemp("service-log") / "service.log"
    process = start_service(served.env(), log)
    yield process
    stop_service(process)
