"""Verification: online ``verify`` and ``authorize`` against the store, and offline checks.

A refusal is a verdict (``VerifyResult`` / ``AuthorizeResult``), never an exception, and is
audited; only an unusable store or key folder raises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nhictl.core import auditlog
from nhictl.core.credentials.checks import SCOPE_RE, check_text
from nhictl.core.credentials.records import (
    CHECK_SQL,
    AuthorizeResult,
    CredentialRecord,
    VerifyResult,
    claims_facts,
)
from nhictl.core.dpop import DpopError, DpopPresentation, verify_proof
from nhictl.core.jose import KeySet, sha256_hex
from nhictl.core.policy.model import authorize_context
from nhictl.core.redact import redact
from nhictl.core.registry import (
    ACTIVE,
    DISABLED,
    EXPIRED,
    agent_status,
    find_agent,
)
from nhictl.core.revocation import STATUS_REVOKED
from nhictl.core.tokens import (
    DEFAULT_LEEWAY_SECONDS,
    TokenError,
    check_status,
    load_jwks,
    verify_access_token,
)

if TYPE_CHECKING:
    from nhictl.core.credentials.context import CredentialContext
    from nhictl.core.store.base import Store


class Refused(Exception):
    """Internal: a verification step failed with a reason code.

    ``message`` is redacted here, once, for every refusal: it may quote what the token or the
    caller supplied (a forged ``kid``, a ``--task``), and it goes to the caller, the terminal
    and the audit event, none of which may hold a token- or key-shaped value.
    """

    def __init__(self, reason: str, message: str, record: CredentialRecord | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = redact(message)
        self.record = record


def token_digest(token: object) -> str | None:
    """The audited SHA-256 of what was presented (``None`` when it was not even text)."""
    if isinstance(token, bytes):
        return hashlib.sha256(token.strip()).hexdigest()
    return sha256_hex(token.strip()) if isinstance(token, str) else None


def verify_token_offline(
    token: str,
    jwks: Mapping[str, Any] | KeySet,
    status_list_jwt: str,
    *,
    issuer: str,
    audience: str,
    task: str | None = None,
    now: dt.datetime | None = None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
    dpop: DpopPresentation | None = None,
) -> VerifyResult:
    """``verify`` for a resource server with only the published JWKS and status list (no
    store): signature, ``typ``, claims, then the token's bit in the status list (which must
    be signed by a key of ``jwks``, unexpired, and the list the token names), then ``task``,
    then a DPoP-bound token's proof (without a store a proof's reuse is not tracked).
    Never raises for a bad token or status list: see ``VerifyResult.reason``."""
    keys = load_jwks(jwks)
    try:
        claims = verify_access_token(
            token, keys, issuer=issuer, audience=audience, now=now, leeway=leeway
        )
    except TokenError as exc:
        return VerifyResult(False, exc.reason, exc.message)
    try:
        check_status(claims, status_list_jwt, keys, now=now, leeway=leeway)
    except TokenError as exc:
        return VerifyResult(False, exc.reason, exc.message, claims)
    facts = claims_facts(claims)
    if task is not None and task != facts["task"]:
        message = f"the credential is for task {facts['task']!r}, not {task[:80]!r}"
        return VerifyResult(False, "task-mismatch", message, claims)
    try:
        check_binding(token, claims, dpop, now=now or dt.datetime.now(dt.UTC), store=None)
    except Refused as exc:
        return VerifyResult(False, exc.reason, exc.message, claims)
    return VerifyResult(True, None, None, claims)


def check_binding(
    token: str,
    claims: Mapping[str, Any],
    dpop: DpopPresentation | None,
    *,
    now: dt.datetime,
    store: Store | None,
    leeway: float = DEFAULT_LEEWAY_SECONDS,
    record: CredentialRecord | None = None,
) -> None:
    """RFC 9449 section 7: a bound token (``cnf.jkt``) needs a proof from its key, for this
    token and this request; ``store`` refuses a proof seen before. Raises ``Refused``."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if jkt is None:
        return
    if dpop is None:
        raise Refused(
            "dpop-proof-required",
            "the token is DPoP-bound: present a proof from its key (--dpop-proof)",
            record,
        )
    try:
        verify_proof(
            dpop.proof,
            htm=dpop.htm,
            htu=dpop.htu,
            now=now,
            store=store,
            access_token=token,
            expected_jkt=str(jkt),
            leeway=leeway,
        )
    except DpopError as exc:
        raise Refused(exc.reason, exc.message, record) from None


