"""Prefect defaults for running flows locally without a server (set before Prefect starts)."""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    "PREFECT_LOGGING_LEVEL": "WARNING",
}


def use_local_defaults() -> None:
    """Fill in settings the user has not set: no telemetry, patience with a busy machine."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
