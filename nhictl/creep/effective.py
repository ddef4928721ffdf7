"""Effective permissions per principal.

Identity policies (inline, attached, inherited through groups) are expanded against the action
catalog -- each distinct policy document once, keyed by its content digest -- then:

- unconditional explicit Deny on every resource is subtracted from every grant;
- unconditional Deny on specific resources is subtracted only from grants whose resources it
  fully covers (otherwise the action stays granted on the other resources, and is shown);
- a Deny with a Condition removes nothing for certain: it is kept and shown, never subtracted;
- a permissions boundary intersects the grants (actions it allows only under a condition
  become conditional grants).

SCPs and resource policies are not modelled (they are not in the authorization-details export).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from nhictl.creep.catalog import ActionCatalog
from nhictl.creep.model import Policy, Principal, Snapshot, Statement


@dataclass(frozen=True, slots=True)
class ExpandedStatement:
    """A statement and the bitset of actions it covers (flags read once per principal)."""

    statement: Statement
    mask: int
    services: frozenset[str]
    deny: bool
    conditional: bool
    any_resource: bool
    # The mask's slice per service of ``services`` (non-empty ones, by name); None when the
    # mask has actions outside those services, so the slices cannot stand for it.
    slices: dict[str, int] | None = None


@dataclass(slots=True)
class EffectiveGrant:
    """An Allow that survives Deny and boundary, with where it came from."""

    mask: int
    statement: Statement
    policy_id: str
    inherited_from: str | None
    conditional: bool
    boundary_condition: bool = False
    any_resource: bool = True  # the statement applies to every resource


@dataclass(slots=True)
class Effective:
    """A principal's effective permissions."""

    principal: Principal
    grants: list[EffectiveGrant] = field(default_factory=list)
    allowed: int = 0  # every action granted, however scoped or conditioned
    allowed_count: int = 0  # allowed.bit_count(), read by several rules (not free at 20k bits)
    unconditional: int = 0  # granted without any condition (some resource)
    unconditional_star: int = 0  # granted without condition on every resource
    denied: int = 0  # removed by unconditional Deny on every resource
    denied_scoped: int = 0  # denied on some resources only (still granted elsewhere)
    denied_conditional: int = 0  # Deny with a condition: shown, not subtracted
    boundary_removed: int = 0
    services: frozenset[str] = frozenset()
    per_service: dict[str, int] = field(default_factory=dict)  # service -> slice, by name
    unresolved: tuple[str, ...] = ()  # attached policies whose document is unknown


class Expander:
    """Expands policy documents once per distinct content."""

    def __init__(self, catalog: ActionCatalog) -> None:
        self.catalog = catalog
        self._cache: dict[str, tuple[ExpandedStatement, ...]] = {}
        # Statements of different documents often list the same actions: expand those once
        # (202 distinct lists for 14,981 statements at 5k roles), while the catalog is as it
        # was: an action new to it joins later expansions of "svc:*" and NotAction.
        self._actions: dict[
            tuple[tuple[str, ...], tuple[str, ...]],
            tuple[int, frozenset[str], dict[str, int] | None],
        ] = {}
        self._actions_catalog = catalog.all_mask
        self.expanded_documents = 0

    def statements(self, policy: Policy) -> tuple[ExpandedStatement, ...]:
        hit = self._cache.get(policy.digest)
        if hit is None:
            hit = self.expand_statements(policy.statements)
            self._cache[policy.digest] = hit
            self.expanded_documents += 1
        return hit

    def expand_statements(self, statements: Iterable[Statement]) -> tuple[ExpandedStatement, ...]:
        return tuple(self._expand(s) for s in statements)

    def _expand(self, st: Statement) -> ExpandedStatement:
        key = (st.actions, st.not_actions)
        if self.catalog.all_mask is not self._actions_catalog:
            self._actions.clear()
            self._actions_catalog = self.catalog.all_mask
        hit = self._actions.get(key)
        if hit is None:
            if st.actions and st.not_actions:  # Azure: actions minus notActions
                hit = self._expand_except(st.actions, st.not_actions)
            else:
                hit = self._expand_actions(st.actions or st.not_actions, bool(st.not_actions))
            self._actions[key] = hit
        return ExpandedStatement(
            st, hit[0], hit[1], st.effect == "Deny", bool(st.condition), st.any_resource, hit[2]
        )

    def _expand_except(
        self, actions: tuple[str, ...], not_actions: tuple[str, ...]
    ) -> tuple[int, frozenset[str], dict[str, int] | None]:
        mask, services, slices = self._expand_actions(actions, False)
        excluded = 0
        for pat in not_actions:
            excluded |= self.catalog.expand(pat)
        if not mask & excluded:
            return mask, services, slices
        kept = None
        if slices is not None:
            kept = {svc: part & ~excluded for svc, part in slices.items() if part & ~excluded}
        return mask & ~excluded, services, kept

    def _expand_actions(
        self, patterns: tuple[str, ...], negated: bool
    ) -> tuple[int, frozenset[str], dict[str, int] | None]:
        cat = self.catalog
        mask = 0
        services: set[str] = set()
        for pat in patterns:
            mask |= cat.expand(pat)
            services |= cat.services_of(pat)
        if negated:
            # NotAction: every action except the listed ones (IAM semantics), in every service.
            mask = cat.all_mask & ~mask
            services = set(cat.services())
        slices: dict[str, int] = {}
        covered = 0
        for svc in sorted(services):
            part = mask & cat.service_mask(svc)
            if part:
                slices[svc] = part
                covered |= part
        return mask, frozenset(services), slices if covered == mask else None


