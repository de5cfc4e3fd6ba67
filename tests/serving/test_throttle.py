"""Failed key attempts: a sliding window per client, forgotten as it slides, bounded in memory."""

from __future__ import annotations

import pytest

from serving.security import FailedAttempts, KeyRing, Throttled, hash_key
from serving.settings import ApiKey


def test_a_client_is_refused_past_its_failures_until_the_oldest_leaves_the_window() -> None:
    attempts = FailedAttempts(limit=3, window=60.0)
    for t in (0.0, 10.0, 20.0):
        attempts.check("10.0.0.1", now=t)
        attempts.failed("10.0.0.1", now=t)
    with pytest.raises(Throttled) as refused:
        attempts.check("10.0.0.1", now=30.0)
    assert refused.value.retry_after == 30  # the failure at 0 s leaves at 60 s
    attempts.check("10.0.0.2", now=30.0)  # another client is not affected
    attempts.check("10.0.0.1", now=60.5)  # the first failure has left the window


def test_only_the_most_recent_clients_are_remembered() -> None:
    attempts = FailedAttempts(limit=1, window=60.0, clients=2)
    for client in ("a", "b", "c"):
        attempts.failed(client, now=0.0)
    attempts.check("a", now=1.0)  # forgotten: the least recent of three
    with pytest.raises(Throttled):
        attempts.check("c", now=1.0)


def test_the_key_ring_counts_wrong_keys_only() -> None:
    ring = KeyRing(
        [ApiKey(name="v", sha256=hash_key("right-key-0123456789abcdef"), role="viewer")],
        FailedAttempts(limit=2),
    )
    for _ in range(5):
        assert ring.identify("right-key-0123456789abcdef", "c") is not None
    assert ring.identify("wrong", "c") is None and ring.identify("wrong", "c") is None
    with pytest.raises(Throttled):
        ring.identify("right-key-0123456789abcdef", "c")
    assert ring.identify(None, "c") is None  # no key at all is not an attempt
