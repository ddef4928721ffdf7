"""Credential records and results: what the store keeps and what operations return."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nhictl.core.errors import VerdictError
from nhictl.core.jose import from_epoch
from nhictl.core.revocation import STATUS_ACTIVE, STATUS_EXPIRED, STATUS_REVOKED, credential_time
from nhictl.core.store.base import Row
from nhictl.core.tokens import token_scopes

if TYPE_CHECKING:
    pass
    pass


COLUMNS = (
    "jti, agent, agent_revision, subject, task, intent, scopes_json, audience, "
    "data_sensitivity, environment, tools_json, on_behalf_of, consent, ttl_seconds, issued_at, "
    "expires_at, status, status_list, status_idx, kid, token_sha256, decision_json, parent_jti, "
    "issued_by, revoked_at, revoked_by, revoked_reason, cnf_jkt"
)


INSERT_SQL = (
    f"INSERT INTO credentials ({COLUMNS}) VALUES ({', '.join('?' * (COLUMNS.count(',') + 1))})"
)
# ``verify``: the credential and its agent's state in one query (built once, not per call).
CHECK_SQL = (
    "SELECT "
    + ", ".join(f"c.{c.strip()}" for c in COLUMNS.split(","))
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
    #: RFC 9449: the thumbprint of the key the token is bound to (None: a bearer token).
    cnf_jkt: str | None = None

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
            cnf_jkt=row[27],
        )

    def to_row(self) -> Row:
        """The ``credentials`` row, in ``COLUMNS`` order (``from_row`` reads it back)."""
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
            self.cnf_jkt,
        )

    def state(self, now: dt.datetime | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.status == STATUS_REVOKED:
            return STATUS_REVOKED
        if self.expires_at <= credential_time(now):
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
            return {"valid": self.valid, "reason": self.reason, **claims_facts(self.claims)}
        return {
            "valid": self.valid,
            "reason": self.reason,
            "jti": rec.jti if rec else None,
            "agent": rec.agent if rec else None,
            "task": rec.task if rec else None,
            "scopes": rec.scopes if rec else None,
            "expires_at": rec.expires_at if rec else None,
        }


def claims_facts(claims: Mapping[str, Any]) -> dict[str, Any]:
    """What ``VerifyResult.to_json`` shows from a record, read from verified claims."""
    task = claims.get("txn")
    return {
        "jti": claims["jti"],
        "agent": claims["client_id"],
        "task": task if isinstance(task, str) else None,
        "scopes": token_scopes(claims),
        "expires_at": credential_time(from_epoch(claims["exp"])),
    }


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
