"""Semantic checks the JSON Schema cannot express.

Each check reads the document defensively (it runs even when the schema failed, so a user sees
every problem in one pass) and reports ``Issue``s with a stable ``code``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nhictl.core.durations import format_duration, parse_duration
from nhictl.core.errors import InputError
from nhictl.core.identity.spiffe import spiffe_id_problem
from nhictl.core.manifest.results import Issue, Severity
from nhictl.core.safeyaml import Document, JsonPath

SENSITIVITY_RANK = {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

_AWS_PRINCIPAL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?:iam::[0-9]{12}:(?:role|user)(?:/[\x21-\x7e]*)?/"
    r"[\w+=,.@-]{1,64}"
)
_AWS_ACTION = re.compile(r"\*|[a-z0-9-]+:[A-Za-z0-9*?]+")
_AWS_RESOURCE = re.compile(r"\*|arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:[0-9]{12}|aws)?:.+")
_GCP_SA = re.compile(
    r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com"
    r"|[0-9]+-compute@developer\.gserviceaccount\.com"
    r"|[a-z][a-z0-9-]{4,28}[a-z0-9]@appspot\.gserviceaccount\.com"
)
_GCP_ROLE = re.compile(
    r"roles/[A-Za-z0-9_.]+|projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/roles/[A-Za-z0-9_.]+"
    r"|organizations/[0-9]+/roles/[A-Za-z0-9_.]+"
)
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_AZURE_SCOPE = re.compile(
    r"/|/subscriptions/[0-9a-fA-F-]{36}(?:/resourceGroups/[^/]+(?:/providers/.+)?)?"
    r"|/providers/Microsoft\.Management/managementGroups/[^/]+",
    re.IGNORECASE,
)
_GCP_BROAD_ROLES = {"roles/owner", "roles/editor"}
_AZURE_BROAD_ROLES = {"owner", "contributor", "user access administrator", "*"}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class CheckOptions:
    """Settings the checks depend on."""

    ttl_ceiling_seconds: int = 3600
    today: dt.date | None = None  # None: the current UTC date


class _Report:
    """Collects issues for one document, resolving positions lazily."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.issues: list[Issue] = []

    def add(self, severity: Severity, code: str, path: JsonPath, message: str) -> None:
        line, column = self.document.locate(path)
        self.issues.append(Issue(severity, code, message, path, line, column))

    def error(self, code: str, path: JsonPath, message: str) -> None:
        self.add(Severity.ERROR, code, path, message)

    def warning(self, code: str, path: JsonPath, message: str) -> None:
        self.add(Severity.WARNING, code, path, message)


def semantic_issues(document: Document, options: CheckOptions) -> list[Issue]:
    """Run every semantic check on ``document``."""
    data = document.data
    if not isinstance(data, dict):
        return []
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return []
    report = _Report(document)
    for check in _CHECKS:
        check(spec, report, options)
    return report.issues


