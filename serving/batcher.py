"""Coalesce concurrent small score requests into one features + predict call.

Per-call overhead (the feature kernel, the booster call) dominates a one-invoice request, so
requests that arrive while a batch is being scored are scored together as the next batch, in a
worker thread, and each gets its own slice of the results back. An optional window
(``wait_seconds``) holds each batch open a little longer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

Job = TypeVar("Job")
Result = TypeVar("Result")


class MicroBatcher(Generic[Job, Result]):
    """``await submit(job)``; ``run(jobs)`` returns one result per job, in order."""

    def __init__(
        self,
        run: Callable[[list[Job]], list[Result]],
        size: Callable[[Job], int],
        wait_seconds: float = 0.0,
        max_rows: int = 512,
    ) -> None:
        self._run = run
        self._size = size
        self._wait = wait_seconds
        self._max_rows = max_rows
        self._pending: list[tuple[Job, asyncio.Future[Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, job: Job) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    def _take(self) -> list[tuple[Job, asyncio.Future[Result]]]:
        taken: list[tuple[Job, asyncio.Future[Result]]] = []
        rows = 0
        while self._pending and (
            not taken or rows + self._size(self._pending[0][0]) <= self._max_rows
        ):
            job, future = self._pending.pop(0)
            if future.cancelled():  # the client went away
                continue
            taken.append((job, future))
            rows += self._size(job)
        return taken

    async def _drain(self) -> None:
        while self._pending:
            if self._wait:
                await asyncio.sleep(self._wait)  # let concurrent requests join this batch
            batch = self._take()
            if not batch:
                continue
            try:
                results = await run_in_threadpool(self._run, [job for job, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
