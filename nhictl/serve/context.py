"""Per-process wiring: the core Runtime, the one thread that touches the store, and limits.

The store's connection (SQLite) belongs to one thread: every core call runs inline on the
worker's event-loop thread (the one thread that runs the app). Handing each call to a
one-thread executor instead cost two thread switches and an event-loop wake-up per request
(~25 % of the worker's samples under load) and bought no concurrency: the core calls of one
process ran one at a time either way, and Granian's own threads keep doing the HTTP and TLS
work while a call runs. More throughput comes from more processes (``--workers``). Nothing
about revocation is cached here: each request reads the store.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from nhictl.core.credentials import CredentialService
from nhictl.core.runtime import Runtime
from nhictl.serve.dpop_nonce import nonce_secret
from nhictl.serve.metrics import Metrics
from nhictl.serve.options import ServeOptions
from nhictl.serve.ratelimit import RateLimiter

if TYPE_CHECKING:
    from nhictl.core.identity import TrustSources, VerifiedIdentity

T = TypeVar("T")


class ServiceContext:
    """Everything a request handler needs, built once per worker process."""

    def __init__(self, options: ServeOptions, runtime: Runtime | None = None) -> None:
        self.options = options
        self.runtime = runtime or Runtime()
        self.metrics = Metrics()
        shared = Path(options.state_dir) if options.state_dir else None
        self.by_address = RateLimiter(
            options.rate_per_address, shared / "rate-per-address" if shared else None
        )
        self.by_identity = RateLimiter(
            options.rate_per_identity, shared / "rate-per-identity" if shared else None
        )
        #: JWT-SVIDs verified against ``trust``, by (SHA-256, identity spec): ``clientauth``.
        self.verified_svids: dict[tuple[str, str], VerifiedIdentity] = {}
        #: Resource servers' introspection bearer tokens, by SHA-256: (client, exp). ``rsaccess``.
        self.introspection_tokens: dict[str, tuple[str, float]] = {}
        self._nonce_secret: tuple[str, bytes] | None = None

    @property
    def settings_issuer(self) -> str:
        return str(self.runtime.settings["issuer"])

    @cached_property
    def credentials(self) -> CredentialService:
        """The CLI's credential service, minting with the status list this service serves."""
        rt = self.runtime
        s = rt.settings
        return CredentialService(
            rt.store,
            rt.keys,
            lambda: rt.policies,
            issuer=s["issuer"],
            default_audience=s["token_audience"],
            status_list_uri=self.options.status_list_uri,
            ttl_ceiling_seconds=s.ttl_ceiling_seconds,
            default_max_concurrent=int(s["max_concurrent_credentials"]),
            leeway_seconds=float(s["clock_leeway"]),
            actor="nhictl-serve",
        )

    def credentials_as(self, actor: str) -> CredentialService:
        """The same service (sharing its key and manifest caches) auditing as ``actor``."""
        service = copy.copy(self.credentials)
        service.actor = actor
        return service

    @cached_property
    def trust(self) -> TrustSources:
        return self.runtime.trust()

    @property
    def leeway(self) -> float:
        return float(self.runtime.settings["clock_leeway"])

    @property
    def single_use_identity_tokens(self) -> bool:
        return bool(self.runtime.settings["single_use_identity_tokens"] == "true")

    @property
    def dpop_nonce_required(self) -> bool:
        """Setting ``dpop_nonce``: DPoP proofs at /token need a nonce from us (``dpop_nonce``)."""
        return bool(self.runtime.settings["dpop_nonce"] == "true")

    def dpop_nonce_secret(self) -> bytes:
        """The nonces' MAC key, derived from the current signing key (kept per key id)."""
        key = self.credentials.key_cache.signing_key()
        kept = self._nonce_secret
        if kept is None or kept[0] != key.kid:
            kept = self._nonce_secret = (key.kid, nonce_secret(key.private_key))
        return kept[1]

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def core(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (which may touch the store) on this thread, the only one that does."""
        return fn()

    def close(self) -> None:
        if "store" in self.runtime.__dict__:
            self.runtime.store.close()
        self.by_address.close()
        self.by_identity.close()
