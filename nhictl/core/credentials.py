"""Just-in-time credentials: issue, verify, authorize, revoke, rebind, and the status list.

An agent never holds a standing secret. ``issue`` mints an RFC 9068 access token for one task,
decided at request time by the Cedar ``issue`` policy with the full task context, and bound to
the agent's verified workload identity (``sub``, or ``act.sub`` when acting on behalf of a
human). The store keeps the credential's facts and the SHA-256 of the token, never the token.

Two layers decide an issuance, in this order:

1. the policy engine (operators edit these policies; a denial names their ``@id``s), then
2. built-in guards (ids ``builtin.*``) that hold whatever the policies say: scopes inside the
   intent, TTL within ``maxTtl`` and the registry ceiling, sensitivity and environment within the
   manifest, tools within the tool reach, a declared audience and delegation subject, and the
   ``maxConcurrentCredentials`` cap (counted inside the write transaction).

Every check and the insert run in one write transaction (``BEGIN IMMEDIATE`` on SQLite), so an
agent disabled by another process cannot receive a credential after its disable committed, and
the concurrency cap cannot be overshot by racing issuers. Every issue, revoke and denial
(issue, verify, authorize) appends its audit event in the same transaction as the state change.

Revocation is online (``verify`` / ``authorize`` read the store) and offline (the signed Token
Status List from ``status_list_token``, checked by ``verify_offline`` with only the JWKS).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from nhictl.core import auditlog
from nhictl.core._jose import KeySet, from_epoch, sha256_hex, to_epoch
from nhictl.core.durations import parse_duration
from nhictl.core.errors import InputError, VerdictError
from nhictl.core.policy.model import (
    agent_from_manifest,
    authorize_context,
    issue_context,
    sensitivity_rank,
)
from nhictl.core.redact import looks_like_secret, redact, reject_secret
from nhictl.core.registry import (
    ACTIVE,
    DISABLE_HOOKS,
    DISABLED,
    EXPIRED,
    AgentRecord,
    agent_names,
    check_agent_name,
    find_agent,
    find_revision,
)
from nhictl.core.store.base import Row, Store, Tx
from nhictl.core.tokens import (
    DEFAULT_LEEWAY_SECONDS,
    TokenError,
    build_status_list,
    check_status,
    load_jwks,
    mint_access_token,
    sign_status_list,
    token_scopes,
    verify_access_token,
    verify_offline,
)

if TYPE_CHECKING:
    from nhictl.core.keys import KeyStore, SigningKey
    from nhictl.core.policy import AgentEntity, Decision, PolicyEngine
    from nhictl.core.settings import Settings

__all__ = [
    "AuthorizeResult",
    "CredentialError",
    "CredentialRecord",
    "CredentialService",
    "IssueDenied",
    "IssuedCredential",
    "RevokeResult",
    "VerifyResult",
    "revoke_agent_credentials",
    "verify_offline",
    "verify_token_offline",
]

# Stored credential status. "expired" is never stored: it is an active row past expires_at.
STATUS_ACTIVE = "active"
STATUS_REVOKED = "revoked"
STATUS_EXPIRED = "expired"

#: Status list indexes handed out after a publication read as valid in it (see
#: ``status_list_token``); this many are published ahead so fresh tokens verify offline.
STATUS_LIST_HEADROOM = 4096
DEFAULT_STATUS_LIST_LIFETIME = dt.timedelta(minutes=15)
DEFAULT_STATUS_LIST_TTL = dt.timedelta(minutes=5)

# Task ids and subjects end up in tokens, audit events and terminal output: keep them plain.
_TASK_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=#-]{0,199}", re.ASCII)
_SUBJECT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}", re.ASCII)
_REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+=#-]{0,255}", re.ASCII)
_SCOPE_RE = re.compile(r"[!#-\[\]-~]{1,256}", re.ASCII)  # RFC 6749 scope-token characters
_MAX_REASON = 500
_AUDIT_JTI_LIMIT = 100
#: How many recent jtis / task ids a did-you-mean compares against (the store may hold many).
_SUGGEST_POOL = 5000
_SELECTORS = ("jti", "agent", "task")
_EXPECTED = {
    "jti": "pass the credential's jti (`nhictl credentials list` shows them; "
    "`nhictl verify - -f json < FILE` shows a token's jti)",
    "agent": "pass the agent's name (`nhictl agents list` shows them)",
    "task": "pass the task id (`nhictl credentials list` shows them)",
}
_WHAT = {"jti": "jti", "agent": "agent name", "task": "task id"}

_COLUMNS = (
    "jti, agent, agent_revision, subject, task, intent, scopes_json, audience, "
    "data_sensitivity, environment, tools_json, on_behalf_of, consent, ttl_seconds, issued_at, "
    "expires_at, status, status_list, status_idx, kid, token_sha256, decision_json, parent_jti, "
    "issued_by, revoked_at, revoked_by, revoked_reason"
)


_INSERT_SQL = (
    f"INSERT INTO credentials ({_COLUMNS}) VALUES ({', '.join('?' * (_COLUMNS.count(',') + 1))})"
)
# ``verify``: the credential and its agent's state in one query (built once, not per call).
_CHECK_SQL = (
    "SELECT "
    + ", ".join(f"c.{c.strip()}" for c in _COLUMNS.split(","))
    + ", a.status, a.review_expires FROM credentials c JOIN agents a ON a.name = c.agent "
    "WHERE c.jti = ?"
)


class CredentialError(VerdictError):
    """A credential operation was refused (exit 1). ``reason`` is a stable code."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        policy_ids: Sequence[str] = (),
        reasons: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason
        self.policy_ids = list(policy_ids)
        self.reasons = list(reasons)


class IssueDenied(CredentialError):
    """Issuance (or rebind) was denied by policy or a built-in guard; nothing was issued."""


# --------------------------------------------------------------------------- results


