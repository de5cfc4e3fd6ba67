"""Prefect defaults for running flows locally without a server (set before Prefect starts).

Prefect logs a failed task and its flow with their tracebacks; the CLI reports a user's error
itself in one line (and re-raises anything else), so Prefect's own log is quiet unless
``PREFECT_LOGGING_LEVEL`` says otherwise. Failed runs are still recorded in Prefect's database.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    "PREFECT_LOGGING_LEVEL": "CRITICAL",
}


def use_local_defaults() -> None:
    """Fill in settings the user has not set: no telemetry, patience with a busy machine."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
