"""The registry's records: agent states, stored rows, and the lookups every layer above uses.

Credentials read agents through ``find_agent`` / ``find_revision`` here, never through
``Registry``: these take the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nhictl.core.diff import Change
from nhictl.core.errors import InputError, VerdictError
from nhictl.core.redact import reject_secret
from nhictl.core.store.base import Tx

if TYPE_CHECKING:
    from nhictl.core.identity import VerifiedIdentity

ACTIVE = "active"
PENDING = "pending-approval"
DISABLED = "disabled"
EXPIRED = "expired"
DENIED = "denied"
UNCHANGED = "unchanged"

AGENT_COLUMNS = (
    "name, status, current_revision, owner, sponsor, review_expires, approved_by, approved_at, "
    "disabled_reason, created_at, updated_at"
)
REVISION_COLUMNS = (
    "name, revision, manifest_json, manifest_sha256, identity_json, decision_json, outcome, "
    "created_by, created_at"
)
#: ``workload_subject`` of a revision whose OIDC subject is a pattern: a candidate for any.
WORKLOAD_SUBJECT_PATTERN = "*"


def workload_subject(identity_spec: Mapping[str, Any]) -> str | None:
    """What ``agent_revisions.workload_subject`` holds for a manifest's ``workloadIdentity``:
    the subject a matching token carries (the SPIFFE ID, or the OIDC subject), or
    ``WORKLOAD_SUBJECT_PATTERN`` for an OIDC subject glob. The same rule as migration 6."""
    kind = identity_spec.get("type")
    if kind == "spiffe":
        value = identity_spec.get("spiffeId")
    elif kind == "oidc":
        if identity_spec.get("subjectMatch") == "glob":
            return WORKLOAD_SUBJECT_PATTERN
        value = identity_spec.get("subject")
    else:
        return None
    return value if isinstance(value, str) else None


def agents_for_subject(tx: Tx, subject: object) -> list[tuple[str, str, str]]:
    """(name, manifest SHA-256, manifest JSON) of every agent whose current revision could
    match a token with this ``sub``: the same subject, or an OIDC subject pattern. An index
    lookup; the caller matches each manifest exactly."""
    return [
        (str(name), str(sha), str(manifest))
        for name, sha, manifest in tx.query(
            "SELECT a.name, r.manifest_sha256, r.manifest_json FROM agent_revisions r "
            "JOIN agents a ON a.name = r.name AND a.current_revision = r.revision "
            "WHERE r.workload_subject IN (?, ?) ORDER BY a.name",
            (subject if isinstance(subject, str) else "", WORKLOAD_SUBJECT_PATTERN),
        )
    ]


class RegistryError(VerdictError):
    """A registry operation that is refused (wrong state, policy said no). An unknown agent
    name is an ``InputError`` (exit 2) with a did-you-mean: see ``require_agent``."""


def agent_status(status: str, review_expires: str, today: dt.date | None = None) -> str:
    """An agent's effective status from its stored row: ``expired`` once the review date has
    passed (unless disabled); otherwise the stored status. ``today`` defaults to today in UTC."""
    day = today or dt.datetime.now(dt.UTC).date()
    if status != DISABLED and dt.date.fromisoformat(review_expires) < day:
        return EXPIRED
    return status


@dataclass(frozen=True)
class AgentRecord:
    """An agent's current state."""

    name: str
    status: str
    revision: int
    owner: str
    sponsor: str
    review_expires: str
    approved_by: str | None
    approved_at: str | None
    disabled_reason: str | None
    created_at: str
    updated_at: str

    def effective_status(self, today: dt.date | None = None) -> str:
        """``expired`` once the review date has passed; otherwise the stored status."""
        return agent_status(self.status, self.review_expires, today)

    def to_dict(self, today: dt.date | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.effective_status(today),
            "revision": self.revision,
            "owner": self.owner,
            "sponsor": self.sponsor,
            "review_expires": self.review_expires,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "disabled_reason": self.disabled_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Revision:
    """One registered version of an agent's manifest."""

    name: str
    revision: int
    manifest: dict[str, Any]
    manifest_sha256: str
    identity: dict[str, Any]
    decision: dict[str, Any]
    outcome: str
    created_by: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "revision": self.revision,
            "outcome": self.outcome,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "manifest_sha256": self.manifest_sha256,
            "identity": self.identity,
            "decision": self.decision,
            "manifest": self.manifest,
        }


