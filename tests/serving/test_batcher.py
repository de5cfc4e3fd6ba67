"""The micro-batcher: each request gets its own results; requests that queue up share a call."""

from __future__ import annotations

import asyncio
import threading
import time

from serving.batcher import MicroBatcher


def _batcher(calls: list[list[int]], fail_on: int | None = None) -> MicroBatcher[int, int]:
    gate = threading.Lock()

    def run(jobs: list[int]) -> list[int]:
        with gate:  # one call at a time, as one scoring thread would
            calls.append(list(jobs))
            time.sleep(0.02)  # long enough for the other requests to queue up
            if fail_on in jobs:
                raise ValueError("bad job")
            return [job * 10 for job in jobs]

    return MicroBatcher(run, size=lambda job: 1, max_rows=4)


def test_concurrent_requests_are_coalesced_and_each_gets_its_own_result() -> None:
    calls: list[list[int]] = []

    async def main() -> list[int]:
        batcher = _batcher(calls)
        return await asyncio.gather(*(batcher.submit(k) for k in range(10)))

    assert asyncio.run(main()) == [k * 10 for k in range(10)]
    assert sorted(job for call in calls for job in call) == list(range(10))
    assert len(calls) < 10  # some requests shared a call
    assert max(len(call) for call in calls) <= 4  # and no call took more than max_rows


def test_a_failing_batch_fails_only_its_own_requests() -> None:
    calls: list[list[int]] = []

    async def main() -> list[object]:
        batcher = _batcher(calls, fail_on=0)
        return await asyncio.gather(*(batcher.submit(k) for k in range(6)), return_exceptions=True)

    results = asyncio.run(main())
    failed = {job for call in calls if 0 in call for job in call}
    for job, result in enumerate(results):
        if job in failed:
            assert isinstance(result, ValueError)
        else:
            assert result == job * 10
    assert failed != set(range(6))  # the later batches were scored normally