def effective_for(principal: Principal, snapshot: Snapshot, expander: Expander) -> Effective:
    """Compute one principal's effective permissions."""
    eff = Effective(principal)
    deny_all = 0
    scoped_denies: list[ExpandedStatement] = []
    cond_deny = 0
    service_sets: list[frozenset[str]] = []
    slices: list[dict[str, int]] | None = []  # None: some grant's slices are unknown
    unresolved: list[str] = []
    pending: list[EffectiveGrant] = []
    policies = snapshot.policies
    for att in principal.attachments:
        policy = policies.get(att.policy_id)
        if policy is None or not policy.resolved:
            unresolved.append(att.policy_id)
            continue
        for es in expander.statements(policy):
            if es.deny:
                if es.conditional:
                    cond_deny |= es.mask
                elif es.any_resource:
                    deny_all |= es.mask
                else:
                    scoped_denies.append(es)
                continue
            pending.append(
                EffectiveGrant(
                    es.mask,
                    es.statement,
                    policy.id,
                    att.inherited_from,
                    es.conditional,
                    any_resource=es.any_resource,
                )
            )
            service_sets.append(es.services)
            if es.slices is None:
                slices = None
            elif slices is not None:
                slices.append(es.slices)

    boundary = _boundary_masks(principal, snapshot, expander)
    narrowed = bool(deny_all or scoped_denies or boundary is not None)
    if narrowed:
        eff.grants = _narrow(eff, pending, deny_all, scoped_denies, boundary)
    else:  # nothing to subtract or intersect: the common case
        eff.grants = [g for g in pending if g.mask]
    allowed = unconditional = star = 0
    grants = eff.grants
    some_conditional = some_scoped = False
    for g in grants:
        allowed |= g.mask
        if g.conditional:
            some_conditional = True
        elif not g.any_resource:
            some_scoped = True
    # Mostly every grant is unconditional (often on any resource too): then those sets are
    # the whole grant, not another pass of 20,000-bit ORs.
    if not some_conditional:
        unconditional = allowed
        if not some_scoped:
            star = allowed
        else:
            for g in grants:
                if g.any_resource:
                    star |= g.mask
    else:
        for g in grants:
            if not g.conditional:
                unconditional |= g.mask
                if g.any_resource:
                    star |= g.mask
    eff.allowed, eff.unconditional, eff.unconditional_star = allowed, unconditional, star
    eff.allowed_count = allowed.bit_count()
    eff.denied_conditional = cond_deny & allowed
    # Services actually granted, with their slice of the grant: computed once here and reused
    # by usage, evidence and remediation (pattern-derived services over-approximate: "*:Get*"
    # names every service).
    if slices is not None and not narrowed:
        # The grants are whole statements: merge their slices, computed once per expansion
        # (an AdministratorAccess holder would otherwise cut its grant 445 times).
        eff.per_service = _merge_slices(slices)
    else:
        service_mask = expander.catalog.service_mask
        per_service: dict[str, int] = {}
        for svc in sorted(frozenset().union(*service_sets)):  # name order, as evidence lists
            part = allowed & service_mask(svc)
            if part:
                per_service[svc] = part
        eff.per_service = per_service
    eff.services = frozenset(eff.per_service)
    eff.unresolved = tuple(unresolved)
    return eff