@dataclass
class RegistrationResult:
    """What ``register`` did. ``outcome`` is active, pending-approval, denied or unchanged."""

    agent: str
    outcome: str
    status: str | None = None
    revision: int | None = None
    previous_revision: int | None = None
    changes: list[Change] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    policy_ids: list[str] = field(default_factory=list)
    identity: dict[str, Any] | None = None
    dry_run: bool = False

    @property
    def denied(self) -> bool:
        return self.outcome == DENIED

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "outcome": self.outcome,
            "status": self.status,
            "revision": self.revision,
            "previous_revision": self.previous_revision,
            "changes": [c.to_dict() for c in self.changes],
            "reasons": self.reasons,
            "policy_ids": self.policy_ids,
            "identity": self.identity,
            "dry_run": self.dry_run,
        }


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    """Hash of the manifest's canonical JSON (formatting and comments do not count)."""
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def identity_record(identity: VerifiedIdentity) -> dict[str, Any]:
    """What the registry keeps about a verified identity token: never the token."""
    return {
        "kind": identity.kind,
        "issuer": identity.issuer,
        "subject": identity.subject,
        "audience": identity.audience,
        "token_sha256": identity.token_sha256,
        "key_id": identity.key_id,
        "expires_at": identity.expires_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def check_agent_name(name: str) -> str:
    """``InputError`` (without echoing it) when a token or key was given as an agent name."""
    reject_secret(
        name,
        "agent name",
        expected="pass the agent's name (`nhictl agents list` shows them)",
    )
    return name


def agent_names(tx: Tx) -> list[str]:
    """Every registered agent's name, sorted."""
    return [str(row[0]) for row in tx.query("SELECT name FROM agents ORDER BY name")]


def unknown_agent(tx: Tx, name: str) -> InputError:
    """The error for a name no agent has: exit 2, with the closest registered names."""
    from nhictl.core.suggest import did_you_mean

    check_agent_name(name)
    suggestion = did_you_mean(name, agent_names(tx))
    shown = name if len(name) <= 80 else name[:80] + "..."
    return InputError(
        f"no agent named {shown!r} is registered" + (f"; {suggestion}" if suggestion else ""),
        hint="`nhictl agents list` shows every registered agent",
    )


def require_agent(tx: Tx, name: str) -> AgentRecord:
    """The agent called ``name``, or ``InputError`` with a did-you-mean."""
    check_agent_name(name)
    agent = find_agent(tx, name)
    if agent is None:
        raise unknown_agent(tx, name)
    return agent


def agent_from_row(row: tuple[Any, ...]) -> AgentRecord:
    return AgentRecord(
        name=row[0],
        status=row[1],
        revision=int(row[2]),
        owner=row[3],
        sponsor=row[4],
        review_expires=row[5],
        approved_by=row[6],
        approved_at=row[7],
        disabled_reason=row[8],
        created_at=row[9],
        updated_at=row[10],
    )


def revision_from_row(row: tuple[Any, ...]) -> Revision:
    return Revision(
        name=row[0],
        revision=int(row[1]),
        manifest=json.loads(row[2]),
        manifest_sha256=row[3],
        identity=json.loads(row[4]),
        decision=json.loads(row[5]),
        outcome=row[6],
        created_by=row[7],
        created_at=row[8],
    )


def find_agent(tx: Tx, name: str) -> AgentRecord | None:
    """The agent called ``name`` as stored, or None (``require_agent`` raises instead)."""
    row = tx.one(f"SELECT {AGENT_COLUMNS} FROM agents WHERE name = ?", (name,))
    return agent_from_row(row) if row else None


def find_revision(tx: Tx, name: str, revision: int) -> Revision | None:
    """One stored revision of an agent, or None."""
    row = tx.one(
        f"SELECT {REVISION_COLUMNS} FROM agent_revisions WHERE name = ? AND revision = ?",
        (name, revision),
    )
    return revision_from_row(row) if row else None
