"""Token buckets per key (an address, an agent): ``rate`` requests a minute, bursts of
``rate / 4``, one limit for the whole service.

With ``--workers N`` each worker used to keep its own buckets, so a caller spread over the
workers' connections got N times the limit. The buckets now live in a file every worker maps
(``path``, in the service's private state folder); a read-modify-write of one bucket holds
an ``flock`` on it for a few microseconds. Without a path (one process: the in-process tests)
they live in anonymous memory.

The table is bounded: ``SETS`` sets of ``WAYS`` buckets, a key's set chosen by a keyed hash
(a per-service random key, so a caller cannot aim its keys at one set). A new key takes an empty
bucket, else the one holding the most tokens once refilled: a full bucket carries no state,
so evicting it loses nothing. Only when every bucket of a set is in use and short of tokens
does a new key displace one, which then starts again from a full burst (at most ``burst``
extra requests for that key): a flood of over ``SETS * WAYS`` busy keys is needed for that.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import secrets
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

SETS = 4096
WAYS = 8
_BUCKET = struct.Struct("<Qdd")  # key fingerprint (0: empty), tokens, last refill (monotonic)
_SET = struct.Struct("<" + "Qdd" * WAYS)
_HEADER = 64  # the hash key, padded
SIZE = _HEADER + SETS * _SET.size


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,  # one clock for every process
    ) -> None:
        if per_minute < 1:
            raise ValueError("a rate limit must allow at least one request a minute")
        self.rate = per_minute / 60.0
        self.burst = max(1.0, per_minute / 4)
        self._lock = threading.Lock()  # flock does not exclude this process's own threads
        self._fd: int | None = None
        if path is None:
            self._map = mmap.mmap(-1, SIZE)
            self._map[:16] = secrets.token_bytes(16)
        else:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if os.fstat(self._fd).st_size < SIZE:  # the first worker lays the table out
                    os.ftruncate(self._fd, SIZE)
                    os.pwrite(self._fd, secrets.token_bytes(16), 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(self._fd, SIZE)
        self._hash_key = bytes(self._map[:16])
        self._clock = clock

    def fingerprint(self, key: str) -> int:
        """The key's 64-bit keyed hash (never 0, which marks an empty bucket)."""
        digest = hashlib.blake2b(key.encode(), digest_size=8, key=self._hash_key).digest()
        return int.from_bytes(digest, "little") or 1

    def set_of(self, key: str) -> int:
        """Which of the ``SETS`` sets holds the key's bucket."""
        return self.fingerprint(key) % SETS

    def retry_after(self, key: str) -> int:
        """0 when the request may go ahead (and is counted), else seconds to wait."""
        fingerprint = self.fingerprint(key)
        offset = _HEADER + (fingerprint % SETS) * _SET.size
        with self._lock:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = self._clock()
                values = list(_SET.unpack_from(self._map, offset))
                way = self._way(values, fingerprint, now)
                if values[3 * way] == fingerprint:
                    tokens = self._refilled(values[3 * way + 1], values[3 * way + 2], now)
                else:
                    tokens = self.burst
                wait = 0
                if tokens >= 1.0:
                    tokens -= 1.0
                else:
                    # minus a hair: float error must not round 5.0000001 s up to 6
                    wait = max(1, math.ceil((1.0 - tokens) / self.rate - 1e-9))
                _BUCKET.pack_into(self._map, offset + way * _BUCKET.size, fingerprint, tokens, now)
                return wait
            finally:
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _refilled(self, tokens: float, last: float, now: float) -> float:
        return min(self.burst, tokens + max(0.0, now - last) * self.rate)

    def _way(self, values: list[float], fingerprint: int, now: float) -> int:
        """The key's bucket in its set, else an empty one, else the fullest once refilled."""
        best, best_tokens = 0, -1.0
        for way in range(WAYS):
            held = values[3 * way]
            if held == fingerprint:
                return way
            tokens = (
                math.inf
                if held == 0
                else self._refilled(values[3 * way + 1], values[3 * way + 2], now)
            )
            if tokens > best_tokens:
                best, best_tokens = way, tokens
        return best

    def close(self) -> None:
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
