"""IAM policy members (``serviceAccount:``, ``group:``, ``allUsers`` ...) and well-known
service-account names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MemberKind = Literal[
    "service-account", "deleted", "user", "group", "domain", "public", "federated", "other"
]

# Google-managed service agents act for Google services inside the project (like AWS
# service-linked roles): not workloads of the customer, so not audited.
_SERVICE_AGENT = re.compile(
    r"^service-\d+@|@gcp-sa-[a-z0-9-]+\.iam\.gserviceaccount\.com$"
    r"|@cloudservices\.gserviceaccount\.com$|@[a-z0-9-]+-robot\.iam\.gserviceaccount\.com$"
    r"|@compute-system\.iam\.gserviceaccount\.com$|\.google\.com\.iam\.gserviceaccount\.com$"
)
DEFAULT_COMPUTE = re.compile(r"^(\d+)-compute@developer\.gserviceaccount\.com$")
DEFAULT_APP_ENGINE = re.compile(r"^([a-z][-a-z0-9.:]*)@appspot\.gserviceaccount\.com$")
_USER_MANAGED = re.compile(r"^[^@]+@([a-z][-a-z0-9]*)\.iam\.gserviceaccount\.com$")


@dataclass(frozen=True, slots=True)
class Member:
    """One member string, classified."""

    kind: MemberKind
    value: str  # e-mail for accounts, the whole string otherwise
    raw: str


def parse_member(raw: str) -> Member:
    prefix, sep, rest = raw.partition(":")
    if raw in ("allUsers", "allAuthenticatedUsers"):
        return Member("public", raw, raw)
    if raw.startswith(("principal://", "principalSet://")):
        return Member("federated", raw, raw)
    if not sep:
        return Member("other", raw, raw)
    if prefix == "serviceAccount":
        return Member("service-account", rest.lower(), raw)
    if prefix == "deleted":
        return Member("deleted", rest, raw)
    if prefix == "user":
        return Member("user", rest.lower(), raw)
    if prefix == "group":
        return Member("group", rest.lower(), raw)
    if prefix == "domain":
        return Member("domain", rest.lower(), raw)
    return Member("other", raw, raw)


def is_service_agent(email: str) -> bool:
    """A Google-managed service agent (``service-N@gcp-sa-*.iam.gserviceaccount.com`` ...)."""
    return bool(_SERVICE_AGENT.search(email))


def is_default_account(email: str) -> str | None:
    """``"compute"`` or ``"app-engine"`` for the projects' default service accounts."""
    if DEFAULT_COMPUTE.match(email):
        return "compute"
    if DEFAULT_APP_ENGINE.match(email):
        return "app-engine"
    return None


def home_project(email: str, by_number: dict[str, str]) -> str | None:
    """The project an account lives in, from its e-mail (``by_number``: number -> id)."""
    m = _USER_MANAGED.match(email) or DEFAULT_APP_ENGINE.match(email)
    if m:
        return m.group(1).split(":")[-1]
    m = DEFAULT_COMPUTE.match(email)
    if m:
        return by_number.get(m.group(1))
    return None
