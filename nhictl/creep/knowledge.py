"""What a provider tells the cloud-agnostic engine beyond its raw data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nhictl.creep.catalog import ActionCatalog

if TYPE_CHECKING:
    from nhictl.creep.context import Context
    from nhictl.creep.effective import Effective
    from nhictl.creep.model import Credential, Declaration, Finding

# A provider's own rule: judges one principal's effective grant on the common model only.
PrincipalRule = Callable[["Context", "Effective"], "list[Finding]"]
# Judges one long-lived credential (replaces the shared age/idle test where a cloud's
# credentials have other failure modes, e.g. Azure secrets without expiry).
CredentialRule = Callable[["Context", "Credential"], "list[Finding]"]
# Builds the least-privilege proposal for one principal from (used, declared) bitsets, each
# None when unknown; None when there is nothing to propose.
Remediator = Callable[
    ["Context", "Effective", "int | None", "int | None", "Declaration | None"],
    "dict[str, Any] | None",
]


@dataclass(frozen=True, slots=True)
class EscalationMethod:
    """A known privilege-escalation technique.

    ``requires`` is a conjunction of alternatives: every inner tuple must be satisfied by at
    least one of its actions.

    ``needs_target`` says what must already exist for the technique to pay off (a role more
    privileged than the caller to pass or assume, a function running as one...) and
    ``target_permission`` the permission that reaches it; empty, the principal's own grants are
    enough. ``category``/``passed_to``/``target_kind`` say which target (see the fields).
    ``self_for`` names principal kinds for which no target is needed (the technique acts
    on the caller itself), while a permissions boundary limits it if ``self_needs_boundary``.
    """

    id: str
    name: str
    requires: tuple[tuple[str, ...], ...]
    reference: str = ""
    note: str = ""
    target_permission: str = ""
    needs_target: str = ""
    self_for: tuple[str, ...] = ()
    self_needs_boundary: bool = False
    # What the target is, for the principal graph: pathfinding's category ("new-passrole",
    # "existing-passrole", "principal-access", "self-escalation"), the service principals a
    # passed role must trust (iam:PassRole paths), and the kind of principal or existing
    # resource the target permission acts on ("iam-role", "iam-user", or a RESOURCE_KINDS entry).
    category: str = ""
    passed_to: tuple[str, ...] = ()
    target_kind: str = ""
    # How the principal graph reaches the target (graph_build): "assume" (assume the target
    # role), "pass-role" (pass it to a service in ``passed_to``), "takeover" (act as the target
    # principal, e.g. with new credentials), "rewrite" (write the target's policies: it becomes
    # whatever the caller writes). Empty: a target of ``target_kind`` in RESOURCE_KINDS is an
    # existing resource; otherwise the graph cannot judge the target and it stays unknown.
    edge: str = ""

    def confirmed_for(self, kind: str, bounded: bool) -> bool:
        """True when a principal of ``kind`` (``bounded``: under a permissions boundary)
        escalates by holding the actions alone, with no existing target."""
        if not self.needs_target:
            return True
        return kind in self.self_for and (bounded or not self.self_needs_boundary)


@dataclass(frozen=True, slots=True)
class PolicyLimits:
    """AWS IAM's size quotas for the policy documents a fix is written as (IAM counts
    characters without whitespace; the defaults are AWS's default quotas)."""

    managed_chars: int = 6144  # one customer-managed policy
    role_inline_chars: int = 10240  # all inline policies of a role together
    user_inline_chars: int = 2048  # all inline policies of a user together
    managed_per_principal: int = 10  # managed policies attached to one role or user
    managed_per_principal_raised: int = 20  # the most a quota increase allows

    def inline_chars(self, kind: str) -> int | None:
        """The inline total for a principal kind ("role", "user"), None for other kinds."""
        return {"role": self.role_inline_chars, "user": self.user_inline_chars}.get(kind)


@dataclass(frozen=True, slots=True)
class ProviderKnowledge:
    """Catalog and risk knowledge of one provider."""

    provider: str
    catalog: ActionCatalog
    escalation: tuple[EscalationMethod, ...]
    # Patterns whose unconditional grant on every resource makes a principal an administrator
    # of the provider's IAM (e.g. "iam:*" on AWS).
    iam_admin: tuple[str, ...]
    # Size quotas of the IAM policy documents the default remediation writes; None for a
    # provider whose fixes are not IAM policy documents (its own ``remediate``, or GCP's
    # conversion of the document into role bindings): then nothing is split.
    policy_limits: PolicyLimits | None = PolicyLimits()
    # Rules only this provider has (e.g. GCP's default compute service account with Editor);
    # they run after the shared rules, for every non-human principal.
    extra_rules: tuple[PrincipalRule, ...] = ()
    # Where the shared rules assume AWS, a provider may replace the AWS reading. None keeps it.
    # priv.admin: AWS judges "every action / all of IAM on Resource *"; Azure judges roles and
    # their scope. A finding with evidence scope "full" (unconditional) silences priv.escalation.
    admin_rule: PrincipalRule | None = None
    credential_rule: CredentialRule | None = None
    remediate: Remediator | None = None  # default: an AWS IAM policy document
    # Which pattern is a wildcard over a whole service ("svc:*" -> "svc"; "*" -> ""), None for
    # any other pattern. None: the AWS "service:action" syntax.
    wildcard_service: Callable[[str], str | None] | None = None
    # Patterns of actions the provider's usage data cannot observe (Azure's Activity Log has no
    # reads and no data-plane operations): neither used nor unused, but unknown.
    unobserved: tuple[str, ...] = ()
    # Wording: the manifest field that names a principal, the name of the usage data, and the
    # fixes of priv.escalation and of creep.beyond-declared's resource finding.
    principal_ref: str = "spec.entitlements.aws.roleArn"
    usage_source: str = "last-accessed"
    escalation_fix: str = (
        "Remove one action of each method (usually iam:PassRole on '*' or the IAM write), "
        "or scope it to specific ARNs; for a path that needs an existing target, check "
        "whether that target exists and is more privileged than this principal."
    )
    scope_fix: str = "Scope the statements' Resource to the declared ARNs."
    # The principal graph (nhictl.creep.graph_build) is built when ``assume_permission`` is set:
    # the permission that assumes a principal whose trust allows the caller (sts:AssumeRole),
    # the one that hands a principal to a service (iam:PassRole) and the condition key naming
    # that service (iam:PassedToService). GCP impersonation / Azure can fill them later.
    assume_permission: str = ""
    pass_permission: str = ""
    passed_to_key: str = ""
    # The service principal a service's resources run under ("lambda" -> lambda.amazonaws.com),
    # for the iam:PassedToService scope of a fix; None: no such scope.
    service_principal: Callable[[str], str] | None = None
    # A principal id as a path shows it ("role/ci/x"); None: the text after the last ":".
    short_name: Callable[[str], str] | None = None
