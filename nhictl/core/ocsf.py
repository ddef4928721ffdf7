"""Audit events as OCSF 1.3.0 events, for a SIEM to ingest (``nhictl log export -f ocsf``).

One table, ``MAPPINGS``, says which OCSF class and activity each nhictl action becomes; each row's
builder fills the class's own objects (``user``, ``entity``, ``api``, ...) from the event and takes
the details it used out of the pool. What is left goes to ``unmapped.details``, so nothing is lost.
Actions without a row (added later) become a Base Event (class 0, activity Other), never an error.
docs/audit-log.md has the table in prose.

Version 1.3.0 is the target: every class used here (3001-3004, 6003) exists in it unchanged in
shape, and it is what current SIEM integrations accept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nhictl import __version__
from nhictl.core.auditlog import AuditEvent

OCSF_VERSION = "1.3.0"
PRODUCT = {"name": "nhictl", "vendor_name": "nhictl maintainers", "version": __version__}

SUCCESS, FAILURE = (1, "Success"), (2, "Failure")
INFORMATIONAL, LOW, MEDIUM = (1, "Informational"), (2, "Low"), (3, "Medium")
OTHER_ACTIVITY = 99
DENIED = "denied"  # the outcome every refusal is recorded with


@dataclass(frozen=True)
class OcsfClass:
    uid: int
    name: str
    category_uid: int
    category_name: str


IAM = (3, "Identity & Access Management")
BASE_EVENT = OcsfClass(0, "Base Event", 0, "Uncategorized")
ACCOUNT_CHANGE = OcsfClass(3001, "Account Change", *IAM)
AUTHENTICATION = OcsfClass(3002, "Authentication", *IAM)
AUTHORIZE_SESSION = OcsfClass(3003, "Authorize Session", *IAM)
ENTITY_MANAGEMENT = OcsfClass(3004, "Entity Management", *IAM)
API_ACTIVITY = OcsfClass(6003, "API Activity", 6, "Application Activity")

#: Fills the class-specific attributes of ``out`` from ``event``; pops from ``details`` what it
#: used (the rest is kept under ``unmapped``).
Builder = Callable[[AuditEvent, dict[str, Any], dict[str, Any]], None]


@dataclass(frozen=True)
class Mapping:
    ocsf_class: OcsfClass
    activity_id: int
    activity_name: str
    build: Builder
    #: Severity of a refusal of this action (a success is always Informational).
    denied_severity: tuple[int, str] = LOW


def _agent(event: AuditEvent, details: dict[str, Any]) -> dict[str, Any]:
    """The agent an event is about, as an OCSF user (type Other: a non-human account)."""
    user: dict[str, Any] = {"name": event.subject, "type_id": 99, "type": "Agent"}
    identity = details.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("subject"), str):
        user["uid"] = identity["subject"]
    return user


def _account(event: AuditEvent, details: dict[str, Any], out: dict[str, Any]) -> None:
    out["user"] = _agent(event, details)


def _session(event: AuditEvent, details: dict[str, Any], out: dict[str, Any]) -> None:
    out["user"] = _agent(event, details)
    request = details.get("request")
    requested = request.get("scopes") if isinstance(request, dict) else None
    scopes = details.pop("scopes", None) or requested or []
    out["privileges"] = [str(scope) for scope in scopes]
    session: dict[str, Any] = {}
    if isinstance(jti := details.pop("jti", None), str):
        session["uid"] = jti
    if isinstance(expires := details.pop("expires_at", None), str):
        session["expiration_time"] = epoch_ms(expires)
    if session:
        out["session"] = session


def _authentication(event: AuditEvent, details: dict[str, Any], out: dict[str, Any]) -> None:
    out["user"] = _agent(event, details)
    out["service"] = {"name": "nhictl"}  # the verifier the token was presented to
    if isinstance(jti := details.pop("jti", None), str):
        out["session"] = {"uid": jti}


def _api(event: AuditEvent, details: dict[str, Any], out: dict[str, Any]) -> None:
    # The agent holding the credential asked to perform ``action`` on ``resource``.
    actor: dict[str, Any] = {"user": _agent(event, details)}
    if isinstance(jti := details.pop("jti", None), str):
        actor["session"] = {"uid": jti}
    out["actor"] = actor
    out["api"] = {"operation": str(details.pop("action", "unknown"))}
    if isinstance(resource := details.pop("resource", None), str) and resource:
        out["resources"] = [{"name": resource}]
    # Required by the class, but nhictl never sees the caller's network address.
    out["src_endpoint"] = {"name": "unknown"}


def _entity(kind: str, uid_key: str | None = None) -> Builder:
    def build(event: AuditEvent, details: dict[str, Any], out: dict[str, Any]) -> None:
        entity: dict[str, Any] = {"name": event.subject, "type": kind}
        if uid_key is not None and isinstance(uid := details.get(uid_key), str):
            entity["uid"] = uid
        out["entity"] = entity
        if isinstance(reason := details.get("reason"), str):
            out["comment"] = reason

    return build


def _revocation(event: AuditEvent, details: dict[str, Any], out: dict[str, Any]) -> None:
    selector, value = details.get("selector"), details.get("value")
    entity: dict[str, Any] = {"name": f"{selector}:{value}", "type": "Credential"}
    if selector == "jti" and isinstance(value, str):
        entity["uid"] = value
    out["entity"] = entity
    if isinstance(reason := details.pop("reason", None), str):
        out["comment"] = reason


_REVOKE = Mapping(ENTITY_MANAGEMENT, 11, "Deactivate", _revocation)
_ISSUE = Mapping(AUTHORIZE_SESSION, 1, "Assign Privileges", _session)

MAPPINGS: dict[str, Mapping] = {
    "registry.init": Mapping(ENTITY_MANAGEMENT, 1, "Create", _entity("Registry")),
    "key.rotate": Mapping(ENTITY_MANAGEMENT, 1, "Create", _entity("Signing Key", "kid")),
    "log.checkpoint": Mapping(
        ENTITY_MANAGEMENT, 1, "Create", _entity("Audit Log Checkpoint", "hash")
    ),
    "agent.register": Mapping(ACCOUNT_CHANGE, 1, "Create", _account),
    "agent.approve": Mapping(ACCOUNT_CHANGE, 2, "Enable", _account),
    "agent.enable": Mapping(ACCOUNT_CHANGE, 2, "Enable", _account),
    "agent.disable": Mapping(ACCOUNT_CHANGE, 5, "Disable", _account),
    "credential.issue": _ISSUE,
    "credential.rebind": _ISSUE,
    "credential.verify": Mapping(
        AUTHENTICATION, OTHER_ACTIVITY, "Verify Token", _authentication, MEDIUM
    ),
    "credential.authorize": Mapping(API_ACTIVITY, OTHER_ACTIVITY, "Authorize", _api, MEDIUM),
    "credential.revoke": _REVOKE,
    "task.complete": _REVOKE,
    "task.fail": _REVOKE,
}
_FALLBACK = Mapping(BASE_EVENT, OTHER_ACTIVITY, "Other", lambda event, details, out: None)
#: A new revision of a registered agent: Account Change has no Update activity in 1.3.0.
_REVISE = Mapping(ACCOUNT_CHANGE, OTHER_ACTIVITY, "Revise", _account)


def epoch_ms(text: str) -> int:
    """An ISO 8601 time (as the store keeps it) in milliseconds since the epoch."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def mapping_for(event: AuditEvent) -> Mapping:
    if event.action == "agent.register":
        revision = event.details.get("revision")
        if isinstance(revision, int) and revision > 1 and event.outcome != DENIED:
            return _REVISE
    return MAPPINGS.get(event.action, _FALLBACK)