def _get(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


def _strings(value: Any) -> Iterator[tuple[int, str]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield index, item


def _check_identity(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    identity = spec.get("workloadIdentity")
    base: JsonPath = ("spec", "workloadIdentity")
    spiffe_id = _get(identity, "spiffeId")
    if isinstance(spiffe_id, str):
        problem = spiffe_id_problem(spiffe_id)
        if problem:
            report.error(
                "spiffe-id",
                (*base, "spiffeId"),
                f"{spiffe_id!r} is not a valid SPIFFE ID: {problem}",
            )
    issuer = _get(identity, "issuer")
    if isinstance(issuer, str):
        parts = urlsplit(issuer)
        if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
            report.warning(
                "oidc-issuer", (*base, "issuer"), f"{issuer!r} is plain http (loopback only)"
            )
        elif parts.scheme != "https" or not parts.hostname:
            report.error("oidc-issuer", (*base, "issuer"), f"{issuer!r} is not an https URL")
        elif parts.query or parts.fragment:
            report.error(
                "oidc-issuer", (*base, "issuer"), f"{issuer!r} must not have a query or fragment"
            )
    subject = _get(identity, "subject")
    if _get(identity, "subjectMatch") == "glob":
        if isinstance(subject, str) and (
            not subject.endswith("*") or "*" in subject[:-1] or len(subject) < 2
        ):
            report.error(
                "oidc-subject",
                (*base, "subject"),
                f"{subject!r}: a glob subject needs a non-empty prefix and one trailing '*'",
            )
    elif isinstance(subject, str) and "*" in subject:
        report.warning(
            "oidc-subject",
            (*base, "subject"),
            f"{subject!r} contains '*', which is matched literally unless subjectMatch is "
            "'glob'; prefer an exact subject and pin claims with boundClaims",
        )


def _check_credentials(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    credentials = spec.get("credentials")
    if not isinstance(credentials, dict):
        return
    base: JsonPath = ("spec", "credentials")
    seconds: dict[str, int] = {}
    for key in ("defaultTtl", "maxTtl"):
        text = _get(credentials, key)
        if not isinstance(text, str):
            continue
        try:
            value = parse_duration(text)
        except InputError as exc:
            report.error("duration", (*base, key), str(exc))
            continue
        if value < 60:
            report.error("duration", (*base, key), f"{text!r} is shorter than one minute")
            continue
        seconds[key] = value
    default, maximum = seconds.get("defaultTtl"), seconds.get("maxTtl")
    if default is not None and maximum is not None and default > maximum:
        report.error(
            "ttl-order",
            (*base, "defaultTtl"),
            f"defaultTtl {credentials['defaultTtl']!r} is longer than maxTtl "
            f"{credentials['maxTtl']!r}",
        )
    if maximum is not None and maximum > options.ttl_ceiling_seconds:
        report.error(
            "ttl-ceiling",
            (*base, "maxTtl"),
            f"{credentials['maxTtl']!r} exceeds the "
            f"{format_duration(options.ttl_ceiling_seconds)} ceiling",
        )


def _check_review(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    review = spec.get("review")
    base: JsonPath = ("spec", "review")
    today = options.today or dt.datetime.now(dt.UTC).date()
    dates: dict[str, dt.date] = {}
    for key in ("expires", "lastReviewed"):
        text = _get(review, key)
        if not isinstance(text, str):
            continue
        try:
            dates[key] = dt.date.fromisoformat(text)
        except ValueError:
            report.error("review-date", (*base, key), f"{text!r} is not a real calendar date")
    expires, reviewed = dates.get("expires"), dates.get("lastReviewed")
    if expires is not None and expires < today:
        report.warning(
            "review-expired",
            (*base, "expires"),
            f"registration review expired on {expires.isoformat()}; the agent is treated as "
            "disabled until it is reviewed again",
        )
    if reviewed is not None and reviewed > today:
        report.error("review-date", (*base, "lastReviewed"), f"{reviewed} is in the future")
    if reviewed is not None and expires is not None and reviewed > expires:
        report.error(
            "review-date", (*base, "lastReviewed"), "lastReviewed is after the expiry date"
        )


def _check_intents(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    intents = spec.get("intents")
    if not isinstance(intents, list):
        return
    ceiling = SENSITIVITY_RANK.get(str(spec.get("dataSensitivity")))
    tools = {t for _, t in _strings(spec.get("tools"))}
    seen: dict[str, int] = {}
    for index, intent in enumerate(intents):
        base: JsonPath = ("spec", "intents", index)
        name = _get(intent, "name")
        if isinstance(name, str):
            if name in seen:
                report.error(
                    "intent-duplicate",
                    (*base, "name"),
                    f"intent {name!r} is declared twice (first at intents[{seen[name]}])",
                )
            seen.setdefault(name, index)
        level = _get(intent, "dataSensitivity")
        rank = SENSITIVITY_RANK.get(str(level))
        if rank is not None and ceiling is not None and rank > ceiling:
            report.error(
                "intent-sensitivity",
                (*base, "dataSensitivity"),
                f"{level!r} exceeds the agent's ceiling {spec.get('dataSensitivity')!r}",
            )
        for tool_index, tool in _strings(_get(intent, "tools")):
            if tool not in tools:
                report.error(
                    "intent-tools",
                    (*base, "tools", tool_index),
                    f"tool {tool!r} is not in spec.tools",
                )


def _check_aws(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    aws = _get(spec.get("entitlements"), "aws")
    base: JsonPath = ("spec", "entitlements", "aws")
    arn = _get(aws, "roleArn")
    if isinstance(arn, str) and not _AWS_PRINCIPAL_ARN.fullmatch(arn):
        report.error(
            "aws-arn",
            (*base, "roleArn"),
            f"{arn!r} is not an IAM role or user ARN (arn:aws:iam::<12 digits>:role/<name>)",
        )
    for index, action in _strings(_get(aws, "actions")):
        path = (*base, "actions", index)
        if not _AWS_ACTION.fullmatch(action):
            report.error("aws-action", path, f"{action!r} is not an IAM action (service:Action)")
        elif "*" in action or "?" in action:
            report.warning(
                "wildcard-entitlement", path, f"wildcard action {action!r}; declare actions exactly"
            )
    for index, resource in _strings(_get(aws, "resources")):
        path = (*base, "resources", index)
        if not _AWS_RESOURCE.fullmatch(resource):
            report.error("aws-resource", path, f"{resource!r} is not an ARN or '*'")
        elif resource == "*":
            report.warning("wildcard-entitlement", path, "resource '*' covers every resource")


def _check_gcp(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    gcp = _get(spec.get("entitlements"), "gcp")
    base: JsonPath = ("spec", "entitlements", "gcp")
    account = _get(gcp, "serviceAccount")
    if isinstance(account, str) and not _GCP_SA.fullmatch(account):
        report.error(
            "gcp-service-account",
            (*base, "serviceAccount"),
            f"{account!r} is not a service account e-mail (name@project.iam.gserviceaccount.com)",
        )
    for index, role in _strings(_get(gcp, "roles")):
        path = (*base, "roles", index)
        if not _GCP_ROLE.fullmatch(role):
            report.error("gcp-role", path, f"{role!r} is not a role name (roles/...)")
        elif role in _GCP_BROAD_ROLES:
            report.warning(
                "wildcard-entitlement", path, f"basic role {role!r} grants thousands of permissions"
            )
    for index, permission in _strings(_get(gcp, "permissions")):
        if "*" in permission:
            report.warning(
                "wildcard-entitlement",
                (*base, "permissions", index),
                f"wildcard permission {permission!r}",
            )


def _check_azure(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    azure = _get(spec.get("entitlements"), "azure")
    base: JsonPath = ("spec", "entitlements", "azure")
    for key in ("principalId", "tenantId"):
        value = _get(azure, key)
        if isinstance(value, str) and not _GUID.fullmatch(value):
            report.error("azure-guid", (*base, key), f"{value!r} is not a GUID")
    scope = _get(azure, "scope")
    if isinstance(scope, str) and not _AZURE_SCOPE.fullmatch(scope):
        report.error(
            "azure-scope",
            (*base, "scope"),
            f"{scope!r} is not an Azure scope (/subscriptions/<id>[/resourceGroups/<name>...])",
        )
    elif scope == "/":
        report.warning("wildcard-entitlement", (*base, "scope"), "scope '/' is the whole tenant")
    for index, role in _strings(_get(azure, "roles")):
        if role.lower() in _AZURE_BROAD_ROLES:
            report.warning(
                "wildcard-entitlement",
                (*base, "roles", index),
                f"role {role!r} grants broad write or access-management rights",
            )


def _check_delegation(spec: dict[str, Any], report: _Report, options: CheckOptions) -> None:
    for index, subject in _strings(_get(spec.get("onBehalfOf"), "subjects")):
        if subject.strip("*") == "":
            report.warning(
                "delegation-wildcard",
                ("spec", "onBehalfOf", "subjects", index),
                "the agent may act on behalf of anyone",
            )


_CHECKS: tuple[Callable[[dict[str, Any], _Report, CheckOptions], None], ...] = (
    _check_identity,
    _check_credentials,
    _check_review,
    _check_intents,
    _check_aws,
    _check_gcp,
    _check_azure,
    _check_delegation,
)
