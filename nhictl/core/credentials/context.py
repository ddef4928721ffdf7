"""What every credential operation shares: store, keys, policies, settings and caches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from nhictl.core import auditlog
from nhictl.core.credentials.keycache import KeyCache
from nhictl.core.credentials.statuslist import StatusIndexPool
from nhictl.core.errors import InputError
from nhictl.core.policy.model import agent_from_manifest
from nhictl.core.registry import AgentRecord, find_revision
from nhictl.core.revocation import credential_time, utcnow
from nhictl.core.store.base import Store, Tx

if TYPE_CHECKING:
    from nhictl.core.keys import KeyStore
    from nhictl.core.policy import AgentEntity, PolicyEngine


class CredentialContext:
    """The shared state of a ``CredentialService``; each collaborator holds one."""

    def __init__(
        self,
        store: Store,
        keys: KeyStore,
        policies: PolicyEngine | Callable[[], PolicyEngine],
        *,
        issuer: str,
        default_audience: str,
        status_list_uri: str,
        ttl_ceiling_seconds: int,
        default_max_concurrent: int = 5,
        leeway_seconds: float = 60.0,
        actor: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self._policies = policies
        self.issuer = issuer
        self.default_audience = default_audience
        self.status_list_uri = status_list_uri
        self.ttl_ceiling_seconds = ttl_ceiling_seconds
        self.default_max_concurrent = default_max_concurrent
        self.leeway = leeway_seconds
        self.actor = actor or auditlog.default_actor()
        self.clock = clock or utcnow
        self.key_cache = KeyCache(keys)
        self.status_indexes = StatusIndexPool(status_list_uri)
        # Revisions never change once stored, so their parsed manifests can be cached.
        self._manifests: dict[tuple[str, int], dict[str, Any]] = {}
        self._entities: dict[tuple[str, int, str], AgentEntity] = {}
        # The agent rows optimistic issues were last stored against: a hint that saves the
        # read before the decision, never trusted (the guarded insert re-checks the row under
        # the write lock, and a mismatch sends the issue down the locked path).
        self._agent_hints: dict[str, AgentRecord] = {}

    @property
    def policies(self) -> PolicyEngine:
        if callable(self._policies):
            self._policies = self._policies()
        return self._policies

    def jwks(self) -> dict[str, Any]:
        """The public JWKS verifiers need (current key plus retired keys still in their window)."""
        return self.keys.public_jwks()

    def manifest(self, tx: Tx, record: AgentRecord) -> dict[str, Any]:
        key = (record.name, record.revision)
        manifest = self._manifests.get(key)
        if manifest is None:
            revision = find_revision(tx, record.name, record.revision)
            if revision is None:  # pragma: no cover - the registry writes both together
                raise InputError(f"agent {record.name!r} has no revision {record.revision}")
            manifest = revision.manifest
            self._manifests[key] = manifest
        return manifest

    def entity(self, record: AgentRecord, manifest: Mapping[str, Any], status: str) -> AgentEntity:
        key = (record.name, record.revision, status)
        entity = self._entities.get(key)
        if entity is None:
            entity = agent_from_manifest(manifest, status=status, revision=record.revision)
            if len(self._entities) > 1024:
                self._entities.clear()
            self._entities[key] = entity
        return entity

    def agent_hint(self, name: str) -> AgentRecord | None:
        return self._agent_hints.get(name)

    def remember_agent(self, record: AgentRecord) -> None:
        if len(self._agent_hints) > 1024:
            self._agent_hints.clear()
        self._agent_hints[record.name] = record

    def forget_agent(self, name: str) -> None:
        self._agent_hints.pop(name, None)

    def usable_cutoff(self, now: dt.datetime) -> str:
        """Credentials with ``expires_at`` after this still verify at ``now``.

        ``verify`` accepts while ``now < exp + leeway``, i.e. ``exp > now - leeway``; ``exp``
        is whole seconds and ``_ts`` drops the fraction, so the text comparison is exact.
        """
        return credential_time(now - dt.timedelta(seconds=self.leeway))