def to_ocsf(event: AuditEvent) -> dict[str, Any]:
    """One audit event as one OCSF 1.3.0 event (a plain dict, ready for JSON)."""
    mapping = mapping_for(event)
    cls = mapping.ocsf_class
    denied = event.outcome == DENIED
    status_id, status = FAILURE if denied else SUCCESS
    severity_id, severity = mapping.denied_severity if denied else INFORMATIONAL
    details = dict(event.details)
    out: dict[str, Any] = {
        "category_uid": cls.category_uid,
        "category_name": cls.category_name,
        "class_uid": cls.uid,
        "class_name": cls.name,
        "activity_id": mapping.activity_id,
        "activity_name": mapping.activity_name,
        "type_uid": cls.uid * 100 + mapping.activity_id,
        "type_name": f"{cls.name}: {mapping.activity_name}",
        "time": epoch_ms(event.at),
        "timezone_offset": 0,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_detail": _status_detail(event, details),
        "message": f"{event.action} {event.subject}: {event.outcome}",
        "metadata": _metadata(event, details),
        "actor": {"user": {"name": event.actor}},
    }
    mapping.build(event, details, out)
    if out["actor"].get("user", {}).get("name") != event.actor:
        details["actor"] = event.actor  # the builder put the agent there: keep who asked
    out["unmapped"] = {
        "subject": event.subject,
        "outcome": event.outcome,
        "prev_hash": event.prev_hash,
        "details": details,
    }
    return out


def _status_detail(event: AuditEvent, details: dict[str, Any]) -> str:
    reason = details.get("reason")
    if event.outcome == DENIED and isinstance(reason, str):
        return reason
    return event.outcome


def _metadata(event: AuditEvent, details: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "version": OCSF_VERSION,
        "product": PRODUCT,
        "uid": event.hash,  # unique, and what the chain (and a checkpoint) vouches for
        "sequence": event.seq,
        "original_time": event.at,
        "event_code": event.action,
        "log_name": "audit_events",
        "log_provider": "nhictl",
    }
    if isinstance(task := details.get("task"), str):
        metadata["correlation_uid"] = task  # ties a task's issue, refusals and revocation
    return metadata