def _text_list(raw: str) -> list[str]:
    value = json.loads(raw)
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class CredentialRecord:
    """What the store knows about one credential (never the token itself)."""

    jti: str
    agent: str
    agent_revision: int
    subject: str
    task: str
    intent: str
    scopes: list[str]
    audience: str
    data_sensitivity: str
    environment: str
    tools: list[str]
    on_behalf_of: str | None
    consent: str | None
    ttl_seconds: int
    issued_at: str
    expires_at: str
    status: str
    status_list: str
    status_idx: int
    kid: str
    token_sha256: str = field(repr=False)
    decision: dict[str, Any] = field(repr=False)
    parent_jti: str | None
    issued_by: str
    revoked_at: str | None
    revoked_by: str | None
    revoked_reason: str | None

    @classmethod
    def from_row(cls, row: Row) -> CredentialRecord:
        return cls(
            jti=row[0],
            agent=row[1],
            agent_revision=int(row[2]),
            subject=row[3],
            task=row[4],
            intent=row[5],
            scopes=_text_list(row[6]),
            audience=row[7],
            data_sensitivity=row[8],
            environment=row[9],
            tools=_text_list(row[10]),
            on_behalf_of=row[11],
            consent=row[12],
            ttl_seconds=int(row[13]),
            issued_at=row[14],
            expires_at=row[15],
            status=row[16],
            status_list=row[17],
            status_idx=int(row[18]),
            kid=row[19],
            token_sha256=row[20],
            decision=json.loads(row[21]),
            parent_jti=row[22],
            issued_by=row[23],
            revoked_at=row[24],
            revoked_by=row[25],
            revoked_reason=row[26],
        )

    def to_row(self) -> Row:
        """The ``credentials`` row, in ``_COLUMNS`` order (``from_row`` reads it back)."""
        return (
            self.jti,
            self.agent,
            self.agent_revision,
            self.subject,
            self.task,
            self.intent,
            json.dumps(self.scopes),
            self.audience,
            self.data_sensitivity,
            self.environment,
            json.dumps(self.tools),
            self.on_behalf_of,
            self.consent,
            self.ttl_seconds,
            self.issued_at,
            self.expires_at,
            self.status,
            self.status_list,
            self.status_idx,
            self.kid,
            self.token_sha256,
            json.dumps(self.decision, sort_keys=True),
            self.parent_jti,
            self.issued_by,
            self.revoked_at,
            self.revoked_by,
            self.revoked_reason,
        )

    def state(self, now: dt.datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.status == STATUS_REVOKED:
            return STATUS_REVOKED
        if self.expires_at <= _ts(now):
            return STATUS_EXPIRED
        return STATUS_ACTIVE

    def to_dict(self, now: dt.datetime | None = None) -> dict[str, Any]:
        return {
            "jti": self.jti,
            "agent": self.agent,
            "agent_revision": self.agent_revision,
            "subject": self.subject,
            "task": self.task,
            "intent": self.intent,
            "scopes": self.scopes,
            "audience": self.audience,
            "data_sensitivity": self.data_sensitivity,
            "environment": self.environment,
            "tools": self.tools,
            "on_behalf_of": self.on_behalf_of,
            "ttl_seconds": self.ttl_seconds,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "status": self.state(now),
            "status_idx": self.status_idx,
            "kid": self.kid,
            "parent_jti": self.parent_jti,
            "issued_by": self.issued_by,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
            "revoked_reason": self.revoked_reason,
            "policy_ids": list(self.decision.get("policy_ids", [])),
        }


@dataclass(frozen=True)
class IssuedCredential:
    """A freshly minted credential. ``token`` is the only copy: hand it over, never log it."""

    token: str = field(repr=False)
    record: CredentialRecord

    @property
    def jti(self) -> str:
        return self.record.jti

    def to_json(self) -> dict[str, Any]:
        """The ``issue --format json`` document."""
        return {
            "token": self.token,
            "jti": self.record.jti,
            "agent": self.record.agent,
            "task": self.record.task,
            "scopes": self.record.scopes,
            "expires_at": self.record.expires_at,
        }


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``verify``. Invalid results carry one ``reason`` code and a ``message``."""

    valid: bool
    reason: str | None = None
    message: str | None = None
    claims: dict[str, Any] | None = field(default=None, repr=False)
    record: CredentialRecord | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``verify --format json`` document (offline: from the verified claims)."""
        rec = self.record
        if rec is None and self.claims is not None:
            return {"valid": self.valid, "reason": self.reason, **_claims_facts(self.claims)}
        return {
            "valid": self.valid,
            "reason": self.reason,
            "jti": rec.jti if rec else None,
            "agent": rec.agent if rec else None,
            "task": rec.task if rec else None,
            "scopes": rec.scopes if rec else None,
            "expires_at": rec.expires_at if rec else None,
        }


def _claims_facts(claims: Mapping[str, Any]) -> dict[str, Any]:
    """What ``VerifyResult.to_json`` shows from a record, read from verified claims."""
    task = claims.get("txn")
    return {
        "jti": claims["jti"],
        "agent": claims["client_id"],
        "task": task if isinstance(task, str) else None,
        "scopes": token_scopes(claims),
        "expires_at": _ts(from_epoch(claims["exp"])),
    }


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
) -> VerifyResult:
    """``verify`` for a resource server with only the published JWKS and status list (no
    store): signature, ``typ``, claims, then the token's bit in the status list (which must
    be signed by a key of ``jwks``, unexpired, and the list the token names), then ``task``.
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
    facts = _claims_facts(claims)
    if task is not None and task != facts["task"]:
        message = f"the credential is for task {facts['task']!r}, not {task[:80]!r}"
        return VerifyResult(False, "task-mismatch", message, claims)
    return VerifyResult(True, None, None, claims)


@dataclass(frozen=True)
class AuthorizeResult:
    """Outcome of ``authorize``: ``allowed``, and on a deny the reason code, reasons and ids."""

    allowed: bool
    action: str
    resource: str | None
    reason: str | None = None
    reasons: list[str] = field(default_factory=list)
    policy_ids: list[str] = field(default_factory=list)
    record: CredentialRecord | None = None

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        return {
            "allowed": self.allowed,
            "decision": "allow" if self.allowed else "deny",
            "reason": self.reason,
            "reasons": self.reasons,
            "policy_ids": self.policy_ids,
            "action": self.action,
            "resource": self.resource,
            "jti": rec.jti if rec else None,
            "agent": rec.agent if rec else None,
            "task": rec.task if rec else None,
        }


@dataclass(frozen=True)
class RevokeResult:
    """What a revoke did: how many live credentials it revoked, and which.

    ``known`` is False only under ``allow_none`` for a jti, agent or task the store has never
    seen (without ``allow_none`` that is an ``InputError``). ``state`` is, for a jti that was
    not live, what it is instead (``revoked`` or ``expired``).
    """

    selector: str
    value: str
    revoked: int
    jtis: list[str]
    known: bool = True
    state: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "selector": self.selector,
            "value": self.value,
            "revoked": self.revoked,
            "jtis": self.jtis,
            "known": self.known,
        }


# --------------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Request:
    """A resolved issuance request (defaults applied)."""

    agent: str
    task: str
    intent: str
    scopes: list[str]
    ttl_seconds: int
    audience: str
    data_sensitivity: str
    environment: str
    tools: list[str]
    on_behalf_of: str | None
    consent: str | None


@dataclass(frozen=True)
class _Denial:
    reason: str
    reasons: list[str]
    policy_ids: list[str]
    hint: str | None = None


class _Refused(Exception):
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


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ts(moment: dt.datetime | None = None) -> str:
    """Credential timestamps: ISO 8601 UTC to the second, like ``exp``. Stored and compared as
    text, so every credential timestamp uses this one format (``expires_at > _ts(now)``)."""
    # isoformat is C all the way; strftime is slower, and this runs several times per issue.
    return (moment or _utcnow()).astimezone(dt.UTC).isoformat(timespec="seconds")[:19] + "Z"


def _check_text(value: str, pattern: re.Pattern[str], what: str) -> str:
    reject_secret(value, what, expected=f"pass the {what} itself")
    if not pattern.fullmatch(value):
        shown = value[:40]
        raise InputError(
            f"invalid {what} {shown!r}: it must start with a letter or digit, be short, and "
            "hold no spaces or unusual characters"
        )
    return value


def _check_reason(reason: str) -> str:
    text = " ".join(str(reason).split())
    if not text:
        raise InputError("--reason must say why")
    if looks_like_secret(text):
        raise InputError("--reason must not contain a token or key (it is not shown)")
    return text[:_MAX_REASON]


def _check_selector(selector: str, value: str) -> str:
    """A jti, agent name or task id to look up: never a pasted token (refused unshown)."""
    if selector == "agent":
        return check_agent_name(value)
    reject_secret(value, _WHAT[selector], expected=_EXPECTED[selector])
    return value


def _intent_spec(manifest: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for intent in manifest.get("spec", {}).get("intents", []):
        if isinstance(intent, Mapping) and intent.get("name") == name:
            return intent
    return None


def _duration(value: Any, default: int) -> int:
    return _parse_duration(value) if isinstance(value, str) else default


@functools.lru_cache(maxsize=256)
def _parse_duration(text: str) -> int:
    # Pure, and the same few manifest values are parsed on every issue.
    return parse_duration(text)


class _KeyCache:
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


# --------------------------------------------------------------------------- the service


class CredentialService:
    """Issue, verify, authorize, revoke and rebind credentials in a ``Store``."""

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
        self._clock = clock or _utcnow
        self._key_cache = _KeyCache(keys)
        # Revisions never change once stored, so their parsed manifests can be cached.
        self._manifests: dict[tuple[str, int], dict[str, Any]] = {}
        self._entities: dict[tuple[str, int, str], AgentEntity] = {}

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

    @property
    def policies(self) -> PolicyEngine:
        if callable(self._policies):
            self._policies = self._policies()
        return self._policies

    def jwks(self) -> dict[str, Any]:
        """The public JWKS verifiers need (current key plus retired keys still in their window)."""
        return self.keys.public_jwks()

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
    ) -> IssuedCredential:
        """Decide and mint a credential for one task. Raises ``IssueDenied`` on a deny.

        Defaults: scopes = the intent's scopes, TTL = ``defaultTtl``, audience = the registry
        default, sensitivity = the intent's (else the manifest's) ceiling, environment = the
        manifest's only environment (required when it declares several), tools = the intent's.
        """
        check_agent_name(agent)
        _check_text(task, _TASK_RE, "task id")
        for value, what in (
            (intent, "intent"),
            (audience, "audience"),
            (data_sensitivity, "data sensitivity"),
            (environment, "environment"),
        ):
            if isinstance(value, str):
                reject_secret(value, what, expected=f"pass the {what} itself")
        if on_behalf_of is not None:
            _check_text(on_behalf_of, _SUBJECT_RE, "on-behalf-of subject")
        if consent is not None:
            _check_text(consent, _REF_RE, "consent reference")
        for scope in scopes or ():
            _check_text(scope, _SCOPE_RE, "scope")
        if ttl_seconds is not None and (type(ttl_seconds) is not int or ttl_seconds <= 0):
            raise InputError("the TTL must be a positive number of seconds")
        ask = {
            "task": task,
            "intent": intent,
            "scopes": None if scopes is None else list(scopes),
            "ttl_seconds": ttl_seconds,
            "audience": audience,
            "data_sensitivity": data_sensitivity,
            "environment": environment,
            "tools": None if tools is None else list(tools),
            "on_behalf_of": on_behalf_of,
            "consent": consent,
        }
        now = self._clock()
        with self.store.write() as tx:
            result = self._issue_in_tx(tx, agent, ask, now, action="credential.issue")
        if isinstance(result, _Denial):
            raise _denied(agent, result)
        return result

    def _issue_in_tx(
        self,
        tx: Tx,
        agent_name: str,
        ask: Mapping[str, Any],
        now: dt.datetime,
        *,
        action: str,
        replacing: CredentialRecord | None = None,
    ) -> IssuedCredential | _Denial:
        """Decide, and on allow mint and store; on deny append the denial event only."""
        record = find_agent(tx, agent_name)
        if record is None:
            from nhictl.core.suggest import did_you_mean

            suggestion = did_you_mean(agent_name, agent_names(tx))
            denial = _Denial(
                "agent-not-registered",
                [f"no agent named {agent_name!r} is registered"],
                ["builtin.agent-registered"],
                hint=(f"{suggestion} " if suggestion else "")
                + "(`nhictl agents list` shows every registered agent)",
            )
            return self._deny(tx, action, agent_name, ask, denial, now, replacing)
        status = record.effective_status(now.date())
        if status != ACTIVE:
            denial = _Denial(
                "agent-not-active",
                [f"agent {agent_name!r} is {status}: only active, approved agents get credentials"],
                ["builtin.agent-active"],
            )
            return self._deny(tx, action, agent_name, ask, denial, now, replacing)
        manifest = self._manifest(tx, record)
        request = self._resolve(record, manifest, ask)
        entity = self._entity(record, manifest, status)

        decision = self.policies.decide(
            "issue",
            entity,
            issue_context(
                task=request.task,
                intent=request.intent,
                scopes=request.scopes,
                data_sensitivity=request.data_sensitivity,
                environment=request.environment,
                tools=request.tools,
                ttl_seconds=request.ttl_seconds,
                agent_revision=record.revision,
                on_behalf_of=request.on_behalf_of,
                now=now,
            ),
        )
        if not decision.allowed:
            denial = _Denial("policy-denied", list(decision.reasons), list(decision.policy_ids))
            return self._deny(tx, action, agent_name, ask, denial, now, replacing)
        failures = self._guards(manifest, request)
        if not failures:
            failures = self._concurrency_guard(tx, manifest, request, now, replacing)
        if failures:
            denial = _Denial(
                "guard-denied", [why for _, why in failures], [gid for gid, _ in failures]
            )
            return self._deny(tx, action, agent_name, ask, denial, now, replacing)
        return self._mint_and_store(tx, record, manifest, request, decision, now, action, replacing)

    def _manifest(self, tx: Tx, record: AgentRecord) -> dict[str, Any]:
        key = (record.name, record.revision)
        manifest = self._manifests.get(key)
        if manifest is None:
            revision = find_revision(tx, record.name, record.revision)
            if revision is None:  # pragma: no cover - the registry writes both together
                raise InputError(f"agent {record.name!r} has no revision {record.revision}")
            manifest = revision.manifest
            self._manifests[key] = manifest
        return manifest

    def _entity(self, record: AgentRecord, manifest: Mapping[str, Any], status: str) -> AgentEntity:
        key = (record.name, record.revision, status)
        entity = self._entities.get(key)
        if entity is None:
            entity = agent_from_manifest(manifest, status=status, revision=record.revision)
            if len(self._entities) > 1024:
                self._entities.clear()
            self._entities[key] = entity
        return entity

    def _resolve(
        self, record: AgentRecord, manifest: Mapping[str, Any], ask: Mapping[str, Any]
    ) -> _Request:
        """Apply the defaults to a request; ``InputError`` only for unusable input."""
        spec = manifest["spec"]
        intent_name = ask["intent"]
        if not isinstance(intent_name, str) or not intent_name:
            raise InputError("--intent is required")
        intent = _intent_spec(manifest, intent_name) or {}
        creds = spec.get("credentials", {})
        max_ttl = _duration(creds.get("maxTtl"), self.ttl_ceiling_seconds)
        ttl = ask["ttl_seconds"] or _duration(creds.get("defaultTtl"), min(max_ttl, 900))
        envs = list(spec.get("environments", []))
        environment = ask["environment"]
        if environment is None:
            if len(envs) != 1:
                raise InputError(
                    f"agent {record.name!r} is registered for {', '.join(envs)}: say which "
                    "environment with --env"
                )
            environment = envs[0]
        sensitivity = (
            ask["data_sensitivity"] or intent.get("dataSensitivity") or spec["dataSensitivity"]
        )
        sensitivity_rank(sensitivity)  # InputError for an unknown level
        scopes = ask["scopes"] if ask["scopes"] is not None else list(intent.get("scopes", []))
        tools = ask["tools"] if ask["tools"] is not None else list(intent.get("tools", []))
        for tool in tools:
            _check_text(tool, _SUBJECT_RE, "tool")
        return _Request(
            agent=record.name,
            task=ask["task"],
            intent=intent_name,
            scopes=list(dict.fromkeys(scopes)),
            ttl_seconds=int(ttl),
            audience=ask["audience"] or self.default_audience,
            data_sensitivity=sensitivity,
            environment=environment,
            tools=list(dict.fromkeys(tools)),
            on_behalf_of=ask["on_behalf_of"],
            consent=ask["consent"],
        )

    def _guards(self, manifest: Mapping[str, Any], req: _Request) -> list[tuple[str, str]]:
        """Checks no policy can relax. Returns (builtin id, reason) for each failure."""
        spec = manifest["spec"]
        failures: list[tuple[str, str]] = []
        intent = _intent_spec(manifest, req.intent)
        if intent is None:
            failures.append(
                ("builtin.intent-declared", f"intent {req.intent!r} is not in the manifest")
            )
            intent = {}
        declared_scopes = set(intent.get("scopes", []))
        if not req.scopes:
            failures.append(("builtin.scopes-required", "a credential needs at least one scope"))
        outside = [s for s in req.scopes if s not in declared_scopes]
        if outside:
            failures.append(
                (
                    "builtin.scopes-within-intent",
                    f"scope(s) {', '.join(outside)} are not declared for intent {req.intent!r}",
                )
            )
        creds = spec.get("credentials", {})
        max_ttl = _duration(creds.get("maxTtl"), 0)
        if req.ttl_seconds > max_ttl:
            failures.append(
                (
                    "builtin.ttl-within-agent-max",
                    f"TTL {req.ttl_seconds}s exceeds the agent's maxTtl ({max_ttl}s)",
                )
            )
        if req.ttl_seconds > self.ttl_ceiling_seconds:
            failures.append(
                (
                    "builtin.ttl-within-ceiling",
                    f"TTL {req.ttl_seconds}s exceeds the registry ceiling "
                    f"({self.ttl_ceiling_seconds}s)",
                )
            )
        ceilings = [spec["dataSensitivity"]]
        if isinstance(intent.get("dataSensitivity"), str):
            ceilings.append(intent["dataSensitivity"])
        ceiling = min(ceilings, key=sensitivity_rank)
        if sensitivity_rank(req.data_sensitivity) > sensitivity_rank(ceiling):
            failures.append(
                (
                    "builtin.sensitivity-within-ceiling",
                    f"data sensitivity {req.data_sensitivity} is above the ceiling {ceiling}",
                )
            )
        if req.environment not in spec.get("environments", []):
            failures.append(
                (
                    "builtin.environment-declared",
                    f"environment {req.environment!r} is not declared for the agent",
                )
            )
        reach = set(spec.get("tools", []))
        if "tools" in intent:
            reach &= set(intent["tools"])
        beyond = [t for t in req.tools if t not in reach]
        if beyond:
            failures.append(
                (
                    "builtin.tools-declared",
                    f"tool(s) {', '.join(beyond)} are outside the declared tool reach",
                )
            )
        audiences = list(creds.get("audiences") or [self.default_audience])
        if req.audience not in audiences:
            failures.append(
                (
                    "builtin.audience-declared",
                    f"audience {req.audience[:80]!r} is not declared in spec.credentials.audiences",
                )
            )
        if req.on_behalf_of is not None:
            obo = spec.get("onBehalfOf")
            patterns = list(obo.get("subjects", [])) if isinstance(obo, Mapping) else []
            # One '@' at most, so "user:x@evil.test@example.com" cannot pass "user:*@example.com".
            if req.on_behalf_of.count("@") > 1 or not any(
                fnmatchcase(req.on_behalf_of, p) for p in patterns
            ):
                failures.append(
                    (
                        "builtin.on-behalf-of-declared",
                        f"the agent may not act on behalf of {req.on_behalf_of!r}",
                    )
                )
            needs_consent = not isinstance(obo, Mapping) or obo.get("requireConsent", True)
            if needs_consent and not req.consent:
                failures.append(
                    (
                        "builtin.consent-required",
                        "delegated credentials for this agent must cite a consent reference",
                    )
                )
        elif req.consent is not None:
            failures.append(("builtin.consent-without-delegation", "consent needs on-behalf-of"))
        return failures

    def _concurrency_guard(
        self,
        tx: Tx,
        manifest: Mapping[str, Any],
        req: _Request,
        now: dt.datetime,
        replacing: CredentialRecord | None,
    ) -> list[tuple[str, str]]:
        cap = manifest["spec"].get("credentials", {}).get("maxConcurrentCredentials")
        limit = int(cap) if isinstance(cap, int) else self.default_max_concurrent
        # Answered from the (agent, status, expires_at) index alone: no row lookups. Counts
        # what verify still accepts, expiry plus the clock leeway: a token past its exp but
        # inside the leeway is usable, so it holds its place under the cap.
        row = tx.one(
            "SELECT COUNT(*) FROM credentials WHERE agent = ? AND status = ? AND expires_at > ?",
            (req.agent, STATUS_ACTIVE, self._usable_cutoff(now)),
        )
        live = int(row[0]) if row else 0
        if replacing is not None and replacing.agent == req.agent:
            live -= 1  # rebind: the credential being replaced is live (checked) and counted
        if live >= limit:
            return [
                (
                    "builtin.max-concurrent-credentials",
                    f"agent {req.agent!r} already holds {live} live credential(s) "
                    f"(maxConcurrentCredentials {limit})",
                )
            ]
        return []

    def _usable_cutoff(self, now: dt.datetime) -> str:
        """Credentials with ``expires_at`` after this still verify at ``now``.

        ``verify`` accepts while ``now < exp + leeway``, i.e. ``exp > now - leeway``; ``exp``
        is whole seconds and ``_ts`` drops the fraction, so the text comparison is exact.
        """
        return _ts(now - dt.timedelta(seconds=self.leeway))

    def _next_status_index(self, tx: Tx, now: dt.datetime) -> int:
        sql = "UPDATE status_lists SET next_idx = next_idx + 1 WHERE uri = ? RETURNING next_idx"
        rows = tx.query(sql, (self.status_list_uri,))
        if not rows:
            tx.execute(
                "INSERT INTO status_lists (uri, next_idx, created_at) VALUES (?, 0, ?) "
                "ON CONFLICT (uri) DO NOTHING",
                (self.status_list_uri, _ts(now)),
            )
            rows = tx.query(sql, (self.status_list_uri,))
        return int(rows[0][0]) - 1

    def _mint_and_store(
        self,
        tx: Tx,
        record: AgentRecord,
        manifest: Mapping[str, Any],
        req: _Request,
        decision: Decision,
        now: dt.datetime,
        action: str,
        replacing: CredentialRecord | None,
    ) -> IssuedCredential:
        subject = _workload_subject(manifest)
        key = self._key_cache.signing_key()
        index = self._next_status_index(tx, now)
        minted = mint_access_token(
            key,
            issuer=self.issuer,
            subject=subject,
            audience=req.audience,
            client_id=req.agent,
            scopes=req.scopes,
            ttl=dt.timedelta(seconds=req.ttl_seconds),
            task_id=req.task,
            intent=req.intent,
            data_sensitivity=req.data_sensitivity,
            environment=req.environment,
            tools=req.tools,
            on_behalf_of=req.on_behalf_of,
            status_index=index,
            status_uri=self.status_list_uri,
            now=now,
        )
        iat = int(to_epoch(now))
        expires_at = _ts(from_epoch(iat + req.ttl_seconds))
        stored = CredentialRecord(
            jti=minted.jti,
            agent=req.agent,
            agent_revision=record.revision,
            subject=subject,
            task=req.task,
            intent=req.intent,
            scopes=list(req.scopes),
            audience=req.audience,
            data_sensitivity=req.data_sensitivity,
            environment=req.environment,
            tools=list(req.tools),
            on_behalf_of=req.on_behalf_of,
            consent=req.consent,
            ttl_seconds=req.ttl_seconds,
            issued_at=_ts(from_epoch(iat)),
            expires_at=expires_at,
            status=STATUS_ACTIVE,
            status_list=self.status_list_uri,
            status_idx=index,
            kid=key.kid,
            token_sha256=minted.token_sha256,
            decision={
                "action": "issue",
                "allowed": True,
                "policy_ids": list(decision.policy_ids),
                "reasons": list(decision.reasons),
            },
            parent_jti=replacing.jti if replacing else None,
            issued_by=self.actor,
            revoked_at=None,
            revoked_by=None,
            revoked_reason=None,
        )
        tx.defer(_INSERT_SQL, stored.to_row())
        details: dict[str, Any] = {
            "jti": minted.jti,
            "task": req.task,
            "intent": req.intent,
            "scopes": req.scopes,
            "audience": req.audience,
            "ttl_seconds": req.ttl_seconds,
            "expires_at": expires_at,
            "data_sensitivity": req.data_sensitivity,
            "environment": req.environment,
            "tools": req.tools,
            "on_behalf_of": req.on_behalf_of,
            "consent": req.consent,
            "agent_revision": record.revision,
            "status_idx": index,
            "kid": key.kid,
            "policy_ids": list(decision.policy_ids),
        }
        if replacing is not None:
            reason = f"rebound to task {req.task} as {minted.jti}"
            self._mark_revoked(tx, [replacing.jti], reason, now)
            details.update(
                {"parent_jti": replacing.jti, "previous_task": replacing.task, "revoked": 1}
            )
        auditlog.append(
            tx,
            action=action,
            subject=req.agent,
            outcome="issued",
            details=details,
            actor=self.actor,
            now=now,
        )
        return IssuedCredential(token=minted.token, record=stored)

    def _deny(
        self,
        tx: Tx,
        action: str,
        agent: str,
        ask: Mapping[str, Any],
        denial: _Denial,
        now: dt.datetime,
        replacing: CredentialRecord | None,
    ) -> _Denial:
        details = {
            "reason": denial.reason,
            "reasons": denial.reasons,
            "policy_ids": denial.policy_ids,
            "request": {k: v for k, v in ask.items() if v is not None},
        }
        if replacing is not None:
            details["parent_jti"] = replacing.jti
        auditlog.append(
            tx,
            action=action,
            subject=agent,
            outcome="denied",
            details=details,
            actor=self.actor,
            now=now,
        )
        return denial

    # -- verify / authorize --------------------------------------------------------------------

    def verify(
        self, token: str, *, audience: str | None = None, task: str | None = None
    ) -> VerifyResult:
        """Full online verification. Never raises for a bad token: see ``VerifyResult.reason``.

        Signature, ``typ``, ``kid``, ``iss``, ``aud``, ``exp``/``nbf``/``iat`` (RFC 8725), then
        the store: the jti is ours and the token is the one we issued, not revoked, and the agent
        is still active. ``task``, when given, must be the token's task. A refusal is audited.

        Any input is a verdict, not an exception: text that is not a token (not ASCII, not
        text at all, a forged header quoting a token) is refused as ``malformed``. Only an
        unusable store or key folder raises (``StoreError``, ``NotInitializedError``): then no
        verdict can be given and none is pretended.
        """
        now = self._clock()
        try:
            claims, record = self._check(token, audience=audience, task=task, now=now)
        except _Refused as exc:
            self._audit_refusal("credential.verify", token, exc, now)
            return VerifyResult(False, exc.reason, exc.message, None, exc.record)
        return VerifyResult(True, None, None, claims, record)

    def _check(
        self, token: str, *, audience: str | None, task: str | None, now: dt.datetime
    ) -> tuple[dict[str, Any], CredentialRecord]:
        try:
            claims = verify_access_token(
                token,
                self._key_cache.keyset(),
                issuer=self.issuer,
                audience=audience or self.default_audience,
                now=now,
                leeway=self.leeway,
            )
        except TokenError as exc:
            raise _Refused(exc.reason, exc.message) from None
        row = self.store.read_one(_CHECK_SQL, (claims["jti"],))
        if row is None:
            raise _Refused(
                "unknown-jti", "the token's jti is not a credential this registry issued"
            )
        record = CredentialRecord.from_row(row[:-2])
        if record.token_sha256 != sha256_hex(token.strip()):
            raise _Refused("token-mismatch", "the token is not the one issued under its jti")
        if record.status == STATUS_REVOKED:
            raise _Refused(
                "revoked", f"the credential was revoked: {record.revoked_reason}", record
            )
        agent_status = _effective(row[-2], row[-1], now)
        if agent_status != ACTIVE:
            code = {DISABLED: "agent-disabled", EXPIRED: "agent-expired"}.get(
                agent_status, "agent-not-active"
            )
            raise _Refused(code, f"agent {record.agent!r} is {agent_status}", record)
        if task is not None and task != record.task:
            raise _Refused(
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
    ) -> AuthorizeResult:
        """Verify the token, check ``action`` is one of its scopes, then ask the ``authorize``
        policy with the token's task context plus the request. Every deny is audited."""
        _check_text(action, _SCOPE_RE, "action")
        now = self._clock()
        try:
            _, record = self._check(token, audience=audience, task=task, now=now)
        except _Refused as exc:
            self._audit_refusal("credential.authorize", token, exc, now, requested_action=action)
            return AuthorizeResult(
                False, action, resource, exc.reason, [exc.message], [], exc.record
            )
        with self.store.read() as tx:
            agent = find_agent(tx, record.agent)
            assert agent is not None  # _check joined it
            manifest = self._manifest(tx, agent)
        entity = self._entity(agent, manifest, agent.effective_status(now.date()))
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
        decision = self.policies.decide("authorize", entity, context)
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
        with self.store.write() as tx:
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
                actor=self.actor,
                now=now,
            )
        return result

    def _audit_refusal(
        self,
        action: str,
        token: str,
        exc: _Refused,
        now: dt.datetime,
        **extra: Any,
    ) -> None:
        record = exc.record
        details: dict[str, Any] = {
            "reason": exc.reason,
            "message": exc.message,
            # The hash lets an investigator match a token they hold; it reveals nothing.
            "token_sha256": _token_digest(token),
            **extra,
        }
        if record is not None:
            details.update({"jti": record.jti, "task": record.task})
        with self.store.write() as tx:
            auditlog.append(
                tx,
                action=action,
                subject=record.agent if record else "unknown",
                outcome="denied",
                details=details,
                actor=self.actor,
                now=now,
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
        """Revoke the live credentials selected by exactly one of ``jti``/``agent``/``task``.

        A jti, agent or task the store has never seen is an ``InputError`` with the closest
        known values (a typo must not read as done), unless ``allow_none``. A known one with
        nothing live revokes nothing and reports 0 (idempotent). Immediate for ``verify`` and
        ``authorize``; offline verifiers learn of it from the next published status list.
        """
        chosen = [(n, v) for n, v in (("jti", jti), ("agent", agent), ("task", task)) if v]
        if len(chosen) != 1:
            raise InputError("name exactly one of --jti, --agent or --task")
        selector, value = chosen[0]
        _check_selector(selector, value)
        text = _check_reason(reason)
        now = self._clock()
        with self.store.write() as tx:
            known, state = self._lookup(tx, selector, value)
            if not known and not allow_none:
                raise self._unknown(
                    tx, selector, value, "nothing revoked", "--allow-none makes it a no-op"
                )
            rows = tx.query(
                f"SELECT jti, agent FROM credentials WHERE {selector} = ? AND status = ? "
                "ORDER BY issued_at, jti",
                (value, STATUS_ACTIVE),
            )
            jtis = [r[0] for r in rows]
            self._mark_revoked(tx, jtis, text, now)
            by_agent: dict[str, list[str]] = {}
            for r in rows:
                by_agent.setdefault(r[1], []).append(r[0])
            for subject, agent_jtis in sorted(by_agent.items()) or [(f"{selector}:{value}", [])]:
                auditlog.append(
                    tx,
                    action=action,
                    subject=subject,
                    outcome="revoked",
                    details={
                        "selector": selector,
                        "value": value,
                        "reason": text,
                        "revoked": len(agent_jtis),
                        "jtis": agent_jtis[:_AUDIT_JTI_LIMIT],
                    },
                    actor=self.actor,
                    now=now,
                )
        return RevokeResult(selector, value, len(jtis), jtis, known=known, state=state)

    def _lookup(self, tx: Tx, selector: str, value: str) -> tuple[bool, str | None]:
        """Is ``value`` a jti, agent or task the store knows? For a jti, also its state."""
        if selector == "agent":
            known = tx.one("SELECT 1 FROM agents WHERE name = ?", (value,)) is not None
            # An agent's name stays on its credentials even if the agent row were gone.
            known = (
                known
                or tx.one("SELECT 1 FROM credentials WHERE agent = ? LIMIT 1", (value,)) is not None
            )
            return known, None
        if selector == "task":
            row = tx.one("SELECT 1 FROM credentials WHERE task = ? LIMIT 1", (value,))
            return row is not None, None
        row = tx.one("SELECT status, expires_at FROM credentials WHERE jti = ?", (value,))
        if row is None:
            return False, None
        if row[0] != STATUS_ACTIVE:
            return True, str(row[0])
        return True, STATUS_EXPIRED if str(row[1]) <= _ts(self._clock()) else STATUS_ACTIVE

    def _unknown(
        self, tx: Tx, selector: str, value: str, outcome: str, hint: str | None = None
    ) -> InputError:
        """The error for a jti, agent or task the store has never seen, with a did-you-mean."""
        from nhictl.core.suggest import did_you_mean

        if selector == "agent":
            names = agent_names(tx)
            names += [r[0] for r in tx.query("SELECT DISTINCT agent FROM credentials")]
            pool = names
        else:
            column = "jti" if selector == "jti" else "task"
            # The most recent ones, plus any the value is a prefix of (a jti cut short).
            pool = [
                str(r[0])
                for r in tx.query(
                    f"SELECT {column} FROM credentials GROUP BY {column} "
                    f"ORDER BY MAX(issued_at) DESC LIMIT {_SUGGEST_POOL}"
                )
            ]
            if len(value) >= 4:
                pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                pool += [
                    str(r[0])
                    for r in tx.query(
                        f"SELECT DISTINCT {column} FROM credentials "
                        f"WHERE {column} LIKE ? ESCAPE '\\' LIMIT 10",
                        (pattern + "%",),
                    )
                ]
        suggestion = did_you_mean(value, pool)
        shown = value if len(value) <= 80 else value[:80] + "..."
        where = {
            "jti": f"no credential has jti {shown!r}",
            "agent": f"no agent named {shown!r} is registered",
            "task": f"no credential was ever issued for task {shown!r}",
        }[selector]
        return InputError(
            f"{where}; {outcome}" + (f"; {suggestion}" if suggestion else ""),
            hint=_EXPECTED[selector].replace("pass ", "check ", 1) + (f"; {hint}" if hint else ""),
        )

    def complete_task(self, task: str, *, allow_none: bool = False) -> RevokeResult:
        """The task is done: its credentials die."""
        return self.revoke(
            task=task, reason="task completed", action="task.complete", allow_none=allow_none
        )

    def fail_task(self, task: str, reason: str, *, allow_none: bool = False) -> RevokeResult:
        """The task failed: its credentials die."""
        return self.revoke(
            task=task,
            reason=f"task failed: {_check_reason(reason)}",
            action="task.fail",
            allow_none=allow_none,
        )

    def _mark_revoked(self, tx: Tx, jtis: Sequence[str], reason: str, now: dt.datetime) -> None:
        at = _ts(now)
        for jti in jtis:
            tx.execute(
                "UPDATE credentials SET status = ?, revoked_at = ?, revoked_by = ?, "
                "revoked_reason = ? WHERE jti = ? AND status = ?",
                (STATUS_REVOKED, at, self.actor, reason, jti, STATUS_ACTIVE),
            )

    def rebind(
        self,
        jti: str,
        *,
        task: str,
        intent: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> IssuedCredential:
        """Revoke a live credential and issue its successor for the changed task, atomically.

        The successor goes through the same policy decision and guards as ``issue``, keeping the
        old credential's audience, sensitivity, environment, tools, delegation and TTL. On a deny
        nothing changes (the old credential stays live) and the denial is audited. A revoked or
        expired credential cannot be rebound: that would undo its revocation.
        """
        _check_selector("jti", jti)
        _check_text(task, _TASK_RE, "task id")
        if intent is not None:
            reject_secret(intent, "intent", expected="pass the intent itself")
        for scope in scopes or ():
            _check_text(scope, _SCOPE_RE, "scope")
        now = self._clock()
        with self.store.write() as tx:
            row = tx.one(f"SELECT {_COLUMNS} FROM credentials WHERE jti = ?", (jti,))
            if row is None:
                raise self._unknown(tx, "jti", jti, "nothing rebound")
            old = CredentialRecord.from_row(row)
            new_intent = intent or old.intent
            ask: dict[str, Any] = {
                "task": task,
                "intent": new_intent,
                "scopes": list(scopes)
                if scopes
                else (old.scopes if new_intent == old.intent else None),
                "ttl_seconds": old.ttl_seconds,
                "audience": old.audience,
                "data_sensitivity": old.data_sensitivity,
                "environment": old.environment,
                "tools": old.tools if new_intent == old.intent else None,
                "on_behalf_of": old.on_behalf_of,
                "consent": old.consent,
            }
            state = old.state(now)
            result: IssuedCredential | _Denial
            if state != STATUS_ACTIVE:
                denial = _Denial(
                    f"credential-{state}",
                    [f"credential {jti} is {state}; only a live credential can be rebound"],
                    ["builtin.rebind-live-only"],
                )
                result = self._deny(tx, "credential.rebind", old.agent, ask, denial, now, old)
            else:
                result = self._issue_in_tx(
                    tx, old.agent, ask, now, action="credential.rebind", replacing=old
                )
        if isinstance(result, _Denial):
            raise _denied(old.agent, result, verb="rebind")
        return result

    # -- queries -------------------------------------------------------------------------------

    def get(self, jti: str) -> CredentialRecord | None:
        with self.store.read() as tx:
            row = tx.one(f"SELECT {_COLUMNS} FROM credentials WHERE jti = ?", (jti,))
        return CredentialRecord.from_row(row) if row else None

    def list(
        self, *, agent: str | None = None, active: bool = False, task: str | None = None
    ) -> list[CredentialRecord]:
        """Credentials, oldest first; ``active`` keeps only live (unrevoked, unexpired) ones."""
        sql = f"SELECT {_COLUMNS} FROM credentials WHERE 1 = 1"
        params: list[Any] = []
        if agent is not None:
            sql += " AND agent = ?"
            params.append(agent)
        if task is not None:
            sql += " AND task = ?"
            params.append(task)
        if active:
            sql += " AND status = ? AND expires_at > ?"
            params += [STATUS_ACTIVE, _ts(self._clock())]
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
        """The signed Token Status List (``typ: statuslist+jwt``) offline verifiers fetch.

        A credential reads INVALID (1) when it was revoked or its agent is no longer active
        (disabled, expired review, waiting for re-approval), matching what ``verify`` says
        online. Only credentials that have not expired are looked at: an expired token fails
        on ``exp`` anyway. Indexes handed out after this publication read VALID until the next
        one (the same staleness as any revocation after publication; keep ``lifetime`` short).
        """
        now = self._clock()
        cutoff = self._usable_cutoff(now)
        with self.store.read() as tx:
            counter = tx.one(
                "SELECT next_idx FROM status_lists WHERE uri = ?", (self.status_list_uri,)
            )
            rows = tx.query(
                "SELECT c.status_idx, c.status, a.status, a.review_expires FROM credentials c "
                "JOIN agents a ON a.name = c.agent WHERE c.status_list = ? AND c.expires_at > ?",
                (self.status_list_uri, cutoff),
            )
        statuses = {
            int(idx): 1
            for idx, status, agent_status, review in rows
            if status == STATUS_REVOKED or _effective(agent_status, review, now) != ACTIVE
        }
        used = int(counter[0]) if counter else 0
        size = used + STATUS_LIST_HEADROOM
        lst = build_status_list(statuses, 1, size=size + (-size % 8))
        return sign_status_list(
            self._key_cache.signing_key(),
            lst,
            uri=self.status_list_uri,
            issuer=self.issuer,
            now=now,
            lifetime=lifetime,
            ttl=ttl,
        )


# --------------------------------------------------------------------------- helpers


def _token_digest(token: object) -> str | None:
    """The audited SHA-256 of what was presented (``None`` when it was not even text)."""
    if isinstance(token, bytes):
        return hashlib.sha256(token.strip()).hexdigest()
    return sha256_hex(token.strip()) if isinstance(token, str) else None


def _effective(status: str, review_expires: str, now: dt.datetime) -> str:
    """The agent's effective status from its row (same rule as ``AgentRecord``)."""
    if status != DISABLED and dt.date.fromisoformat(review_expires) < now.date():
        return EXPIRED
    return status


def _workload_subject(manifest: Mapping[str, Any]) -> str:
    """The agent's workload identity: its SPIFFE ID, or ``issuer#subject`` for OIDC."""
    wi = manifest["spec"]["workloadIdentity"]
    if wi.get("type") == "spiffe":
        return str(wi["spiffeId"])
    return f"{wi['issuer']}#{wi['subject']}"


def _denied(agent: str, denial: _Denial, verb: str = "issue") -> IssueDenied:
    ids = ", ".join(denial.policy_ids) or "none"
    return IssueDenied(
        denial.reason,
        f"{verb} denied for agent {agent!r}: {'; '.join(denial.reasons)} [policy: {ids}]",
        policy_ids=denial.policy_ids,
        reasons=denial.reasons,
        hint=denial.hint,
    )


def revoke_agent_credentials(tx: Tx, agent: str, reason: str, now: dt.datetime) -> dict[str, Any]:
    """``Registry.disable`` hook: revoke every live credential of the agent, in its transaction."""
    rows = tx.query(
        "SELECT jti FROM credentials WHERE agent = ? AND status = ?", (agent, STATUS_ACTIVE)
    )
    at = _ts(now)
    revoked = tx.execute(
        "UPDATE credentials SET status = ?, revoked_at = ?, revoked_by = ?, revoked_reason = ? "
        "WHERE agent = ? AND status = ?",
        (
            STATUS_REVOKED,
            at,
            auditlog.default_actor(),
            f"agent disabled: {reason}"[:_MAX_REASON],
            agent,
            STATUS_ACTIVE,
        ),
    )
    return {
        "revoked_credentials": revoked,
        "revoked_jtis": [r[0] for r in rows][:_AUDIT_JTI_LIMIT],
    }


if revoke_agent_credentials not in DISABLE_HOOKS:
    DISABLE_HOOKS.append(revoke_agent_credentials)
