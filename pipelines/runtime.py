"""How the flows run: steps, Prefect's defaults, and the hidden ledger password.

Without ``PREFECT_API_URL`` a command calls the flow bodies directly: each :func:`step` is then
a plain function call, no Prefect server starts (Prefect's temporary one took ~13 s and
outlived a killed command) and Prefect is not even imported. With a server configured the same
bodies run as Prefect flows (:mod:`pipelines.flows`), every step a task.

Prefect logs a failed task and its flow with their tracebacks; the CLI reports a user's error
itself in one line (and re-raises anything else), so Prefect's own log is quiet unless
``PREFECT_LOGGING_LEVEL`` says otherwise. Failed runs are still recorded in Prefect's database.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
    "PREFECT_LOGGING_LEVEL": "CRITICAL",
    # MLflow's own download bars interleave with the command's progress display, and a
    # service's log holds one per model load
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
P = ParamSpec("P")
R = TypeVar("R")


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
    found = _REVEALED.get(location) or _configured(location)
    if found is None and "://" in location and ":***@" in location:
        raise ValueError(
            "the ledger URL's password is not known to this process: start the flow with "
            "precollect (or pass the URL through pipelines.runtime.hidden first), or set "
            "PRECOLLECT_SCHEDULE_LEDGER for scheduled runs"
        )
    return found or location


def _configured(location: str) -> str | None:
    """The scheduled ledger from the environment when ``location`` is its hidden form: a
    deployment's run starts in a new process, which the serving one's environment reaches."""
    configured = os.environ.get("PRECOLLECT_SCHEDULE_LEDGER")
    if not configured or "://" not in configured:
        return None
    import sqlalchemy as sa

    shown = sa.make_url(configured).render_as_string(hide_password=True)
    return configured if shown == location else None


def orchestrated() -> bool:
    """Whether a Prefect server is configured (``PREFECT_API_URL``): the commands then run the
    real flows; without one they call the same functions directly and start no server."""
    return bool(os.environ.get("PREFECT_API_URL", "").strip())


def in_flow_run() -> bool:
    """Inside a Prefect flow run (Prefect is imported then, and only then asked)."""
    context = sys.modules.get("prefect.context")
    return context is not None and context.FlowRunContext.get() is not None


def say(message: str) -> None:
    """A line for the flow run's log in the Prefect UI; outside a flow run the CLI reports."""
    if in_flow_run():
        print(message)


class Step(Generic[P, R]):
    """A Prefect task inside a flow run, the plain function outside one.

    The flow bodies are plain functions calling steps: the CLI without a server runs them with
    no Prefect import at all, and :mod:`pipelines.flows` runs the same bodies as Prefect flows,
    where every step is a task with its retries.
    """

    def __init__(self, fn: Callable[P, R], retries: int, retry_delay_seconds: float) -> None:
        self.fn = fn
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self._task: Any = None
        functools.update_wrapper(self, fn)

    def task(self) -> Any:
        if self._task is None:
            from prefect import task

            self._task = task(retries=self.retries, retry_delay_seconds=self.retry_delay_seconds)(
                self.fn
            )
        return self._task

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if in_flow_run():
            return self.task()(*args, **kwargs)  # type: ignore[no-any-return]
        for attempt in range(self.retries + 1):
            try:
                return self.fn(*args, **kwargs)
            except _NOT_RETRIED:
                raise
            except Exception:
                if attempt == self.retries:
                    raise
                time.sleep(self.retry_delay_seconds)
        raise AssertionError("unreachable")


_NOT_RETRIED = (ValueError, LookupError, TypeError)
"""A user's mistake fails the same way twice: only I/O failures are retried outside Prefect."""


def step(
    *, retries: int = 0, retry_delay_seconds: float = 2
) -> Callable[[Callable[P, R]], Step[P, R]]:
    """Declare a flow step (a Prefect task when it runs in a flow run)."""

    def decorate(fn: Callable[P, R]) -> Step[P, R]:
        return Step(fn, retries, retry_delay_seconds)

    return decorate
