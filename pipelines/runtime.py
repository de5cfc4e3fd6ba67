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


_REVEALED: dict[str, str] = {}
"""Hidden location -> the real one, for this process only: never a flow parameter."""


def hidden(location: str) -> str:
    """A ledger location fit to be a flow parameter: a SQLAlchemy URL without its password.

    Prefect stores every flow parameter in its database; the password stays in this process,
    and :func:`revealed` gives it back to the task that connects.
    """
    if "://" not in location:
        return location
    import sqlalchemy as sa

    url = sa.make_url(location)
    if url.password is None:
        return location
    shown = url.render_as_string(hide_password=True)
    _REVEALED[shown] = location
    return shown


def revealed(location: str) -> str:
    """The location :func:`hidden` was given (others as they are)."""
    found = _REVEALED.get(location)
    if found is None and "://" in location and ":***@" in location:
        raise ValueError(
            "the ledger URL's password is not known to this process: start the flow with "
            "precollect (or pass the URL through pipelines.runtime.hidden first)"
        )
    return found or location
