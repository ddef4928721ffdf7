"""The service's token buckets: one limit across worker processes (a file they all map), a
bounded table that evicts what carries no state first, and Retry-After from the refill rate."""

from __future__ import annotations

import itertools
import multiprocessing
from pathlib import Path

import pytest

from nhictl.serve.ratelimit import SIZE, WAYS, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_429_with_retry_after_from_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one a second, bursts of 15
    assert [limiter.retry_after("a") for _ in range(15)] == [0] * 15
    assert limiter.retry_after("a") == 1
    assert limiter.retry_after("b") == 0  # another key has its own bucket
    clock.now += 1.0
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("a") == 1


def test_retry_after_says_how_long_until_a_token() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)  # one per 15 s, burst 1
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("a") == 15
    clock.now += 10.0
    assert limiter.retry_after("a") == 5
    clock.now += 5.0
    assert limiter.retry_after("a") == 0


def test_two_limiters_on_one_file_share_the_limit(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "rate"
    first = RateLimiter(8, path, clock=clock)  # burst 2
    second = RateLimiter(8, path, clock=clock)
    assert first.retry_after("10.0.0.1") == 0
    assert second.retry_after("10.0.0.1") == 0
    assert first.retry_after("10.0.0.1") > 0
    assert second.retry_after("10.0.0.1") > 0
    assert path.stat().st_size == SIZE and path.stat().st_mode & 0o777 == 0o600
    first.close()
    second.close()


def _spend(args: tuple[str, int]) -> int:
    path, attempts = args
    limiter = RateLimiter(60, Path(path))  # burst 15, one more a second
    allowed = sum(limiter.retry_after("shared-key") == 0 for _ in range(attempts))
    limiter.close()
    return allowed


def test_processes_hammering_one_key_get_one_burst_between_them(tmp_path: Path) -> None:
    path = tmp_path / "rate"
    RateLimiter(60, path).close()  # laid out once, as the first worker does
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        allowed = pool.map(_spend, [(str(path), 200)] * 4)
    # 15 at once, plus one a second for however long the processes took (well under 10 s).
    assert 15 <= sum(allowed) < 25, allowed


def _same_set(limiter: RateLimiter, count: int) -> list[str]:
    by_set: dict[int, list[str]] = {}
    for n in itertools.count():
        key = f"10.1.{n // 256}.{n % 256}"
        keys = by_set.setdefault(limiter.set_of(key), [])
        keys.append(key)
        if len(keys) == count:
            return keys
    raise AssertionError("unreachable")


def test_a_full_set_evicts_the_bucket_that_carries_no_state() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)  # burst 1: one request empties a bucket
    idle, *busy = _same_set(limiter, WAYS + 1)
    newcomer = busy.pop()
    assert limiter.retry_after(idle) == 0
    clock.now += 60.0  # the idle key's bucket is full again: nothing to remember
    for key in busy:
        assert limiter.retry_after(key) == 0
    assert limiter.retry_after(newcomer) == 0  # takes the idle key's place
    for key in busy:  # every busy key is still limited: none was evicted
        assert limiter.retry_after(key) > 0
    assert limiter.retry_after(idle) == 0  # a fresh, full bucket: it had lost nothing


def test_a_flood_of_new_keys_in_one_set_churns_one_bucket_and_spares_the_rest() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)  # burst 1
    keys = _same_set(limiter, 3 * WAYS)
    assert all(limiter.retry_after(key) == 0 for key in keys)
    # Every bucket was busy (no tokens) when the newcomers came: each took the same one, so
    # the first keys but one keep their state, and so does the last newcomer.
    assert all(limiter.retry_after(key) > 0 for key in [*keys[1:WAYS], keys[-1]])
    assert limiter.retry_after(keys[0]) == 0  # the one displaced starts from a full burst


def test_a_rate_below_one_a_minute_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one request a minute"):
        RateLimiter(0)