class CredentialVerifier:
    """``verify`` and ``authorize``."""

    def __init__(self, ctx: CredentialContext) -> None:
        self.ctx = ctx

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
        """Full online verification. Never raises for a bad token: see ``VerifyResult.reason``.

        Signature, ``typ``, ``kid``, ``iss``, ``aud``, ``exp``/``nbf``/``iat`` (RFC 8725), then
        the store: the jti is ours and the token is the one we issued, not revoked, and the agent
        is still active. ``task``, when given, must be the token's task. A refusal is audited.

        Any input is a verdict, not an exception: text that is not a token (not ASCII, not
        text at all, a forged header quoting a token) is refused as ``malformed``. Only an
        unusable store or key folder raises (``StoreError``, ``NotInitializedError``): then no
        verdict can be given and none is pretended.

        A DPoP-bound token (``cnf.jkt``) is valid only with ``dpop``, a fresh proof from that
        key for the request at hand, unless ``binding_checked_by_caller`` (introspection: the
        resource server checks the proof and gets ``cnf`` back).

        ``any_audience`` accepts whatever audience the token names instead of ``audience``
        (introspection and revocation: the caller is told ``aud`` and decides).
        """
        now = self.ctx.clock()
        try:
            claims, record = self._check(
                token,
                audience=None if any_audience else audience or self.ctx.default_audience,
                task=task,
                now=now,
            )
            if not binding_checked_by_caller:
                check_binding(
                    token,
                    claims,
                    dpop,
                    now=now,
                    store=self.ctx.store,
                    leeway=self.ctx.leeway,
                    record=record,
                )
        except Refused as exc:
            self._audit_refusal("credential.verify", token, exc, now)
            return VerifyResult(False, exc.reason, exc.message, None, exc.record)
        return VerifyResult(True, None, None, claims, record)

    def _check(
        self, token: str, *, audience: str | None, task: str | None, now: dt.datetime
    ) -> tuple[dict[str, Any], CredentialRecord]:
        try:
            claims = verify_access_token(
                token,
                self.ctx.key_cache.keyset(),
                issuer=self.ctx.issuer,
                audience=audience,
                now=now,
                leeway=self.ctx.leeway,
            )
        except TokenError as exc:
            raise Refused(exc.reason, exc.message) from None
        row = self.ctx.store.read_one(CHECK_SQL, (claims["jti"],))
        if row is None:
            raise Refused("unknown-jti", "the token's jti is not a credential this registry issued")
        record = CredentialRecord.from_row(row[:-2])
        if record.token_sha256 != sha256_hex(token.strip()):
            raise Refused("token-mismatch", "the token is not the one issued under its jti")
        if record.status == STATUS_REVOKED:
            raise Refused("revoked", f"the credential was revoked: {record.revoked_reason}", record)
        agent_state = agent_status(row[-2], row[-1], now.date())
        if agent_state != ACTIVE:
            code = {DISABLED: "agent-disabled", EXPIRED: "agent-expired"}.get(
                agent_state, "agent-not-active"
            )
            raise Refused(code, f"agent {record.agent!r} is {agent_state}", record)
        if task is not None and task != record.task:
            raise Refused(
                "task-mismatch",
                f"the credential is for task {record.task!r}, not {task[:80]!r}",
                record,
            )
        return claims, record

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
        """Verify the token, check ``action`` is one of its scopes, then ask the ``authorize``
        policy with the token's task context plus the request. Every deny is audited."""
        check_text(action, SCOPE_RE, "action")
        now = self.ctx.clock()
        try:
            claims, record = self._check(
                token, audience=audience or self.ctx.default_audience, task=task, now=now
            )
            check_binding(
                token,
                claims,
                dpop,
                now=now,
                store=self.ctx.store,
                leeway=self.ctx.leeway,
                record=record,
            )
        except Refused as exc:
            self._audit_refusal("credential.authorize", token, exc, now, requested_action=action)
            return AuthorizeResult(
                False, action, resource, exc.reason, [exc.message], [], exc.record
            )
        with self.ctx.store.read() as tx:
            agent = find_agent(tx, record.agent)
            assert agent is not None  # _check joined it
            manifest = self.ctx.manifest(tx, agent)
        entity = self.ctx.entity(agent, manifest, agent.effective_status(now.date()))
        context = authorize_context(
            task=record.task,
            intent=record.intent,
            scopes=record.scopes,
            data_sensitivity=record.data_sensitivity,
            environment=record.environment,
            tools=record.tools,
            agent_revision=record.agent_revision,
            action=action,
            resource=resource,
            attributes=attributes,
            on_behalf_of=record.on_behalf_of,
            now=now,
        )
        decision = self.ctx.policies.decide("authorize", entity, context)
        if not decision.allowed:
            result = AuthorizeResult(
                False,
                action,
                resource,
                "policy-denied",
                list(decision.reasons),
                list(decision.policy_ids),
                record,
            )
        elif action not in record.scopes:
            # Backstop whatever the policies say: a credential never acts outside its scopes.
            result = AuthorizeResult(
                False,
                action,
                resource,
                "action-not-in-scope",
                [f"{action} is not among the credential's scopes"],
                ["builtin.action-in-scopes"],
                record,
            )
        else:
            return AuthorizeResult(
                True, action, resource, None, list(decision.reasons), decision.policy_ids, record
            )
        with self.ctx.store.write() as tx:
            auditlog.append(
                tx,
                action="credential.authorize",
                subject=record.agent,
                outcome="denied",
                details={
                    "jti": record.jti,
                    "task": record.task,
                    "action": action,
                    "resource": resource,
                    "attributes": dict(attributes or {}),
                    "reason": result.reason,
                    "reasons": result.reasons,
                    "policy_ids": result.policy_ids,
                },
                actor=self.ctx.actor,
                now=now,
            )
        return result

    def _audit_refusal(
        self,
        action: str,
        token: str,
        exc: Refused,
        now: dt.datetime,
        **extra: Any,
    ) -> None:
        record = exc.record
        details: dict[str, Any] = {
            "reason": exc.reason,
            "message": exc.message,
            # The hash lets an investigator match a token they hold; it reveals nothing.
            "token_sha256": token_digest(token),
            **extra,
        }
        if record is not None:
            details.update({"jti": record.jti, "task": record.task})
        with self.ctx.store.write() as tx:
            auditlog.append(
                tx,
                action=action,
                subject=record.agent if record else "unknown",
                outcome="denied",
                details=details,
                actor=self.ctx.actor,
                now=now,
            )
