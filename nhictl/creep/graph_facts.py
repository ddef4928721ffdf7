"""The few facts of one principal the graph needs, kept small so 5,000 of them fit.

A first pass over every principal computes its effective grant once and keeps only this: the
admin verdict, the escalation methods it holds (confirmed ones apart) and, for the handful of
permissions the graph reads (assume, pass-role, every method's target permission), the resource
patterns and conditions that grant or deny them. Never the 20,000-bit sets themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nhictl.creep.catalog import iter_bits
from nhictl.creep.effective import Effective, Expander, resource_covered
from nhictl.creep.knowledge import ProviderKnowledge
from nhictl.creep.model import Snapshot


@dataclass(frozen=True, slots=True)
class Scope:
    """Where one statement grants (or denies) one permission."""

    resources: tuple[str, ...]
    not_resources: tuple[str, ...] = ()
    condition: Mapping[str, Any] | None = None

    def covers(self, resource: str) -> bool:
        if self.not_resources:
            return not resource_covered(resource, self.not_resources)
        return resource_covered(resource, self.resources)

    @property
    def exact(self) -> bool:
        """Names only concrete resources (no wildcard, no NotResource): worth an explicit edge
        per resource rather than an open-target holder."""
        return not self.not_resources and not any("*" in r or "?" in r for r in self.resources)


_ALLOWING_OPERATORS = frozenset({"StringEquals", "StringLike", "StringEqualsIgnoreCase"})


def condition_values(condition: Mapping[str, Any] | None, key: str) -> tuple[set[str] | None, bool]:
    """The values a condition allows for ``key`` (None: it does not test ``key``) and whether
    it tests anything else (then the grant stays conditional)."""
    if not condition:
        return None, False
    values: set[str] | None = None
    other = False
    for op, tests in condition.items():
        base = op.split(":")[-1].removesuffix("IfExists")
        if not isinstance(tests, Mapping):
            other = True
            continue
        for k, v in tests.items():
            if str(k).lower() != key.lower():
                other = True
            elif base in _ALLOWING_OPERATORS:
                vals = {v} if isinstance(v, str) else {str(x) for x in v}
                values = vals if values is None else values & vals
            else:  # StringNotEquals and the like: not a list of what is allowed
                other = True
    return values, other


def _value_matches(value: str, allowed: set[str]) -> bool:
    return resource_covered(value, allowed)


@dataclass(slots=True)
class PrincipalFacts:
    """What the graph knows of one principal."""

    id: str
    kind: str
    account: str
    admin: bool = False  # unconditional priv.admin (every action, or all of IAM, on "*")
    confirmed: tuple[str, ...] = ()  # escalation methods needing no target
    held: tuple[str, ...] = ()  # every method whose actions it holds (confirmed first)
    allow: dict[str, list[Scope]] = field(default_factory=dict)  # permission -> grants
    deny: dict[str, list[Scope]] = field(default_factory=dict)  # Deny left in the grant

    def grant_on(
        self, permission: str, resource: str, service_key: str = "", service: str = ""
    ) -> bool | None:
        """None: ``permission`` is not granted on ``resource``; else whether only under a
        condition. ``service_key``/``service``: honour a condition on the service the role is
        passed to (iam:PassedToService): a grant limited to other services does not count."""
        for d in self.deny.get(permission, ()):
            if d.covers(resource) and not d.condition:
                return None
        best: bool | None = None
        for s in self.allow.get(permission, ()):
            if not s.covers(resource):
                continue
            cond = bool(s.condition)
            if service_key and s.condition:
                values, other = condition_values(s.condition, service_key)
                if values is not None:
                    if not service or not _value_matches(service, values):
                        continue
                    cond = other
            if not cond:
                best = False
                break
            best = True
        if best is None:
            return None
        denied_if = any(d.covers(resource) for d in self.deny.get(permission, ()) if d.condition)
        return best or denied_if


def graph_permissions(knowledge: ProviderKnowledge) -> tuple[str, ...]:
    """The permissions whose resource scopes the graph reads."""
    names = {knowledge.assume_permission, knowledge.pass_permission}
    for m in knowledge.escalation:
        if m.target_permission:
            names.add(m.target_permission)
        if m.category == "principal-access":
            names.update(a for group in m.requires for a in group)
    names.discard("")
    return tuple(sorted(names))


@dataclass(slots=True)
class FactReader:
    """Reads facts from effective grants; the permission bits are looked up once."""

    knowledge: ProviderKnowledge
    bits: dict[int, str] = field(init=False)
    mask: int = field(init=False)

    def __post_init__(self) -> None:
        cat = self.knowledge.catalog
        self.bits = {}
        for name in graph_permissions(self.knowledge):
            bit = cat.index(name)
            if bit is not None:
                self.bits[bit] = name
        self.mask = 0
        for bit in self.bits:
            self.mask |= 1 << bit

    def read(
        self,
        eff: Effective,
        snapshot: Snapshot,
        expander: Expander,
        admin: bool,
        confirmed: tuple[str, ...],
        held: tuple[str, ...],
    ) -> PrincipalFacts:
        p = eff.principal
        facts = PrincipalFacts(p.id, p.kind, p.account, admin, confirmed, held)
        mask = self.mask
        if not eff.allowed & mask:
            return facts
        for g in eff.grants:
            hit = g.mask & mask
            if not hit:
                continue
            st = g.statement
            cond = st.condition
            if g.boundary_condition and not cond:
                cond = {"boundary": "conditional"}
            scope = Scope(st.resources, st.not_resources, cond)
            for bit in iter_bits(hit):
                facts.allow.setdefault(self.bits[bit], []).append(scope)
        # Deny statements that effective_for could not subtract for certain: on some
        # resources only, or under a condition. They decide per target.
        for att in p.attachments:
            pol = snapshot.policies.get(att.policy_id)
            if pol is None or not pol.resolved:
                continue
            for es in expander.statements(pol):
                if not es.deny or not es.mask & mask:
                    continue
                if not es.conditional and es.any_resource:
                    continue  # already subtracted from every grant
                st = es.statement
                scope = Scope(st.resources, st.not_resources, st.condition)
                for bit in iter_bits(es.mask & mask):
                    name = self.bits.get(bit)
                    if name in facts.allow:
                        facts.deny.setdefault(name, []).append(scope)
        return facts
