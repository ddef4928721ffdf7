"""Least privilege, Azure-shaped: role assignments to remove and one custom role to create.

The target set is the engine's (used ∩ declared, used, or declared ∩ granted), where "used"
also keeps every granted read and data action: the Activity Log cannot see them, so they are
unknown, not unused. The proposal:

- ``remove_assignments``: every role assignment of the principal (id, role, scope);
- ``policy``: a custom role definition in the ``az role definition create --role-definition``
  shape, listing the kept operations (never a wildcard: the shipped operation list may be
  partial, and a wildcard would grant operations nobody reviewed), assignable at the scopes
  the kept operations were granted at;
- ``create_assignments``: that role at each of those scopes.

Never applied: written for a human (or a pipeline) to review.
"""

from __future__ import annotations

from typing import Any

from nhictl.creep.context import Context
from nhictl.creep.effective import Effective
from nhictl.creep.model import Declaration
from nhictl.creep.remediation.plan import NOTHING_TO_REMOVE, proposal_target, skipped
from nhictl.providers.azure.snapshot import AzureInventory


class AzureRemediator:
    def __init__(self, inventory: AzureInventory, unobserved: tuple[str, ...]) -> None:
        self.inv = inventory
        self._unobserved = unobserved

    def _unseen(self) -> int:
        """Operations the usage data cannot see: kept when granted, never cut as unused."""
        mask = 0
        for pat in self._unobserved:
            mask |= self.inv.catalog.expand(pat)
        return mask

    def __call__(
        self,
        ctx: Context,
        eff: Effective,
        used: int | None,
        declared: int | None,
        decl: Declaration | None,
    ) -> dict[str, Any] | None:
        unseen = eff.allowed & self._unseen()
        if used is not None and ctx.options.treat_untracked == "used":
            used |= unseen
        found = proposal_target(eff, used, declared)
        if found is None:
            return None
        target, basis = found
        cat = self.inv.catalog
        p = eff.principal
        kept_scopes: dict[str, int] = {}
        granted_scopes: set[str] = set()
        for g in eff.grants:
            keep = g.mask & target
            info = self.inv.policies.get(g.policy_id)
            if info is not None:
                granted_scopes.add(info.scope)
            if keep and info is not None:
                kept_scopes[info.scope] = kept_scopes.get(info.scope, 0) | keep
        if decl and decl.resources:
            # The declared scope replaces broader ones: the manifest says where it works.
            declared_scope = decl.resources[0]
            kept_scopes = {declared_scope: _union(kept_scopes.values())}
        kept = _union(kept_scopes.values())
        removed = eff.allowed & ~kept
        changes: dict[str, Any] = {
            "basis": basis,
            "unknown_use": {
                "treated_as": ctx.options.treat_untracked,
                "actions": unseen.bit_count(),
                "kept": (unseen & kept).bit_count(),
            },
            "actions_before": eff.allowed_count,
            "actions_after": kept.bit_count(),
            "actions_removed": {"count": removed.bit_count(), "sample": ctx.sample(removed)},
        }
        if not removed and set(kept_scopes) == granted_scopes:
            return skipped(eff, NOTHING_TO_REMOVE, **changes)
        remove = [
            {
                "id": a.id or None,
                "role": a.role_name or info.role_name,
                "roleDefinitionId": info.role_id,
                "scope": a.scope,
            }
            for att in p.attachments
            if (info := self.inv.policies.get(att.policy_id)) is not None
            for a in self.inv.assignments.get((p.id, att.policy_id), ())
        ]
        role_name = f"nhictl least privilege {p.name}"
        policy: dict[str, Any] | None = None
        if kept:
            control = kept & ~cat.data_mask
            data = kept & cat.data_mask
            policy = {
                "Name": role_name,
                "IsCustom": True,
                "Description": f"Least privilege for {p.name} ({p.id}), proposed by nhictl "
                f"audit-creep from {basis}.",
                "Actions": cat.names(control),
                "NotActions": [],
                "DataActions": cat.names(data),
                "NotDataActions": [],
                "AssignableScopes": sorted(kept_scopes),
            }
        return {
            "principal": p.id,
            **changes,
            "recommendation": "replace-assignments" if kept else "remove-assignments",
            "remove_assignments": remove,
            "create_assignments": [
                {"role": role_name, "principalId": p.id, "scope": s} for s in sorted(kept_scopes)
            ]
            if kept
            else [],
            "policy": policy,
        }


def _union(masks: Any) -> int:
    out = 0
    for m in masks:
        out |= m
    return out
