"""Creep rules. Each rule id is stable; ``RULES`` documents them for every renderer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """Static description of a rule (SARIF rule metadata, docs)."""

    id: str
    title: str
    default_severity: str
    description: str


RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        RuleInfo(
            "creep.unused-permission",
            "Granted permission not used",
            "medium",
            "Granted actions not used within the window (action-level where tracked).",
        ),
        RuleInfo(
            "creep.unused-principal",
            "Principal not used",
            "medium",
            "No activity within the window: the identity and its grants can go.",
        ),
        RuleInfo(
            "creep.beyond-declared",
            "Grant exceeds declared access",
            "high",
            "Effective grant exceeds the registration manifest's declared actions/resources.",
        ),
        RuleInfo(
            "creep.growth",
            "Grant grew",
            "medium",
            "Actions added since the baseline, or across a customer policy's versions.",
        ),
        RuleInfo(
            "priv.admin",
            "Administrative access",
            "critical",
            "Full administrative access: every action, or all of IAM, on every resource.",
        ),
        RuleInfo(
            "priv.wildcard",
            "Wildcard grant",
            "medium",
            "Service-wide or global action wildcards, or scopable writes on Resource '*'.",
        ),
        RuleInfo(
            "priv.escalation",
            "Privilege escalation",
            "high",
            "Holds every action of a known privilege-escalation method (across policies); a "
            "method that needs a target is reported as a path when the principal graph finds "
            "one more privileged than the caller.",
        ),
        RuleInfo(
            "priv.reachable-admin",
            "Reaches admin through other principals",
            "high",
            "A non-admin principal reaches an administrator (or a principal that can make "
            "itself one) in N steps: assume, pass a role, act through an existing resource, "
            "take over or rewrite another principal. Shortest paths first.",
        ),
        RuleInfo(
            "cred.stale-key",
            "Stale access key",
            "medium",
            "Long-lived credential older than the maximum age or unused that long; Azure "
            "secrets and certificates also when expired, without expiry or over a year long.",
        ),
        RuleInfo(
            "inv.unregistered",
            "Unregistered non-human principal",
            "medium",
            "A workload identity with no registration manifest.",
        ),
        RuleInfo(
            "inv.orphan-manifest",
            "Orphan manifest",
            "medium",
            "A registration manifest whose principal does not exist.",
        ),
        RuleInfo(
            "azure.standing-privileged-assignment",
            "Standing privileged assignment",
            "high",
            "A privileged Azure role held permanently where PIM shows no time-bound assignment.",
        ),
        RuleInfo(
            "azure.custom-role-locks",
            "Custom role administers locks",
            "medium",
            "A custom Azure role that can write or delete resource locks.",
        ),
        RuleInfo(
            "trust.broad",
            "Broad trust policy",
            "high",
            "Role assumable by anyone, or cross-account/federated without conditions.",
        ),
    )
}


# Rules only one provider has (e.g. GCP's default-account rule), registered by the provider's
# rules module; renderers describe those that occur in a report.
PROVIDER_RULES: dict[str, RuleInfo] = {}


def register(*infos: RuleInfo) -> None:
    """Describe provider-only rules (ids must not collide with the shared ones)."""
    for r in infos:
        if r.id in RULES:
            raise ValueError(f"{r.id} is a shared rule id")
        PROVIDER_RULES.setdefault(r.id, r)


def rule_info(rule_id: str) -> RuleInfo:
    """The description of a shared or registered rule (a bare one for an unknown id)."""
    hit = RULES.get(rule_id) or PROVIDER_RULES.get(rule_id)
    return hit if hit is not None else RuleInfo(rule_id, rule_id, "medium", rule_id)
