"""Run the service with uvicorn (``precollect serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from serving.balance import (
    FOLDER_ENV,
    PARENT_ENV,
    folder_prefix,
    remove_stale_folders,
    worker_counts,
)

FACTORY = "serving.app:create_app"


def _no_delay(transport: asyncio.Transport) -> None:
    """Nagle's algorithm off on an accepted TCP connection.

    With several workers the listening socket is handed to each worker process and asyncio
    no longer sets ``TCP_NODELAY`` on accepted connections; a response written in two parts
    then waits for the client's delayed ACK, about 40 ms per request on keep-alive connections.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11(H11Protocol):
    """h11 (pure Python) with ``TCP_NODELAY``: the fallback without httptools."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _no_delay(transport)
        super().connection_made(transport)


def _httptools_protocol() -> type[Any] | None:
    try:  # uvicorn[standard]: httptools' C parser, several times faster than h11
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools not installed
        return None

    class NoDelayHttpTools(HttpToolsProtocol):
        """httptools with ``TCP_NODELAY``."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            _no_delay(transport)
            super().connection_made(transport)
            if (counts := worker_counts()) is not None:
                counts.add(1)

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            if (counts := worker_counts()) is not None:
                counts.add(-1)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            counts = worker_counts()
            if counts is not None and counts.over_share():
                self.cycle.keep_alive = False  # the client reconnects, to a less busy worker

    # uvicorn's worker processes are spawned and get the protocol class pickled, by name
    NoDelayHttpTools.__qualname__ = "NoDelayHttpTools"
    return NoDelayHttpTools


NoDelayHttpTools = _httptools_protocol()


def http_protocol() -> type[Any]:
    """httptools with ``TCP_NODELAY`` when installed, else h11 with it."""
    return NoDelayHttpTools or NoDelayH11


def event_loop() -> str:
    """uvloop when installed (a faster loop for many small requests), else asyncio's."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


class OpenDevelopmentError(ValueError):
    """Development mode (every caller is admin) asked to listen beyond this machine."""


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1); a name or ``0.0.0.0`` is not."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve ``create_app()`` (settings from ``PRECOLLECT_API_*``) on ``host:port``."""
    from serving.settings import SESSION_SECRET_ENV, Settings

    settings = Settings()  # refuse unsafe settings before any worker starts
    if not settings.api.auth_enabled and not is_loopback(host):
        raise OpenDevelopmentError(
            f"development mode without API keys serves everyone as admin, so it listens on "
            f"loopback only: use --host 127.0.0.1, or set PRECOLLECT_API_KEYS to serve {host}"
        )
    if settings.api.session_secret is None:
        # development mode: one secret for every worker of this run (they inherit it), so a
        # page login holds whichever worker answers the next request
        os.environ[SESSION_SECRET_ENV] = secrets.token_urlsafe(32)
    # one request's booster call is tiny: OpenMP threads cost more than they save, and
    # concurrency comes from requests (and workers) instead
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if workers > 1:
        os.environ[PARENT_ENV] = str(os.getpid())  # the workers end when this process does
    with _worker_counts_folder(workers):
        _run_uvicorn(host, port, workers)


@contextlib.contextmanager
def _worker_counts_folder(workers: int) -> Iterator[None]:
    """A shared-memory folder for the workers' connection counts (:mod:`serving.balance`).

    It is removed when this process ends; one left by a killed run is removed at the next start.
    """
    shm = Path("/dev/shm") if os.path.isdir("/dev/shm") else Path(tempfile.gettempdir())
    remove_stale_folders(shm)
    if workers < 2 or os.environ.get(FOLDER_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix=folder_prefix(os.getpid()), dir=shm)
    os.environ[FOLDER_ENV] = folder  # the spawned workers inherit it
    try:
        yield
    finally:
        os.environ.pop(FOLDER_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def _run_uvicorn(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=http_protocol(),
        loop=event_loop(),
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
