"""Least-privilege policy per principal: used ∩ declared where both are known.

Never applied: the policies are written as files for a human (or a pipeline) to review.

- target = used ∩ declared (both known), used (only usage known), granted ∩ declared (only a
  manifest), nothing to propose otherwise;
- each kept action keeps the Resource/NotResource and Condition of the grant it came from;
  Resource "*" is narrowed to the declared resources for actions that can take a resource;
- every action of a service kept -> "svc:*" (exactly what is granted today, much shorter).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.jsonout import document
from nhictl.creep.catalog import ActionCatalog
from nhictl.creep.effective import Effective
from nhictl.creep.model import Declaration


def proposal_target(
    eff: Effective, used: int | None, declared: int | None, decl: Declaration | None
) -> tuple[int, str] | None:
    """What a least-privilege proposal keeps of the grant, and its basis; None when there is
    nothing to base it on, or nothing to remove (and no declared resources to narrow to)."""
    if used is not None and declared is not None:
        target, basis = used & declared & eff.allowed, "used ∩ declared"
    elif used is not None:
        target, basis = used & eff.allowed, "used"
    elif declared is not None:
        target, basis = declared & eff.allowed, "declared ∩ granted"
    else:
        return None
    if target == eff.allowed and not (decl and decl.resources):
        return None  # nothing to remove
    return target, basis


def least_privilege(
    catalog: ActionCatalog,
    eff: Effective,
    used: int | None,
    declared: int | None,
    decl: Declaration | None,
    size_limit: int,
) -> dict[str, Any] | None:
    """The proposal for one principal, or None when there is nothing to base it on."""
    found = proposal_target(eff, used, declared, decl)
    if found is None:
        return None
    target, basis = found
    scopable = catalog.scopable_mask()
    groups: dict[str, tuple[dict[str, Any], int]] = {}
    for g in eff.grants:
        keep = g.mask & target
        if not keep:
            continue
        st = g.statement
        parts: list[tuple[int, dict[str, Any]]] = []
        if decl and decl.resources and st.any_resource:
            parts.append((keep & scopable, {"Resource": list(decl.resources)}))
            parts.append((keep & ~scopable, {"Resource": "*"}))
        elif st.not_resources:
            parts.append((keep, {"NotResource": list(st.not_resources)}))
        else:
            parts.append(
                (
                    keep,
                    {"Resource": list(st.resources) if len(st.resources) > 1 else st.resources[0]},
                )
            )
        for mask, res in parts:
            if not mask:
                continue
            body = dict(res)
            cond_key = ""
            if st.condition:
                body["Condition"] = st.condition
                cond_key = json.dumps(st.condition, sort_keys=True)
            key = repr(res) + cond_key
            prev = groups.get(key)
            groups[key] = (body, (prev[1] if prev else 0) | mask)
    statements = []
    for i, (body, mask) in enumerate(groups.values(), 1):
        statements.append(
            {
                "Sid": f"NhictlLeastPrivilege{i}",
                "Effect": "Allow",
                "Action": _compress(catalog, mask, eff),
                **body,
            }
        )
    policy = {"Version": "2012-10-17", "Statement": statements}
    size = len(json.dumps(policy, separators=(",", ":")))
    return {
        "principal": eff.principal.id,
        "basis": basis,
        "actions_before": eff.allowed.bit_count(),
        "actions_after": target.bit_count(),
        "recommendation": "replace-policies" if statements else "detach-all",
        "policy": policy if statements else None,
        "size_chars": size,
        "over_size_limit": size > size_limit,
    }


def _compress(catalog: ActionCatalog, mask: int, eff: Effective) -> list[str]:
    out: list[str] = []
    rest = mask
    # Only worth looking for whole services when the set is big enough to hold one.
    if mask.bit_count() > 16:
        for svc, granted in eff.per_service.items():
            if not mask & granted:
                continue
            sm = catalog.service_mask(svc)
            if (mask & sm) == sm:
                out.append(f"{svc}:*")
                rest &= ~sm
    return sorted(out) + catalog.names(rest)


def write_remediations(out_dir: Path, remediations: dict[str, dict[str, Any]]) -> list[Path]:
    """One ``<principal-name>.json`` policy per principal plus ``index.json``; never applied."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{out_dir}: cannot create remediation directory: {exc.strerror}"
        ) from None
    written: list[Path] = []
    index: list[dict[str, Any]] = []
    used_names: set[str] = set()
    for pid in sorted(remediations):
        rem = remediations[pid]
        name = _safe_name(pid)
        while name in used_names:
            name += "_"
        used_names.add(name)
        entry = {k: v for k, v in rem.items() if k != "policy"}
        if rem.get("policy") is not None:
            path = out_dir / f"{name}.json"
            path.write_bytes(document(rem["policy"]))
            written.append(path)
            entry["file"] = path.name
        index.append(entry)
    idx = out_dir / "index.json"
    idx.write_bytes(document(index))
    written.append(idx)
    return written


def _safe_name(arn: str) -> str:
    acct = arn.split(":")[4] if arn.count(":") >= 5 else ""
    tail = arn.rsplit(":", 1)[-1].replace("/", "_")
    safe = "".join(c if c.isalnum() or c in "-_.+=@" else "_" for c in f"{acct}_{tail}")
    return safe.strip("._") or "principal"
