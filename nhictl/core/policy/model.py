"""Turn manifests and requests into Cedar entities and contexts (pure Python, no cedarpy).

Everything a policy needs is precomputed here as typed attributes (ranks, booleans, sets), so
policies compare values and never parse strings.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nhictl.core.durations import parse_duration
from nhictl.core.errors import InputError

SENSITIVITY_RANKS: dict[str, int] = {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

# The last segment of a scope or action (after ':', '.' or '/') starting with one of these makes
# it a write. Deliberately broad: a false "write" only asks for approval, a missed one grants it.
WRITE_VERBS: tuple[str, ...] = (
    "write", "create", "update", "delete", "put", "post", "patch", "admin", "manage", "modify",
    "remove", "set", "attach", "detach", "grant", "revoke", "tag", "untag", "run", "exec",
    "invoke", "upload", "send", "publish", "approve", "*",
)  # fmt: skip

PRIMITIVE_ROLES: frozenset[str] = frozenset(
    {"roles/owner", "roles/editor", "owner", "contributor", "user access administrator"}
)

REGISTRY_UID: dict[str, str] = {"type": "Registry", "id": "nhictl"}
NO_ATTRIBUTES_ID = "none"
REQUEST_ATTRIBUTES_ID = "request"

AGENT_STATUSES = ("new", "pending-approval", "active", "disabled", "expired")


def is_write(scope_or_action: str) -> bool:
    """True when a scope/action names a write (``reports:write``, ``s3:PutObject``, ``x:*``)."""
    last = scope_or_action.replace(".", ":").replace("/", ":").rsplit(":", 1)[-1].lower()
    return last.startswith(WRITE_VERBS)


def sensitivity_rank(name: str) -> int:
    """Rank of a data-sensitivity level; ``InputError`` for an unknown name."""
    try:
        return SENSITIVITY_RANKS[name]
    except (KeyError, TypeError):
        levels = " < ".join(SENSITIVITY_RANKS)
        raise InputError(f"unknown data sensitivity {name!r}: expected one of {levels}") from None


@dataclass(frozen=True)
class AgentEntity:
    """An agent as Cedar sees it: the Agent entity plus its Team and Intent entities."""

    name: str
    attrs: Mapping[str, Any]
    labels: Mapping[str, str]
    intents: Mapping[str, tuple[str, ...]]
    entities_json: str  # Cedar JSON of every entity, the cache key for the parsed handle

    @property
    def uid(self) -> dict[str, str]:
        return {"type": "Agent", "id": self.name}

    def intent_uid(self, intent: str) -> dict[str, str]:
        return {"type": "Intent", "id": f"{self.name}/{intent}"}


def _get(
    doc: Mapping[str, Any], path: str, kind: type | tuple[type, ...], *, required: bool
) -> Any:
    """Fetch a dotted path from a parsed manifest, checking its type (``InputError`` if wrong)."""
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node or node[key] is None:
            if required:
                raise InputError(f"manifest is missing $.{path}")
            return None
        node = node[key]
    # bool is an int subclass; a YAML `yes` must not pass as a number.
    if not isinstance(node, kind) or (isinstance(node, bool) and bool not in _as_tuple(kind)):
        raise InputError(f"manifest field $.{path} has the wrong type ({type(node).__name__})")
    return node


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _strings(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"manifest field $.{path} must be a list of strings")
    return list(value)


def _duration(doc: Mapping[str, Any], path: str) -> int:
    value = _get(doc, path, str, required=True)
    try:
        return parse_duration(value)
    except InputError as exc:
        raise InputError(f"manifest field $.{path}: {exc.message}") from None


def _review_expiry(value: Any) -> int | None:
    """``review.expires`` as epoch seconds: the end of that UTC day (the last valid day)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return int(stamp.timestamp())
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise InputError(
                f"manifest field $.spec.review.expires is not a date: {value!r}"
            ) from None
    if isinstance(value, dt.date):
        end = dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        return int(end.timestamp())
    raise InputError("manifest field $.spec.review.expires is not a date")