def _merge_slices(parts: list[dict[str, int]]) -> dict[str, int]:
    """Union of per-service slices (each by name), by name; the parts are left as they are."""
    if not parts:
        return {}
    base = max(parts, key=len)
    out = dict(base)
    grew = False
    for part in parts:
        if part is base:  # a shared expansion listed twice adds nothing
            continue
        for svc, bits in part.items():
            have = out.get(svc)
            if have is None:
                out[svc] = bits
                grew = True
            else:
                out[svc] = have | bits
    return dict(sorted(out.items())) if grew else out


def _narrow(
    eff: Effective,
    pending: list[EffectiveGrant],
    deny_all: int,
    scoped_denies: list[ExpandedStatement],
    boundary: tuple[int, int, int] | None,
) -> list[EffectiveGrant]:
    """Subtract Deny and intersect the boundary; records what they removed on ``eff``."""
    grants: list[EffectiveGrant] = []
    for g in pending:
        before = g.mask
        g.mask &= ~deny_all
        for d in scoped_denies:
            overlap = g.mask & d.mask
            if overlap and _covers(d.statement.resources, g.statement):
                g.mask &= ~d.mask
            elif overlap:
                eff.denied_scoped |= overlap
        eff.denied |= before & ~g.mask
        if boundary is not None:
            b_uncond, b_cond, b_deny = boundary
            kept = g.mask & ~b_deny
            uncond_part = kept & b_uncond
            cond_part = kept & b_cond & ~b_uncond
            eff.boundary_removed |= g.mask & ~(uncond_part | cond_part)
            g.mask = uncond_part
            if cond_part:
                grants.append(
                    EffectiveGrant(
                        cond_part,
                        g.statement,
                        g.policy_id,
                        g.inherited_from,
                        True,
                        boundary_condition=True,
                        any_resource=g.any_resource,
                    )
                )
        if g.mask:
            grants.append(g)
    return grants


def _boundary_masks(
    principal: Principal, snapshot: Snapshot, expander: Expander
) -> tuple[int, int, int] | None:
    """(allowed, allowed only conditionally, denied) by the boundary; None when there is none."""
    if principal.boundary is None:
        return None
    policy = snapshot.policies.get(principal.boundary)
    if policy is None or not policy.resolved:
        return None  # unknown boundary: cannot narrow, reported as a warning by the loader
    uncond = cond = deny = 0
    for es in expander.statements(policy):
        if es.deny:
            if not es.conditional and es.any_resource:
                deny |= es.mask
        elif es.conditional:
            cond |= es.mask
        else:
            uncond |= es.mask
    return uncond, cond, deny


@lru_cache(maxsize=4096)
def _resource_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    )


def resource_covered(resource: str, patterns: Iterable[str]) -> bool:
    """True when an ARN (or ARN pattern) is matched by one of ``patterns``."""
    return any(p == "*" or _resource_regex(p).fullmatch(resource) for p in patterns)


def _covers(deny_resources: tuple[str, ...], grant: Statement) -> bool:
    if grant.not_resources:
        return "*" in deny_resources
    return all(resource_covered(r, deny_resources) for r in grant.resources)


def policies_granting(eff: Effective, mask: int) -> list[str]:
    """Ids of the policies whose surviving grants cover any action of ``mask``."""
    return sorted({g.policy_id for g in eff.grants if g.mask & mask})
