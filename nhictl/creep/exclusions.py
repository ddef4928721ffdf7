"""Exclusions: suppress findings by principal, policy or rule glob, each with a reason.

Suppressed findings stay in the report (counted in the summary and marked) and no longer count
for ``--fail-on`` or the creep index.

File shape (YAML or JSON)::

    exclusions:
      - principal: "arn:aws:iam::*:role/break-glass-*"   # glob on ARN or name
        rules: [priv.admin, creep.unused-principal]       # optional globs; default all
        reason: Break-glass admin, reviewed quarterly (SEC-112)
        expires: 2027-01-31                               # optional; expired entries are ignored
      - policy: "arn:aws:iam::aws:policy/ReadOnlyAccess"
        reason: Org-wide read-only baseline
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.creep.model import Finding

_MAX_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One entry; the selectors present must all match."""

    reason: str
    principals: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    expires: date | None = None

    def matches(self, finding: Finding, principal_name: str | None) -> bool:
        if self.rules and not any(fnmatch.fnmatchcase(finding.rule_id, r) for r in self.rules):
            return False
        if self.principals and not any(
            fnmatch.fnmatchcase(finding.principal, g)
            or (principal_name is not None and fnmatch.fnmatchcase(principal_name, g))
            for g in self.principals
        ):
            return False
        if self.policies:
            pols = _evidence_policies(finding)
            if not pols or not all(
                any(
                    fnmatch.fnmatchcase(p, g) or fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], g)
                    for g in self.policies
                )
                for p in pols
            ):
                return False
        return True


def _evidence_policies(f: Finding) -> list[str]:
    ev = f.evidence
    pols = ev.get("policies")
    if isinstance(pols, list):
        return [str(p) for p in pols]
    if isinstance(ev.get("policy"), str):
        return [ev["policy"]]
    return []


def _strs(value: Any, source: str, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"{source}: {path}: expected a string or a list of strings")


def parse_exclusions(doc: Any, source: str) -> list[Exclusion]:
    """Validate an exclusions document (already parsed)."""
    if doc is None:
        return []
    items = doc.get("exclusions") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InputError(f"{source}: $.exclusions: expected a list of entries")
    out: list[Exclusion] = []
    for i, e in enumerate(items):
        p = f"$.exclusions[{i}]"
        if not isinstance(e, dict):
            raise InputError(f"{source}: {p}: expected a mapping")
        unknown = set(e) - {
            "principal",
            "principals",
            "policy",
            "policies",
            "rule",
            "rules",
            "reason",
            "expires",
        }
        if unknown:
            raise InputError(f"{source}: {p}: unknown field(s) {', '.join(sorted(unknown))}")
        reason = e.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError(f"{source}: {p}.reason: every exclusion needs a reason")
        principals = _strs(e.get("principal"), source, f"{p}.principal") + _strs(
            e.get("principals"), source, f"{p}.principals"
        )
        policies = _strs(e.get("policy"), source, f"{p}.policy") + _strs(
            e.get("policies"), source, f"{p}.policies"
        )
        rules = _strs(e.get("rule"), source, f"{p}.rule") + _strs(
            e.get("rules"), source, f"{p}.rules"
        )
        if not (principals or policies or rules):
            raise InputError(f"{source}: {p}: needs at least one of principal, policy, rule")
        exp = e.get("expires")
        if isinstance(exp, str):
            try:
                exp = date.fromisoformat(exp) if len(exp) <= 10 else datetime.fromisoformat(exp)
            except ValueError:
                raise InputError(f"{source}: {p}.expires: not a date: {exp!r}") from None
        if isinstance(exp, datetime):
            exp = exp.date()
        if exp is not None and not isinstance(exp, date):
            raise InputError(f"{source}: {p}.expires: not a date")
        out.append(Exclusion(reason.strip(), principals, policies, rules, exp))
    return out


def load_exclusions(path: Path) -> list[Exclusion]:
    """Read an exclusions file with the strict loader (duplicate keys, alias bombs and deep
    nesting refused, as for manifests); JSON is YAML too."""
    from nhictl.core.inputfile import display_name, read_input
    from nhictl.core.safeyaml import Limits, load_yaml, read_text

    limits = Limits(max_bytes=_MAX_BYTES)
    name = display_name(path)
    data = read_input(path, max_bytes=_MAX_BYTES, what="exclusions file")
    docs = load_yaml(name, read_text(name, limits, data=data), limits)
    if len(docs) > 1:
        raise InputError(f"{name}: expected one YAML document, found {len(docs)}")
    return parse_exclusions(docs[0].data if docs else None, name)


def apply_exclusions(
    findings: Iterable[Finding],
    exclusions: list[Exclusion],
    today: date,
    names: dict[str, str],
) -> int:
    """Mark matching findings suppressed (in place); returns how many were suppressed."""
    active = [e for e in exclusions if e.expires is None or e.expires >= today]
    n = 0
    for f in findings:
        for e in active:
            if e.matches(f, names.get(f.principal)):
                f.suppressed = e.reason
                n += 1
                break
    return n