def _entitlement_flags(entitlements: Mapping[str, Any]) -> tuple[bool, bool, list[str]]:
    """(any wildcard, any primitive role, providers declared) from spec.entitlements."""
    wildcard = primitive = False
    providers = sorted(
        p for p in ("aws", "gcp", "azure") if isinstance(entitlements.get(p), Mapping)
    )
    aws = entitlements.get("aws") or {}
    gcp = entitlements.get("gcp") or {}
    azure = entitlements.get("azure") or {}
    actions = _strings(aws.get("actions"), "spec.entitlements.aws.actions")
    resources = _strings(aws.get("resources"), "spec.entitlements.aws.resources")
    roles = _strings(gcp.get("roles"), "spec.entitlements.gcp.roles") + _strings(
        azure.get("roles"), "spec.entitlements.azure.roles"
    )
    # `arn:...:bucket/*` is ordinary object-level scoping; only a bare `*` resource is a wildcard.
    wildcard = any("*" in a for a in actions) or "*" in resources or any("*" in r for r in roles)
    primitive = any(r.lower() in PRIMITIVE_ROLES for r in roles)
    return wildcard, primitive, providers


def agent_from_manifest(
    manifest: Mapping[str, Any], *, status: str = "new", revision: int = 1
) -> AgentEntity:
    """Build the Cedar view of a parsed ``AgentRegistration`` manifest.

    ``status`` and ``revision`` come from the registry (a manifest being registered is ``new``).
    Raises ``InputError`` when a field the policies depend on is missing or malformed; full
    manifest validation is the manifest module's job, this only guards what it reads.
    """
    if status not in AGENT_STATUSES:
        raise InputError(
            f"unknown agent status {status!r}: expected one of {', '.join(AGENT_STATUSES)}"
        )
    if type(revision) is not int or revision < 1:
        raise InputError(f"agent revision must be a positive integer, got {revision!r}")
    if not isinstance(manifest, Mapping):
        raise InputError("manifest must be a mapping")
    name = _get(manifest, "metadata.name", str, required=True)
    owner = _get(manifest, "metadata.owner", str, required=False)
    sponsor = _get(manifest, "metadata.sponsor", str, required=False)
    raw_labels = _get(manifest, "metadata.labels", Mapping, required=False) or {}
    # YAML turns `cost-center: 4411` into an int; labels are strings by definition.
    labels = {str(k): str(v) for k, v in raw_labels.items()}
    identity_type = _get(manifest, "spec.workloadIdentity.type", str, required=False) or ""
    environments = _strings(
        _get(manifest, "spec.environments", list, required=True), "spec.environments"
    )
    sensitivity = _get(manifest, "spec.dataSensitivity", str, required=True)
    rank = sensitivity_rank(sensitivity)
    tools = _strings(_get(manifest, "spec.tools", list, required=False), "spec.tools")
    default_ttl = _duration(manifest, "spec.credentials.defaultTtl")
    max_ttl = _duration(manifest, "spec.credentials.maxTtl")
    max_concurrent = _get(
        manifest, "spec.credentials.maxConcurrentCredentials", int, required=False
    )
    review = (
        manifest.get("spec", {}).get("review")
        if isinstance(manifest.get("spec"), Mapping)
        else None
    )
    review_expires = _review_expiry(review.get("expires") if isinstance(review, Mapping) else None)
    entitlements = _get(manifest, "spec.entitlements", Mapping, required=False) or {}
    wildcard, primitive, providers = _entitlement_flags(entitlements)

    intents: dict[str, tuple[str, ...]] = {}
    for index, intent in enumerate(_get(manifest, "spec.intents", list, required=True)):
        if not isinstance(intent, Mapping) or not isinstance(intent.get("name"), str):
            raise InputError(f"manifest field $.spec.intents[{index}] needs a string name")
        if intent["name"] in intents:
            raise InputError(f"manifest declares intent {intent['name']!r} twice")
        scopes = _strings(intent.get("scopes"), f"spec.intents[{index}].scopes")
        intents[intent["name"]] = tuple(scopes)
    all_scopes = sorted({s for scopes in intents.values() for s in scopes})

    attrs: dict[str, Any] = {
        "name": name,
        "identityType": identity_type,
        "environments": sorted(set(environments)),
        "sensitivity": sensitivity,
        "sensitivityRank": rank,
        "tools": sorted(set(tools)),
        "intents": sorted(intents),
        "scopes": all_scopes,
        "hasWriteScopes": any(is_write(s) for s in all_scopes),
        "hasWildcardEntitlements": wildcard,
        "hasPrimitiveRoles": primitive,
        "entitlementProviders": providers,
        "defaultTtlSeconds": default_ttl,
        "maxTtlSeconds": max_ttl,
        "status": status,
        "revision": revision,
    }
    # Optional attributes are omitted, not empty, so policies must test them with `has`.
    if owner:
        attrs["owner"] = owner
    if sponsor:
        attrs["sponsor"] = sponsor
    if max_concurrent is not None:
        attrs["maxConcurrentCredentials"] = max_concurrent
    if review_expires is not None:
        attrs["reviewExpiresAt"] = review_expires

    agent_uid = {"type": "Agent", "id": name}
    parents = [{"type": "Team", "id": owner}] if owner else []
    entities: list[dict[str, Any]] = [
        {"uid": agent_uid, "attrs": attrs, "parents": parents, "tags": labels},
        {
            "uid": {"type": "Attributes", "id": NO_ATTRIBUTES_ID},
            "attrs": {},
            "parents": [],
            "tags": {},
        },
    ]
    if owner:
        entities.append({"uid": {"type": "Team", "id": owner}, "attrs": {}, "parents": []})
    entities.extend(
        {
            "uid": {"type": "Intent", "id": f"{name}/{intent}"},
            "attrs": {
                "name": intent,
                "scopes": list(scopes),
                "readOnly": not any(map(is_write, scopes)),
            },
            "parents": [agent_uid],
        }
        for intent, scopes in intents.items()
    )
    return AgentEntity(
        name=name,
        attrs=attrs,
        labels=labels,
        intents=intents,
        entities_json=json.dumps(entities, sort_keys=True),
    )


