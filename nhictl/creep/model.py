"""The cloud-agnostic common model the creep engine works on.

A provider (``nhictl.providers.<cloud>``) turns raw cloud data into these types; nothing in
``nhictl.creep`` ever sees raw cloud JSON. Policies are stored once in ``Snapshot.policies`` and
principals point at them, so a policy attached to 1,000 roles is parsed and expanded once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}

Effect = Literal["Allow", "Deny"]
PROVIDER_SEPARATOR = "+"  # Report.provider of a combined report: "aws+gcp+azure"
Granularity = Literal["action", "service"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One permission statement of a policy: the provider-neutral shape of a grant pattern.

    ``actions``/``not_actions`` are permission patterns (may contain ``*``/``?``). One of them
    alone is IAM's Action / NotAction; both together mean "``actions`` except ``not_actions``"
    (an Azure role's actions minus its notActions). ``resources``/``not_resources`` likewise
    (Resource / NotResource). ``condition`` is kept verbatim so a conditional grant is never
    reported as unconditional. ``account_wide``: the statement reaches every resource of its
    account although ``resources`` names a scope rather than ``*`` (an Azure assignment at
    subscription, management-group or root scope).
    """

    effect: Effect
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("*",)
    not_resources: tuple[str, ...] = ()
    condition: Mapping[str, Any] | None = None
    sid: str | None = None
    account_wide: bool = False

    @property
    def any_resource(self) -> bool:
        """True when the statement applies to every resource (``*`` or account-wide, and no
        NotResource)."""
        return not self.not_resources and (self.account_wide or "*" in self.resources)


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """An earlier or current version of a policy, used to measure growth across versions."""

    version_id: str
    created: datetime | None
    is_default: bool
    statements: tuple[Statement, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy document (managed, inline, role definition...); ``digest`` hashes its content."""

    id: str  # ARN for managed policies; "<principal arn>#inline/<name>" for inline ones
    name: str
    kind: Literal["managed", "provider-managed", "inline"]
    statements: tuple[Statement, ...]
    digest: str
    versions: tuple[PolicyVersion, ...] = ()
    resolved: bool = True  # False: attached but its document was not in the input


@dataclass(frozen=True, slots=True)
class Attachment:
    """A policy that applies to a principal, possibly through a group (``inherited_from``)."""

    policy_id: str
    inherited_from: str | None = None


@dataclass(frozen=True, slots=True)
class TrustEntry:
    """Who may act as the principal (AWS role trust policy statement, GCP actAs binding...)."""

    kind: Literal["any", "account", "principal", "service", "federated"]
    value: str
    account: str | None = None
    condition: Mapping[str, Any] | None = None
    actions: tuple[str, ...] = ()


@dataclass(slots=True)
class Principal:
    """A workload identity: role, user, service account, managed identity, service principal."""

    provider: str
    id: str
    kind: str
    name: str
    account: str
    path: str = "/"
    tags: Mapping[str, str] = field(default_factory=dict)
    created: datetime | None = None
    last_used: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    boundary: str | None = None  # policy id
    trust: tuple[TrustEntry, ...] = ()
    groups: tuple[str, ...] = ()
    human: bool = False  # federated human access (SSO/SAML), not a workload
    # Where ``last_used`` comes from when that source covers the principal (e.g. "sign-ins"):
    # then None means "never used" within its history. None: only AWS RoleLastUsed semantics.
    last_used_source: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Activity for one principal: per service and, where tracked, per action.

    ``services`` maps a service namespace to its last use (None: never, within the history).
    ``action_services`` names services whose data is action-level; ``actions`` maps
    ``service:action`` (the service as the catalog names it, the action lowercase) to its last
    use for those. ``exhaustive``: the source records every
    observable action (Azure's Activity Log), so an action missing from ``actions`` in an
    action-level service was not used (otherwise it is untracked and follows its service).
    """

    principal_id: str
    services: Mapping[str, datetime | None]
    actions: Mapping[str, datetime | None] = field(default_factory=dict)
    action_services: frozenset[str] = frozenset()
    exhaustive: bool = False


@dataclass(frozen=True, slots=True)
class Credential:
    """A long-lived secret bound to a principal (access key, SA key, client secret)."""

    principal_id: str
    kind: str
    id: str
    status: str
    created: datetime | None
    last_used: datetime | None = None
    last_service: str | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """An existing resource that runs as a principal: whoever can change or start it acts with
    that principal's permissions (a Lambda function, a CodeBuild project, a stack's service role,
    an EC2 instance profile...). ``kind`` is one of ``RESOURCE_KINDS``."""

    kind: str
    id: str  # ARN (or the provider's resource id)
    runs_as: str  # principal id
    account: str = ""
    name: str = ""


# Kinds of existing resources an escalation method can act through (EscalationMethod.
# target_kind); the graph only trusts an absent resource when its kind was listed.
RESOURCE_KINDS = (
    "lambda-function",
    "codebuild-project",
    "cloudformation-stack",
    "apprunner-service",
    "ec2-instance",
    "ec2-launch-template",
    "glue-dev-endpoint",
    "sagemaker-notebook",
    "bedrock-code-interpreter",
)


@dataclass(slots=True)
class Snapshot:
    """Everything one provider reported at one time."""

    provider: str
    accounts: tuple[str, ...]
    principals: dict[str, Principal]
    policies: dict[str, Policy]
    usage: dict[str, Usage] = field(default_factory=dict)
    credentials: list[Credential] = field(default_factory=list)
    collected_at: datetime | None = None
    source: str = ""
    warnings: list[str] = field(default_factory=list)
    # Existing resources that run as a principal, and the kinds whose listing was in the input:
    # a kind listed with no resource means "none exist"; a kind not listed means "unknown".
    resources: list[Resource] = field(default_factory=list)
    inventory: frozenset[str] = frozenset()


Locator = Callable[[str], tuple[int, int] | None]


@dataclass(frozen=True, slots=True)
class Declaration:
    """Declared access for a principal, taken from a registration manifest."""

    manifest: str  # metadata.name
    principal_id: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source: str | None = None  # file path
    line: int | None = None  # line of the principal reference in the file
    column: int | None = None


@dataclass(slots=True)
class Finding:
    """One rule hit. ``evidence`` is small, JSON-ready and names what the rule saw."""

    rule_id: str
    severity: Severity
    principal: str
    message: str
    evidence: dict[str, Any]
    remediation: str
    suppressed: str | None = None  # the exclusion's reason when suppressed
    location: tuple[str, int, int] | None = None  # manifest file, line, column
    mask: int = field(default=0, repr=False, compare=False)  # excess actions, for the index


@dataclass(slots=True)
class PrincipalResult:
    """Per-principal summary: the three sets (granted/used/declared) as counts and the index."""

    id: str
    kind: str
    name: str
    account: str
    creep_index: int
    bucket: str
    granted: dict[str, Any]
    used: dict[str, Any]
    declared: dict[str, Any] | None
    index_detail: dict[str, Any]
    manifest: str | None = None
    provider: str = ""
    # {"score" 0-100, "level", "drivers", "reach"}: set once every finding is known
    # (nhictl.creep.risk.apply_risk); the creep index stays separate.
    risk: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Report:
    """The result of one audit run."""

    provider: str
    generated_at: datetime
    summary: dict[str, Any]
    principals: list[PrincipalResult]
    findings: list[Finding]
    remediations: dict[str, dict[str, Any]] = field(default_factory=dict)
