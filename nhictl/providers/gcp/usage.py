"""Usage inputs -> facts about bindings, accounts and keys (the builder turns them into the
common model's ``Usage`` and last-used stamps).

- ``insights.json`` (``google.iam.policy.Insight``): per role binding, the permissions
  exercised in the observation window and the ones IAM Recommender infers the member needs.
  Both count as "keep" (used): that is how IAM Recommender itself computes what a binding
  can lose (role permissions - exercised - inferred). They are dated at the insight's
  ``lastRefreshTime``, the end of its observation window.
- ``sa-insights.json`` (``google.iam.serviceAccount.Insight``): an account inactive for the
  observation window, with its ``lastAuthenticatedTime`` (absent: never authenticated).
- ``activity.json`` / ``key-activity.json`` (Policy Analyzer ``query-activity``,
  ``serviceAccountLastAuthentication`` / ``serviceAccountKeyLastAuthentication``): last
  authentication per account and per key.

Each file may be the gcloud list (a JSON array) or the REST page (``{"insights": [...]}`` /
``{"activities": [...]}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nhictl.core.errors import InputError
from nhictl.providers.gcp.inputs import Doc
from nhictl.providers.gcp.members import parse_member
from nhictl.providers.jsonio import expect, parse_time

_CRM = "//cloudresourcemanager.googleapis.com/"


@dataclass(frozen=True, slots=True)
class BindingUsage:
    """What one policy insight says about one binding."""

    resource: str  # as the insight names it: projects/<number or id>, folders/N, ...
    role: str
    member: str  # service-account e-mail
    condition: str  # the condition's expression, "" for none
    keep: frozenset[str]  # exercised + inferred
    exercised: int
    inferred: int
    refreshed: datetime | None


def _items(doc: Doc, key: str) -> list[tuple[Any, str]]:
    data = doc.data
    if isinstance(data, dict):
        lst = expect(data.get(key, []), list, doc.source, f"$.{key}")
        return [(x, f"$.{key}[{i}]") for i, x in enumerate(lst)]
    expect(data, list, doc.source, "$")
    return [(x, f"$[{i}]") for i, x in enumerate(data)]


def _content(item: Any, doc: Doc, p: str) -> dict[str, Any]:
    expect(item, dict, doc.source, p)
    content: dict[str, Any] = expect(item.get("content"), dict, doc.source, f"{p}.content")
    return content


def _permissions(content: dict[str, Any], key: str, doc: Doc, p: str) -> list[str]:
    out = []
    for i, e in enumerate(expect(content.get(key, []), list, doc.source, f"{p}.content.{key}")):
        ep = f"{p}.content.{key}[{i}]"
        perm = expect(e, dict, doc.source, ep).get("permission")
        if not isinstance(perm, str) or not perm:
            raise InputError(f"{doc.source}: {ep}.permission: missing")
        out.append(perm)
    return out


def _insight_resource(item: dict[str, Any], doc: Doc, p: str) -> str:
    targets = item.get("targetResources")
    if isinstance(targets, list) and targets and isinstance(targets[0], str):
        res = targets[0]
        return res[len(_CRM) :] if res.startswith(_CRM) else res.lstrip("/")
    name = item.get("name")
    if isinstance(name, str) and "/locations/" in name:
        return name.split("/locations/", 1)[0]
    raise InputError(f"{doc.source}: {p}.targetResources: missing (which binding is this?)")


def binding_usage(doc: Doc) -> list[BindingUsage]:
    """Every policy insight about a service account's binding (others are skipped)."""
    out: list[BindingUsage] = []
    for item, p in _items(doc, "insights"):
        content = _content(item, doc, p)
        member = content.get("member")
        role = content.get("role")
        if not isinstance(member, str) or not isinstance(role, str):
            raise InputError(f"{doc.source}: {p}.content: needs role and member")
        m = parse_member(member)
        if m.kind != "service-account":
            continue
        cond = content.get("condition") or {}
        expect(cond, dict, doc.source, f"{p}.content.condition")
        exercised = _permissions(content, "exercisedPermissions", doc, p)
        inferred = _permissions(content, "inferredPermissions", doc, p)
        out.append(
            BindingUsage(
                _insight_resource(item, doc, p),
                role,
                m.value,
                str(cond.get("expression") or ""),
                frozenset(exercised) | frozenset(inferred),
                len(exercised),
                len(inferred),
                parse_time(item.get("lastRefreshTime"), doc.source, f"{p}.lastRefreshTime"),
            )
        )
    return out


def inactive_accounts(doc: Doc) -> dict[str, datetime | None]:
    """Service-account insights: e-mail -> last authentication (None: never)."""
    out: dict[str, datetime | None] = {}
    for item, p in _items(doc, "insights"):
        content = _content(item, doc, p)
        email = content.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise InputError(f"{doc.source}: {p}.content.email: missing")
        out[email.lower()] = parse_time(
            content.get("lastAuthenticatedTime"), doc.source, f"{p}.content.lastAuthenticatedTime"
        )
    return out


def last_authentications(doc: Doc, what: str) -> dict[str, datetime]:
    """Activity Analyzer results -> last authentication by account or key.

    ``what`` is ``serviceAccount`` (keys: unique id and, when the resource name carries it,
    the e-mail) or ``serviceAccountKey`` (keys: key id).
    """
    out: dict[str, datetime] = {}
    for item, p in _items(doc, "activities"):
        expect(item, dict, doc.source, p)
        act = expect(item.get("activity"), dict, doc.source, f"{p}.activity")
        when = parse_time(
            act.get("lastAuthenticatedTime"), doc.source, f"{p}.activity.lastAuthenticatedTime"
        )
        target = act.get(what)
        if not isinstance(target, dict):
            raise InputError(f"{doc.source}: {p}.activity.{what}: missing")
        if when is None:
            continue
        names: list[str] = []
        full = target.get("fullResourceName") or item.get("fullResourceName")
        if what == "serviceAccountKey":
            if not isinstance(full, str) or "/keys/" not in full:
                raise InputError(
                    f"{doc.source}: {p}.activity.{what}.fullResourceName: not a key name"
                )
            names.append(full.rsplit("/keys/", 1)[1])
        else:
            uid = target.get("serviceAccountId")
            if isinstance(uid, str) and uid:
                names.append(uid)
            if isinstance(full, str) and "/serviceAccounts/" in full:
                names.append(full.rsplit("/serviceAccounts/", 1)[1].lower())
            if not names:
                raise InputError(f"{doc.source}: {p}.activity.{what}: no account id or name")
        for n in names:
            if n not in out or when > out[n]:
                out[n] = when
    return out
