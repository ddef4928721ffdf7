"""Least privilege in GCP's own terms: role bindings to remove or replace, and a custom role.

The engine computes what a principal should keep (used ∩ declared, used, or declared ∩
granted: ``nhictl.creep.remediation``) and writes it as an AWS-shaped policy; GCP grants are
role bindings, so this module turns the kept permissions into the operations IAM Recommender
itself proposes:

- ``REMOVE_ROLE``: a binding none of whose permissions are kept;
- ``REPLACE_ROLE``: a binding only part of whose permissions are kept, replaced by the
  smallest predefined role that covers the kept part (``addedRoles``), or by the custom role
  below when no predefined role is smaller;
- ``customRole``: one custom role with exactly the kept permissions (at most 3,000: GCP's
  limit), for callers that prefer one role to several.

Each operation names the resource the binding is on; a binding inherited from a folder or the
organization says so (changing it changes every project below). Nothing is ever applied.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nhictl.creep.catalog import iter_bits
from nhictl.creep.model import Snapshot
from nhictl.providers.gcp.bindings import condition_key, parse_policy_id
from nhictl.providers.gcp.catalog import GcpCatalog
from nhictl.providers.gcp.knowledge import CUSTOM_ROLE_LIMIT

FORMAT = "nhictl.gcp.remediation/v1"
_ROLE_ID = re.compile(r"[^a-zA-Z0-9_.]")


class RoleIndex:
    """Which predefined roles hold a permission (built on first use, once per run)."""

    def __init__(self, catalog: GcpCatalog) -> None:
        self.catalog = catalog
        self._holders: dict[int, list[tuple[str, int]]] | None = None
        self._memo: dict[int, str | None] = {}

    def smallest_covering(self, mask: int) -> str | None:
        """The predefined role with the fewest permissions that holds all of ``mask``."""
        if not mask:
            return None
        hit = self._memo.get(mask)
        if hit is not None or mask in self._memo:
            return hit
        holders = self._index()
        # Roles holding the permission held by the fewest roles are the only candidates,
        # smallest first: the first that covers the mask is the answer.
        rare = min(iter_bits(mask), key=lambda b: len(holders.get(b, ())))
        found = None
        for role, rm in holders.get(rare, ()):
            if not mask & ~rm:
                found = role
                break
        self._memo[mask] = found
        return found

    def _index(self) -> dict[int, list[tuple[str, int]]]:
        if self._holders is None:
            holders: dict[int, list[tuple[int, str, int]]] = {}
            cat = self.catalog
            for role in list(cat.roles()):
                info = cat.role(role)
                if info is None or info.custom or not _proposable(info.name, info.stage):
                    continue
                rm = cat.role_mask(role) or 0
                entry = (len(info.decoded()), role, rm)
                for b in info.decoded():
                    holders.setdefault(b, []).append(entry)
            self._holders = {
                b: [(role, rm) for _, role, rm in sorted(lst, key=lambda e: (e[0], e[1]))]
                for b, lst in holders.items()
            }
        return self._holders


def _proposable(role: str, stage: str) -> bool:
    """Roles a workload may be given instead: not deprecated, not a Google service agent's,
    not a basic role."""
    if stage in ("DEPRECATED", "ALPHA") or role in ("roles/owner", "roles/editor"):
        return False
    return not role.lower().endswith(("serviceagent", "serviceagentrole"))


def kept_mask(catalog: GcpCatalog, proposal: dict[str, Any]) -> int:
    """The permissions the engine's proposal keeps (its statements' actions; ``svc:*`` is a
    whole service)."""
    policy = proposal.get("policy")
    if not policy:
        return 0
    mask = 0
    for st in policy.get("Statement", ()):
        for action in st.get("Action", ()):
            svc, sep, rest = action.partition(":")
            if sep and rest == "*":
                mask |= catalog.service_mask(svc)
            else:
                mask |= catalog.expand(action)
    return mask


def gcp_proposal(
    catalog: GcpCatalog,
    snapshot: Snapshot,
    principal_id: str,
    proposal: dict[str, Any],
    roles: RoleIndex,
) -> dict[str, Any]:
    """The engine's proposal for one principal, as GCP binding operations (an entry without
    a fix, ``skipped``, stays as it is)."""
    if "skipped" in proposal:
        return proposal
    p = snapshot.principals[principal_id]
    keep = kept_mask(catalog, proposal)
    member = f"serviceAccount:{p.id}"
    ops: list[dict[str, Any]] = []
    custom_needed = False
    granted = 0
    bound: list[tuple[Any, Any, Any, int]] = []
    for att in p.attachments:
        ref = parse_policy_id(att.policy_id)
        pol = snapshot.policies.get(att.policy_id)
        if ref is None or pol is None or not pol.resolved:
            continue
        role_mask = catalog.role_mask(ref.role)
        if role_mask is None:
            role_mask = 0
            for a in pol.statements[0].actions:
                role_mask |= catalog.expand(a)
        granted |= role_mask
        bound.append((att, ref, pol, role_mask))
    # What bindings kept whole already grant on a resource (same condition) need not be
    # granted again there: roles/resourcemanager.projects.get is in most roles.
    covered: dict[tuple[str, str], int] = {}
    rest = []
    for att, ref, pol, role_mask in bound:
        where = (ref.resource, condition_key(pol.statements[0].condition))
        if role_mask & keep == role_mask:
            covered[where] = covered.get(where, 0) | role_mask
        else:
            rest.append((att, ref, pol, role_mask, where))
    rest.sort(key=lambda b: (b[3].bit_count(), b[1].role))  # smaller roles keep first
    for att, ref, pol, role_mask, where in rest:
        kept = role_mask & keep & ~covered.get(where, 0)
        base: dict[str, Any] = {"resource": ref.resource, "role": ref.role, "member": member}
        cond = pol.statements[0].condition
        if cond:
            base["condition"] = cond
        if att.inherited_from:
            base["inherited_from"] = att.inherited_from
            base["note"] = "inherited binding: changing it changes every project below"
        if not kept:
            ops.append({"subtype": "REMOVE_ROLE", "action": "remove", **base})
            continue
        added = roles.smallest_covering(kept)
        added_mask = catalog.role_mask(added) if added else None
        if added_mask is None or added_mask.bit_count() >= role_mask.bit_count():
            added, added_mask, custom_needed = None, kept, True
        covered[where] = covered.get(where, 0) | added_mask
        ops.append(
            {
                "subtype": "REPLACE_ROLE",
                "action": "replace",
                **base,
                "addedRoles": [added] if added else [],
                "keptPermissions": kept.bit_count(),
                **({} if added else {"useCustomRole": True}),
            }
        )
    kept_all = keep & granted
    names = catalog.names(kept_all)
    role_id = _ROLE_ID.sub("_", f"nhictl_lp_{p.id.split('@')[0]}")[:64]
    doc: dict[str, Any] = {
        "format": FORMAT,
        "member": member,
        "basis": proposal.get("basis"),
        "operations": ops,
        "customRole": {
            "roleId": role_id,
            "title": f"Least privilege for {p.name}"[:100],
            "description": f"Permissions {p.id} used or declared (nhictl audit-creep)"[:300],
            "stage": "GA",
            "includedPermissions": names,
        }
        if names
        else None,
    }
    removes = sum(1 for o in ops if o["subtype"] == "REMOVE_ROLE")
    recommendation = (
        "remove-roles"
        if ops and removes == len(ops)
        else "custom-role"
        if custom_needed
        else "replace-roles"
        if ops
        else "none"
    )
    return {
        "principal": p.id,
        "basis": proposal.get("basis"),
        "unknown_use": proposal.get("unknown_use"),
        "actions_before": proposal.get("actions_before"),
        "actions_after": len(names),
        "actions_removed": proposal.get("actions_removed"),
        "escalations_removed": proposal.get("escalations_removed", []),
        "review": proposal.get("review", []),
        "recommendation": recommendation,
        "operations": len(ops),
        "policy": doc,
        "size_chars": len(json.dumps(doc, separators=(",", ":"))),
        "over_size_limit": len(names) > CUSTOM_ROLE_LIMIT,
    }
