"""Run the service with uvicorn (``precollect serve``)."""

from __future__ import annotations

import os

FACTORY = "serving.app:create_app"


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve ``create_app()`` (settings from ``PRECOLLECT_API_*``) on ``host:port``."""
    import uvicorn

    from serving.settings import ServiceSettings

    ServiceSettings()  # refuse unsafe settings before any worker starts
    # one request's booster call is tiny: OpenMP threads cost more than they save, and
    # concurrency comes from requests (and workers) instead
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