def time_context(now: dt.datetime | None = None) -> dict[str, int]:
    """The ``time`` record: epoch seconds, hour 0..23 and weekday 0 (Monday)..6, all UTC."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        "epochSeconds": int(moment.timestamp()),
        "hour": moment.hour,
        "weekday": moment.weekday(),
    }


def _string_list(values: Iterable[str], what: str) -> list[str]:
    items = list(values)
    if not all(isinstance(v, str) for v in items):
        raise InputError(f"{what} must be strings")
    return sorted(set(items))


def _task_context(
    *,
    task: str,
    intent: str,
    scopes: Iterable[str],
    data_sensitivity: str,
    environment: str,
    tools: Iterable[str],
    agent_revision: int,
    on_behalf_of: str | None,
    now: dt.datetime | None,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "time": time_context(now),
        "task": task,
        "intent": intent,
        "scopes": _string_list(scopes, "scopes"),
        "sensitivity": data_sensitivity,
        "sensitivityRank": sensitivity_rank(data_sensitivity),
        "environment": environment,
        "tools": _string_list(tools, "tools"),
        "agentRevision": agent_revision,
    }
    if on_behalf_of:
        context["onBehalfOf"] = on_behalf_of
    return context


def issue_context(
    *,
    task: str,
    intent: str,
    scopes: Iterable[str],
    data_sensitivity: str,
    environment: str,
    tools: Iterable[str],
    ttl_seconds: int,
    agent_revision: int,
    on_behalf_of: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Context of an ``issue`` decision (the engine adds ``ttlCeilingSeconds``)."""
    context = _task_context(
        task=task, intent=intent, scopes=scopes, data_sensitivity=data_sensitivity,
        environment=environment, tools=tools, agent_revision=agent_revision,
        on_behalf_of=on_behalf_of, now=now,
    )  # fmt: skip
    context["ttlSeconds"] = ttl_seconds
    return context


def authorize_context(
    *,
    task: str,
    intent: str,
    scopes: Iterable[str],
    data_sensitivity: str,
    environment: str,
    tools: Iterable[str],
    agent_revision: int,
    action: str,
    resource: str | None = None,
    attributes: Mapping[str, str] | None = None,
    on_behalf_of: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Context of an ``authorize`` decision: the token's task context plus the request.

    ``attributes`` stays a plain ``str -> str`` mapping here; the engine turns it into the
    ``Attributes`` entity whose tags policies read.
    """
    context = _task_context(
        task=task, intent=intent, scopes=scopes, data_sensitivity=data_sensitivity,
        environment=environment, tools=tools, agent_revision=agent_revision,
        on_behalf_of=on_behalf_of, now=now,
    )  # fmt: skip
    context["action"] = action
    context["actionIsWrite"] = is_write(action)
    if resource:
        context["resource"] = resource
    attrs: dict[Any, Any] = dict(attributes or {})  # untrusted: checked below
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
        raise InputError("request attributes must map strings to strings")
    context["attributes"] = attrs
    return context
