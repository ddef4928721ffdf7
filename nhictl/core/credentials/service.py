"""``CredentialService``: the one entry point for just-in-time credentials.

A facade: it holds the shared state (``CredentialContext``) and hands each operation to the
collaborator that owns it (``issue``, ``verify``, ``revoke``, ``statuslist``), so callers see
one object and each job stays in a small module.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nhictl.core.credentials.context import CredentialContext
from nhictl.core.credentials.issue import CredentialIssuer
from nhictl.core.credentials.records import (
    COLUMNS,
    AuthorizeResult,
    CredentialRecord,
    IssuedCredential,
    RevokeResult,
    VerifyResult,
)
from nhictl.core.credentials.revoke import CredentialRevoker
from nhictl.core.credentials.statuslist import (
    DEFAULT_STATUS_LIST_LIFETIME,
    DEFAULT_STATUS_LIST_TTL,
    StatusListPublisher,
)
from nhictl.core.credentials.verify import CredentialVerifier
from nhictl.core.revocation import STATUS_ACTIVE

if TYPE_CHECKING:
    from nhictl.core.dpop import DpopPresentation
    from nhictl.core.keys import KeyStore
    from nhictl.core.policy import PolicyEngine
    from nhictl.core.settings import Settings
    from nhictl.core.store.base import Store


class CredentialService(CredentialContext):
    """Issue, verify, authorize, revoke and rebind credentials in a ``Store``."""

    # The collaborators share this object's state; built on first use.
    @functools.cached_property
    def _issuing(self) -> CredentialIssuer:
        return CredentialIssuer(self)

    @functools.cached_property
    def _verifying(self) -> CredentialVerifier:
        return CredentialVerifier(self)

    @functools.cached_property
    def _revoking(self) -> CredentialRevoker:
        return CredentialRevoker(self, self._issuing)

    @functools.cached_property
    def _status_lists(self) -> StatusListPublisher:
        return StatusListPublisher(self)

    @classmethod
    def from_settings(
        cls,
        store: Store,
        keys: KeyStore,
        policies: PolicyEngine | Callable[[], PolicyEngine],
        settings: Settings,
        **extra: Any,
    ) -> CredentialService:
        return cls(
            store,
            keys,
            policies,
            issuer=settings["issuer"],
            default_audience=settings["token_audience"],
            status_list_uri=settings["status_list_uri"],
            ttl_ceiling_seconds=settings.ttl_ceiling_seconds,
            default_max_concurrent=int(settings["max_concurrent_credentials"]),
            leeway_seconds=float(settings["clock_leeway"]),
            **extra,
        )

    # -- issue ---------------------------------------------------------------------------------

    def issue(
        self,
        agent: str,
        *,
        task: str,
        intent: str,
        scopes: Sequence[str] | None = None,
        ttl_seconds: int | None = None,
        audience: str | None = None,
        data_sensitivity: str | None = None,
        environment: str | None = None,
        tools: Sequence[str] | None = None,
        on_behalf_of: str | None = None,
        consent: str | None = None,
        dpop_jkt: str | None = None,
    ) -> IssuedCredential:
        """Decide and mint a credential for one task. Raises ``IssueDenied`` on a deny.

        See ``CredentialIssuer.issue`` for the defaults."""
        return self._issuing.issue(
            agent,
            task=task,
            intent=intent,
            scopes=scopes,
            ttl_seconds=ttl_seconds,
            audience=audience,
            data_sensitivity=data_sensitivity,
            environment=environment,
            tools=tools,
            on_behalf_of=on_behalf_of,
            consent=consent,
            dpop_jkt=dpop_jkt,
        )

    # -- verify / authorize --------------------------------------------------------------------

    def verify(
        self,
        token: str,
        *,
        audience: str | None = None,
        task: str | None = None,
        dpop: DpopPresentation | None = None,
        binding_checked_by_caller: bool = False,
        any_audience: bool = False,
    ) -> VerifyResult:
        """Full online verification; never raises for a bad token (see ``VerifyResult``).

        A DPoP-bound token needs ``dpop`` (see ``CredentialVerifier.verify``)."""
        return self._verifying.verify(
            token,
            audience=audience,
            task=task,
            dpop=dpop,
            binding_checked_by_caller=binding_checked_by_caller,
            any_audience=any_audience,
        )

    def authorize(
        self,
        token: str,
        *,
        action: str,
        resource: str | None = None,
        attributes: Mapping[str, str] | None = None,
        audience: str | None = None,
        task: str | None = None,
        dpop: DpopPresentation | None = None,
    ) -> AuthorizeResult:
        """Verify the token, then ask the ``authorize`` policy about ``action``."""
        return self._verifying.authorize(
            token,
            action=action,
            resource=resource,
            attributes=attributes,
            audience=audience,
            task=task,
            dpop=dpop,
        )

    # -- revoke / task lifecycle / rebind ------------------------------------------------------

    def revoke(
        self,
        *,
        jti: str | None = None,
        agent: str | None = None,
        task: str | None = None,
        reason: str,
        action: str = "credential.revoke",
        allow_none: bool = False,
    ) -> RevokeResult:
        """Revoke the live credentials selected by exactly one of ``jti``/``agent``/``task``."""
        return self._revoking.revoke(
            jti=jti, agent=agent, task=task, reason=reason, action=action, allow_none=allow_none
        )

    def complete_task(self, task: str, *, allow_none: bool = False) -> RevokeResult:
        """The task is done: its credentials die."""
        return self._revoking.complete_task(task, allow_none=allow_none)

    def fail_task(self, task: str, reason: str, *, allow_none: bool = False) -> RevokeResult:
        """The task failed: its credentials die."""
        return self._revoking.fail_task(task, reason, allow_none=allow_none)

    def rebind(
        self,
        jti: str,
        *,
        task: str,
        intent: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> IssuedCredential:
        """Revoke a live credential and issue its successor for the changed task, atomically."""
        return self._revoking.rebind(jti, task=task, intent=intent, scopes=scopes)

    # -- queries -------------------------------------------------------------------------------

    def get(self, jti: str) -> CredentialRecord | None:
        with self.store.read() as tx:
            row = tx.one(f"SELECT {COLUMNS} FROM credentials WHERE jti = ?", (jti,))
        return CredentialRecord.from_row(row) if row else None

    def list(
        self, *, agent: str | None = None, active: bool = False, task: str | None = None
    ) -> list[CredentialRecord]:
        """Credentials, oldest first; ``active`` keeps only live ones: unrevoked and still
        accepted by verify (expiry plus the clock leeway, as the concurrency cap counts)."""
        sql = f"SELECT {COLUMNS} FROM credentials WHERE 1 = 1"
        params: list[Any] = []
        if agent is not None:
            sql += " AND agent = ?"
            params.append(agent)
        if task is not None:
            sql += " AND task = ?"
            params.append(task)
        if active:
            sql += " AND status = ? AND expires_at > ?"
            params += [STATUS_ACTIVE, self.usable_cutoff(self.clock())]
        sql += " ORDER BY issued_at, status_idx"
        with self.store.read() as tx:
            rows = tx.query(sql, params)
        return [CredentialRecord.from_row(r) for r in rows]

    # -- status list ---------------------------------------------------------------------------

    def status_list_token(
        self,
        *,
        lifetime: dt.timedelta = DEFAULT_STATUS_LIST_LIFETIME,
        ttl: dt.timedelta = DEFAULT_STATUS_LIST_TTL,
    ) -> str:
        """The signed Token Status List (``typ: statuslist+jwt``) offline verifiers fetch."""
        return self._status_lists.status_list_token(lifetime=lifetime, ttl=ttl)
