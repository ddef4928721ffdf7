"""The one place a token request becomes the core's issue request, and a refusal an OAuth error.

``scope`` (RFC 6749), ``resource`` / ``audience`` (RFC 8707, RFC 8693) and one
``authorization_details`` entry of type ``TASK_DETAILS_TYPE`` (RFC 9396) map onto
``CredentialService.issue``: the CLI's ``issue``, decided by the same policies and guards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nhictl.core.credentials import IssuedCredential, IssueDenied
from nhictl.serve.oauth import OAuthError

TASK_DETAILS_TYPE = "urn:nhictl:task"
#: The fields of a ``urn:nhictl:task`` authorization detail (``task`` and ``intent`` required).
TASK_FIELDS = {
    "task": str,
    "intent": str,
    "data_sensitivity": str,
    "environment": str,
    "tools": list,
    "ttl_seconds": int,
    "consent": str,
}
# Rule names (after ``builtin.`` or a policy file's prefix) whose failure is a problem with the
# requested scope / target, not a plain deny.
_SCOPE_RULES = {"scopes-within-intent", "scopes-required"}
_TARGET_RULES = {"audience-declared"}


@dataclass(frozen=True)
class IssueAsk:
    """What the caller asked for, in the core's terms."""

    task: str
    intent: str
    scopes: list[str] | None
    audience: str | None
    data_sensitivity: str | None
    environment: str | None
    tools: list[str] | None
    ttl_seconds: int | None
    consent: str | None
    details: dict[str, Any]

    def kwargs(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "intent": self.intent,
            "scopes": self.scopes,
            "audience": self.audience,
            "data_sensitivity": self.data_sensitivity,
            "environment": self.environment,
            "tools": self.tools,
            "ttl_seconds": self.ttl_seconds,
            "consent": self.consent,
        }


def _details(raw: str | None) -> dict[str, Any]:
    if raw is None:
        raise OAuthError(
            "invalid_request",
            f"authorization_details with one {TASK_DETAILS_TYPE!r} entry (task, intent) "
            "is required",
        )
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise OAuthError("invalid_authorization_details", "not a JSON array") from None
    if not isinstance(parsed, list) or len(parsed) != 1 or not isinstance(parsed[0], dict):
        raise OAuthError(
            "invalid_authorization_details", f"expected one {TASK_DETAILS_TYPE!r} object"
        )
    entry: dict[str, Any] = parsed[0]
    if entry.get("type") != TASK_DETAILS_TYPE:
        raise OAuthError(
            "invalid_authorization_details",
            f"unknown authorization_details type (supported: {TASK_DETAILS_TYPE})",
        )
    for name, value in entry.items():
        if name == "type":
            continue
        kind = TASK_FIELDS.get(name)
        if kind is None:
            raise OAuthError("invalid_authorization_details", f"unknown field {name!r}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise OAuthError(
                "invalid_authorization_details", f"field {name!r} must be a {kind.__name__}"
            )
    if not all(isinstance(t, str) for t in entry.get("tools", [])):
        raise OAuthError("invalid_authorization_details", "field 'tools' must list strings")
    for name in ("task", "intent"):
        if not entry.get(name):
            raise OAuthError("invalid_authorization_details", f"field {name!r} is required")
    return entry


def issue_ask(form: Mapping[str, str]) -> IssueAsk:
    entry = _details(form.get("authorization_details"))
    scope = form.get("scope")
    return IssueAsk(
        task=entry["task"],
        intent=entry["intent"],
        scopes=scope.split() if scope is not None else None,
        audience=form.get("resource") or form.get("audience"),
        data_sensitivity=entry.get("data_sensitivity"),
        environment=entry.get("environment"),
        tools=entry.get("tools"),
        ttl_seconds=entry.get("ttl_seconds"),
        consent=entry.get("consent"),
        details=entry,
    )


def denial_error(exc: IssueDenied) -> OAuthError:
    """An issue denial as RFC 6749 names it; the description names the deciding policy ids."""
    rules = {pid.rsplit(".", 1)[-1] for pid in exc.policy_ids}
    if rules and rules <= _SCOPE_RULES:
        error = "invalid_scope"
    elif rules and rules <= _TARGET_RULES:
        error = "invalid_target"
    elif exc.reason == "agent-not-registered":
        error = "invalid_grant"
    else:
        error = "access_denied"
    return OAuthError(error, str(exc), status=400, reason=exc.reason)


def token_body(issued: IssuedCredential, ask: IssueAsk, *, exchange: bool) -> dict[str, Any]:
    record = issued.record
    body: dict[str, Any] = {
        "access_token": issued.token,
        # RFC 9449 section 5: a bound token is presented as ``Authorization: DPoP``.
        "token_type": "DPoP" if record.cnf_jkt else "Bearer",
        "expires_in": record.ttl_seconds,
        "scope": " ".join(record.scopes),
        "authorization_details": [{**ask.details, "task": record.task, "intent": record.intent}],
    }
    if exchange:
        body["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
    return body
