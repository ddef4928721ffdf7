"""Role bindings as policies of the common model: one ``Policy`` per distinct (resource, role,
condition), its id readable and parseable back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Level = Literal["organization", "folder", "project", "service-account", "other"]
LEVEL_RANK: dict[str, int] = {
    "service-account": 0,
    "other": 0,
    "project": 1,
    "folder": 2,
    "organization": 3,
}
BASIC_ROLES = ("roles/owner", "roles/editor")


def condition_key(condition: Mapping[str, Any] | None) -> str:
    """Short stable hash of a condition ("" for none)."""
    if not condition:
        return ""
    canon = json.dumps(condition, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(canon.encode(), digest_size=4).hexdigest()


def policy_id(resource: str, role: str, condition: Mapping[str, Any] | None) -> str:
    """``projects/p#roles/x`` (``?c=<hash>`` appended for a conditional binding)."""
    key = condition_key(condition)
    return f"{resource}#{role}" + (f"?c={key}" if key else "")


@dataclass(frozen=True, slots=True)
class BindingRef:
    """What a policy id says: the resource the role is bound on, the role, a condition."""

    resource: str
    role: str
    conditional: bool

    @property
    def level(self) -> Level:
        return level_of(self.resource)


def parse_policy_id(pid: str) -> BindingRef | None:
    """The binding a GCP policy id names; None for ids of another shape."""
    resource, sep, rest = pid.partition("#")
    if not sep or not rest:
        return None
    role, _, cond = rest.partition("?c=")
    return BindingRef(resource, role, bool(cond))


def level_of(resource: str) -> Level:
    if resource.startswith("organizations/"):
        return "organization"
    if resource.startswith("folders/"):
        return "folder"
    if resource.startswith("projects/"):
        return "service-account" if "/serviceAccounts/" in resource else "project"
    return "other"


def sa_resource(project: str, email: str) -> str:
    """The resource name of a service account, as its own policy is bound on."""
    return f"projects/{project}/serviceAccounts/{email}"
