"""The signing key and the parsed JWKS, cached per process and reloaded on rotation."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from nhictl.core.jose import KeySet
from nhictl.core.tokens import load_jwks

if TYPE_CHECKING:
    from nhictl.core.keys import KeyStore, SigningKey

    pass


class KeyCache:
    """The signing key and the parsed JWKS, reloaded when ``keys.json`` changes.

    Another process may rotate the key at any time; the metadata file is replaced atomically,
    so a changed (inode, mtime, size) means reload. The JWKS is also rebuilt every few seconds
    because retired keys leave it on a timer.
    """

    _JWKS_MAX_AGE = 5.0
    _STAT_INTERVAL = 1.0

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._signing: SigningKey | None = None
        self._keyset: KeySet | None = None
        self._keyset_at = 0.0
        self._checked_at = -1e9

    def _current_stamp(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.keys.keys_dir / "keys.json")
        except FileNotFoundError:
            return (0, 0, 0)
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def recheck(self) -> None:
        """Look at ``keys.json`` again on the next use (a caller that just rotated knows)."""
        with self._lock:
            self._checked_at = -1e9

    def _refresh(self) -> None:
        # stat() at most once a second: a rotation is picked up within a second, and signing
        # with the just-retired key meanwhile is harmless (it stays in the JWKS for its window).
        now = time.monotonic()
        if now - self._checked_at < self._STAT_INTERVAL:
            return
        self._checked_at = now
        stamp = self._current_stamp()
        if stamp != self._stamp:
            self._stamp, self._signing, self._keyset = stamp, None, None

    def signing_key(self) -> SigningKey:
        with self._lock:
            self._refresh()
            if self._signing is None:
                self._signing = self.keys.current()
            return self._signing

    def keyset(self) -> KeySet:
        with self._lock:
            self._refresh()
            now = time.monotonic()
            if self._keyset is None or now - self._keyset_at > self._JWKS_MAX_AGE:
                self._keyset = load_jwks(self.keys.public_jwks(), source="the nhictl JWKS")
                self._keyset_at = now
            return self._keyset
