"""The AWS IAM statements of a fix, from the part of the kept set that is safe to grant.

- each kept action keeps the NotResource, the specific Resource and the Condition of the grant
  it came from;
- on a grant for every resource (``"*"``) an action that can take a resource is narrowed to the
  named resources of its service (``resources``); with none, it stays on ``"*"`` and is
  reported ``unscoped``. On a grant for a resource pattern (``queue/support-*``) the named
  resources of the service it covers replace it (``queue/support-inbox``). Actions that take
  no resource (catalog ``scopable_mask``) stay on ``"*"``: IAM allows nothing else for them;
- each ``SafeTarget.scoped`` action gets its own statement with the body it may be granted with;
- every action of a service kept on the same resources -> ``svc:*`` (exactly the same grant).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nhictl.creep.catalog import ActionCatalog
from nhictl.creep.effective import Effective, resource_covered
from nhictl.creep.fix_safety import SafeTarget
from nhictl.creep.remediation.resources import resources_for

# Only worth looking for whole services when a statement holds enough actions for one.
_COMPRESS_FROM = 16


@dataclass(slots=True)
class FixDocument:
    """The statements of a fix (no ``Sid`` yet: ``split`` numbers them) and what changed."""

    statements: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0  # every action the statements grant (bitset)
    narrowed: int = 0  # actions that went from Resource "*" to named resources (bitset)
    unscoped: int = 0  # actions that take a resource but stay on "*": nothing named (bitset)


def build_document(
    catalog: ActionCatalog, eff: Effective, safe: SafeTarget, named: dict[str, list[str]]
) -> FixDocument:
    """The statements granting ``safe.keep`` (as the grants scope them, narrowed to ``named``:
    named resources by ARN service) and ``safe.scoped``."""
    out = FixDocument()
    scopable = catalog.scopable_mask()
    groups: dict[str, tuple[dict[str, Any], int]] = {}
    for g in eff.grants:
        keep = g.mask & safe.keep
        if not keep:
            continue
        out.kept |= keep
        st = g.statement
        parts: list[tuple[int, dict[str, Any]]] = []
        if st.not_resources:
            parts.append((keep, {"NotResource": list(st.not_resources)}))
        elif st.any_resource:
            parts.append((keep & ~scopable, {"Resource": "*"}))
            parts += _narrow(eff, keep & scopable, named, out)
        else:
            narrowed = _narrow_patterns(eff, keep & scopable, st.resources, named)
            done = 0
            for mask, _ in narrowed:
                done |= mask
            out.narrowed |= done
            parts += narrowed
            parts.append((keep & ~done, {"Resource": _one(list(st.resources))}))
        cond_key = json.dumps(st.condition, sort_keys=True) if st.condition else ""
        for mask, res_body in parts:
            if not mask:
                continue
            key = json.dumps(res_body, sort_keys=True) + cond_key
            body = dict(res_body)
            if st.condition:
                body["Condition"] = st.condition
            prev = groups.get(key)
            groups[key] = (body, (prev[1] if prev else 0) | mask)
    for body, mask in groups.values():
        out.statements.append({"Effect": "Allow", "Action": _compress(catalog, mask, eff), **body})
    for action, body in safe.scoped.items():
        out.statements.append({"Effect": "Allow", "Action": [action], **body})
        bit = catalog.index(action)
        if bit is not None:
            out.kept |= 1 << bit
    return out


def _narrow(
    eff: Effective, mask: int, named: dict[str, list[str]], out: FixDocument
) -> list[tuple[int, dict[str, Any]]]:
    """``mask`` (actions that take a resource, granted on "*") per service, on that service's
    named resources where there are any, else on "*" (recorded as unscoped)."""
    parts: list[tuple[int, dict[str, Any]]] = []
    rest = mask
    for svc, smask in eff.per_service.items():
        part = rest & smask
        if not part:
            continue
        rest &= ~part
        arns = resources_for(svc, named)
        if arns:
            parts.append((part, {"Resource": arns if len(arns) > 1 else arns[0]}))
            out.narrowed |= part
        else:
            parts.append((part, {"Resource": "*"}))
            out.unscoped |= part
        if not rest:
            break
    if rest:  # outside the per-service slices (not expected): kept as granted
        parts.append((rest, {"Resource": "*"}))
        out.unscoped |= rest
    return parts


def _narrow_patterns(
    eff: Effective,
    mask: int,
    resources: tuple[str, ...],
    named: dict[str, list[str]],
) -> list[tuple[int, dict[str, Any]]]:
    """``mask`` (actions that take a resource) granted on specific ``resources``: per service,
    a wildcard resource (``queue/support-*``) that covers named resources of that service is
    replaced by them (``queue/support-inbox``); resources covering none stay as granted. Only
    the services whose resources change are returned."""
    if not named or not any("*" in r or "?" in r for r in resources):
        return []
    parts: list[tuple[int, dict[str, Any]]] = []
    for svc, smask in eff.per_service.items():
        part = mask & smask
        arns = resources_for(svc, named) if part else []
        if not arns:
            continue
        narrowed: list[str] = []
        for r in resources:
            wild = "*" in r or "?" in r
            inside = [a for a in arns if wild and resource_covered(a, (r,))]
            narrowed += [a for a in inside or [r] if a not in narrowed]
        if narrowed != list(resources):
            parts.append((part, {"Resource": _one(narrowed)}))
    return parts


def _one(resources: list[str]) -> str | list[str]:
    return resources if len(resources) > 1 else resources[0]


def _compress(catalog: ActionCatalog, mask: int, eff: Effective) -> list[str]:
    out: list[str] = []
    rest = mask
    if mask.bit_count() > _COMPRESS_FROM:
        for svc, granted in eff.per_service.items():
            if not mask & granted:
                continue
            sm = catalog.service_mask(svc)
            if (mask & sm) == sm:
                out.append(f"{svc}:*")
                rest &= ~sm
    return sorted(out) + catalog.names(rest)
