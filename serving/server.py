"""Run the service with uvicorn (``precollect serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

FACTORY = "serving.app:create_app"


class NoDelayH11(H11Protocol):
    """h11 with Nagle's algorithm off on every connection.

    With several workers the listening socket is handed to each worker process and asyncio
    no longer sets ``TCP_NODELAY`` on accepted connections; a response written in two parts
    then waits for the client's delayed ACK, about 40 ms per request on keep-alive connections.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


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
        http=NoDelayH11,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
