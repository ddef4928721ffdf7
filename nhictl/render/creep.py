"""Renderers for ``audit-creep`` reports: json, markdown, sarif (2.1.0), table (rich).

Pure functions of a ``Report``; output size grows with findings and principals, never with the
action catalog (evidence carries counts and capped samples, not expanded action lists).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from nhictl import __version__
from nhictl.core.jsonout import dumps
from nhictl.creep.model import PROVIDER_SEPARATOR, SEVERITY_RANK, Finding, PrincipalResult, Report
from nhictl.creep.risk import by_risk
from nhictl.creep.rules import RULES, rule_info

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

SCHEMA_VERSION = "nhictl.audit-creep/v1"
# Lines per chunk of ``iter_json``: one write per few hundred kB instead of one per line.
_LINES_PER_CHUNK = 256


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f.rule_id,
        "severity": f.severity,
        "principal": f.principal,
        "message": f.message,
        "evidence": f.evidence,
        "remediation": f.remediation,
    }
    if f.suppressed is not None:
        out["suppressed"] = {"reason": f.suppressed}
    if f.location is not None:
        out["location"] = {"file": f.location[0], "line": f.location[1], "column": f.location[2]}
    return out


def principal_dict(p: PrincipalResult, *, with_provider: bool = False) -> dict[str, Any]:
    """One principal; ``provider`` is named only when the report spans several clouds."""
    out: dict[str, Any] = {"id": p.id}
    if with_provider:
        out["provider"] = p.provider
    return out | {
        "kind": p.kind,
        "name": p.name,
        "account": p.account,
        "risk": p.risk,
        "creep_index": p.creep_index,
        "bucket": p.bucket,
        "granted": p.granted,
        "used": p.used,
        "declared": p.declared,
        "index_detail": p.index_detail,
    }


def several_providers(report: Report) -> bool:
    """A combined report (``--provider all``) names its clouds "aws+gcp+azure"."""
    return PROVIDER_SEPARATOR in report.provider


def report_dict(report: Report) -> dict[str, Any]:
    """The documented JSON shape (docs/audit-creep.md)."""
    return {
        "schema": SCHEMA_VERSION,
        "provider": report.provider,
        "generated_at": report.generated_at.isoformat(),
        "summary": report.summary,
        "principals": [
            principal_dict(p, with_provider=several_providers(report)) for p in report.principals
        ],
        "findings": [finding_dict(f) for f in report.findings],
    }


def iter_json(report: Report) -> Iterator[bytes]:
    """``render_json`` in chunks of a few hundred lines (UTF-8 bytes), for streaming to a
    file: a 20,000-role report is ~100 MB of JSON that never needs to exist as one string.

    The header and summary are indented; each principal and finding is one compact line.
    """
    head = {
        "schema": SCHEMA_VERSION,
        "provider": report.provider,
        "generated_at": report.generated_at.isoformat(),
        "summary": report.summary,
    }
    pieces = [dumps(head, indent=True)[:-2]]  # without the closing "\n}"
    for key, items in (
        (
            "principals",
            (principal_dict(p, with_provider=several_providers(report)) for p in report.principals),
        ),
        ("findings", (finding_dict(f) for f in report.findings)),
    ):
        sep = f',\n  "{key}": [\n    '.encode()
        empty = True
        for n, item in enumerate(items, 1):
            pieces.append(sep)
            pieces.append(dumps(item))
            sep, empty = b",\n    ", False
            if n % _LINES_PER_CHUNK == 0:
                yield b"".join(pieces)
                pieces.clear()
        pieces.append(f',\n  "{key}": []'.encode() if empty else b"\n  ]")
    pieces.append(b"\n}\n")
    yield b"".join(pieces)


def render_json(report: Report) -> bytes:
    """Indented header and summary; one compact line per principal and per finding.

    Valid JSON, diff- and grep-friendly (one line per item), in UTF-8.
    """
    return b"".join(iter_json(report))


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def used_cell(used: dict[str, Any]) -> str:
    """The used count of a principal for a table: ``23 (+74?)`` when 74 more are unknown
    (neither seen used nor known unused), ``?`` without usage data."""
    if not used.get("known"):
        return "?"
    n = used.get("unknown_actions", 0)
    return f"{used.get('actions')}" + (f" (+{n}?)" if n else "")


def risk_cell(p: PrincipalResult) -> str:
    return f"{p.risk.get('score', 0)} {p.risk.get('level', 'none')}"


def findings_count(summary: dict[str, Any]) -> str:
    """``N active, M suppressed``: how every output names the finding counts."""
    return f"{summary['findings']} active, {summary['suppressed']} suppressed"


def render_markdown(report: Report) -> str:
    s = report.summary
    lines = [
        f"# nhictl audit-creep ({report.provider})",
        "",
        f"Generated {report.generated_at.isoformat()} - {s['principals']} principals, "
        f"findings: {findings_count(s)}; creep index **{s['creep_index']}** ({s['bucket']}).",
        "",
    ]
    if several_providers(report):
        lines += [
            "| Cloud | Principals | Findings | Creep index |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {cloud} | {part['principals']} | {findings_count(part)} | "
            f"{part['creep_index']} ({part['bucket']}) |"
            for cloud, part in s["providers"].items()
        ]
        lines.append("")
    lines += ["| Severity | Active |", "|---|---|"]
    lines += [f"| {sev} | {n} |" for sev, n in s["by_severity"].items()]
    if s.get("top_risks"):
        lines += ["", "## Top risks", ""]
        lines += [
            f"{i}. `{t['id']}`: risk {t['score']} ({t['level']}: "
            f"{', '.join(f'`{d}`' for d in t['drivers'])}), creep index {t['creep_index']}"
            for i, t in enumerate(s["top_risks"], 1)
        ]
    lines += [
        "",
        "## Principals (by risk)",
        "",
        "| Principal | Kind | Risk | Drivers | Creep index | Granted | Used | Unknown | Unused "
        "| Declared |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in by_risk(report.principals):
        known = bool(p.used.get("known"))
        used = str(p.used.get("actions")) if known else "unknown"
        unknown = str(p.used.get("unknown_actions", 0)) if known else "-"
        unused = str(p.used.get("unused_actions", 0)) if known else "-"
        decl = p.declared["manifest"] if p.declared else "-"
        drivers = ", ".join(f"`{d}`" for d in p.risk.get("drivers", [])) or "-"
        lines.append(
            f"| `{p.id}` | {p.kind} | {risk_cell(p)} | {drivers} | {p.creep_index} ({p.bucket}) | "
            f"{p.granted['actions']} | {used} | {unknown} | {unused} | {_md_escape(decl)} |"
        )
    lines += ["", "## Findings", ""]
    if not report.findings:
        lines.append("No findings.")
    else:
        lines += [
            "| Severity | Rule | Principal | Finding | Remediation |",
            "|---|---|---|---|---|",
        ]
    for f in report.findings:
        sev = f.severity + (" (suppressed)" if f.suppressed else "")
        lines.append(
            f"| {sev} | `{f.rule_id}` | `{f.principal}` | {_md_escape(f.message)} | "
            f"{_md_escape(f.remediation)} |"
        )
    if s.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {_md_escape(w)}" for w in s["warnings"]]
    return "\n".join(lines) + "\n"


_SARIF_LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "0.0",
}


def _uri(path: str) -> str:
    """A URI reference (SARIF 3.10.2): percent-encoded, also for a non-UTF-8 file name."""
    p = Path(path)
    return p.resolve().as_uri() if p.is_absolute() else quote(os.fsencode(p.as_posix()))


def render_sarif(report: Report) -> bytes:
    """SARIF 2.1.0 (UTF-8 JSON, two-space indent): one result per finding; manifest line
    when there is a manifest."""
    return dumps(sarif_dict(report), indent=True, newline=True)


def sarif_dict(report: Report) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``render_sarif`` as a dict."""
    # The shared rules, then any provider-only rule the findings use (AWS reports: none).
    extra = sorted({f.rule_id for f in report.findings} - set(RULES))
    infos = [*RULES.values(), *(rule_info(r) for r in extra)]
    rule_ids = [r.id for r in infos]
    rules = [
        {
            "id": r.id,
            "name": r.title.replace(" ", ""),
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.description},
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.default_severity]},
            "properties": {
                "security-severity": _SECURITY_SEVERITY[r.default_severity],
                "tags": ["security", "iam", "privilege-creep"],
            },
        }
        for r in infos
    ]
    snapshot = str(report.summary.get("inputs", {}).get("snapshot") or "")
    # Thousands of findings name a few hundred files; each resolve is a syscall per component.
    uri = functools.cache(_uri)
    results = []
    for f in report.findings:
        if f.location is not None:
            phys: dict[str, Any] = {
                "artifactLocation": {"uri": uri(f.location[0])},
                "region": {
                    "startLine": max(1, f.location[1]),
                    "startColumn": max(1, f.location[2]),
                },
            }
        else:
            phys = {"artifactLocation": {"uri": uri(snapshot) if snapshot else "snapshot"}}
        res: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": rule_ids.index(f.rule_id),
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.remediation}"},
            "locations": [
                {
                    "physicalLocation": phys,
                    "logicalLocations": [{"fullyQualifiedName": f.principal, "kind": "resource"}],
                }
            ],
            "partialFingerprints": {"nhictl/v1": f"{f.rule_id}|{f.principal}|{_fp(f)}"},
            "properties": {
                "severity": f.severity,
                "security-severity": _SECURITY_SEVERITY[f.severity],
                "evidence": f.evidence,
            },
        }
        if f.suppressed is not None:
            res["suppressions"] = [{"kind": "external", "justification": f.suppressed}]
        results.append(res)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nhictl audit-creep",
                        "version": __version__,
                        "informationUri": "https://github.com/nhictl/nhictl",
                        "rules": rules,
                    }
                },
                "results": results,
                # results hold the suppressed findings too: say how many of each
                "properties": {
                    "summary": report.summary,
                    "findings": {
                        "active": report.summary["findings"],
                        "suppressed": report.summary["suppressed"],
                    },
                },
            }
        ],
    }


def _fp(f: Finding) -> str:
    ev = f.evidence
    for key in ("service", "policy", "key_id", "trusted", "manifest", "granularity"):
        if key in ev and ev[key] is not None:
            return f"{key}={ev[key]}"
    return ""


def _short(arn: str, *, with_account: bool = False) -> str:
    """``role/agents/x`` instead of the full ARN when the account is in the summary line;
    ``111122223333:role/agents/x`` when the report spans several accounts."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return arn
    return f"{parts[4]}:{parts[5]}" if with_account and parts[4] else parts[5]


_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
# Below this many columns the detail under a finding is still wrapped to this width.
_MIN_DETAIL = 30


def render_table(
    report: Report, console: Console, *, wide: bool = False, summary: bool = True
) -> None:
    """Human view, fitted to ``console.width`` (``wide``: never wrapped): the summary (unless
    ``summary`` is false, as under ``-q``), the principals by risk, then creep index
    (docs/cli.md table rules), then one line per finding (severity, rule id, principal, each
    whole) with its detail wrapped and indented below it."""
    from rich.text import Text

    from nhictl.render.table import build_table

    width = None if wide else console.width
    s = report.summary
    accounts = sorted(s.get("accounts", {}))
    several = len(accounts) > 1
    clouds = several_providers(report)
    head = Text()
    head.append("audit-creep", style="bold")
    head.append(f" {report.provider}: {s['principals']} principals")
    if clouds:
        head.append(f" in {len(s['providers'])} clouds")
    elif accounts:
        head.append(f" in {'accounts' if several else 'account'} {', '.join(accounts)}")
    head.append(", creep index ")
    head.append(str(s["creep_index"]), style="bold")
    head.append(f" ({s['bucket']})\nfindings: {findings_count(s)}")
    if summary:
        console.print(head, soft_wrap=wide)
        if clouds:  # the clouds side by side
            console.print()
            console.print(_clouds_table(s, width), soft_wrap=True)
    with_findings = {f.principal for f in report.findings}
    shown = [p for p in by_risk(report.principals) if p.creep_index or p.id in with_findings]
    # Opaque ids (Azure object ids) get their readable name beside them; an ARN or e-mail
    # that already holds the name does not.
    named = any(p.name and p.name not in _short(p.id) for p in shown)
    rows = []
    for p in shown:
        declared = p.declared["manifest"] if p.declared else None
        rows.append(
            ([p.provider] if clouds else [])
            + [_short(p.id, with_account=several)]
            + ([p.name if p.name not in _short(p.id) else None] if named else [])
            + [p.kind, risk_cell(p), f"{p.creep_index} {p.bucket}", p.granted["actions"]]
            + [used_cell(p.used), declared]
        )
    columns = ["cloud"] if clouds else []
    columns += ["principal"] + (["name"] if named else [])
    columns += ["kind", "risk", "index", "granted", "used", "declared"]
    if summary:
        console.print()
    console.print(
        build_table(
            columns,
            rows,
            title="Principals by risk (with findings or a non-zero index)",
            width=width,
            drop=["kind", "declared", "name", "used", "granted"],
            keys=["risk", "index"],
        ),
        soft_wrap=True,
    )
    if any(p.used.get("unknown_actions") for p in shown):
        note = (
            "used: actions seen used; (+N?): N more whose use the data cannot tell "
            "(untracked or unobserved), neither used nor unused"
        )
        console.print(_wrapped(note, width), style="dim", soft_wrap=True)
    active = [f for f in report.findings if f.suppressed is None]
    suppressed = [f for f in report.findings if f.suppressed is not None]
    for title, group in (
        (f"Findings: {len(active)} active", active),
        (f"Suppressed: {len(suppressed)} (by --exclusions)", suppressed),
    ):
        if not group:
            continue
        console.print()
        console.print(Text(title, style="bold"), soft_wrap=True)
        group = sorted(group, key=lambda f: -SEVERITY_RANK[f.severity])
        console.print(_finding_lines(group, report.findings, width, several), soft_wrap=True)
    for w in s.get("warnings", []):
        console.print(Text.assemble(("warning:", "yellow"), f" {w}"), soft_wrap=wide)


def _wrapped(text: str, width: int | None) -> str:
    import textwrap

    if width is None:
        return text
    return "\n".join(textwrap.wrap(text, max(width, _MIN_DETAIL), break_on_hyphens=False))


def _clouds_table(summary: dict[str, Any], width: int | None) -> Any:
    """One row per provider of a combined report: its own counts and creep index."""
    from nhictl.render.table import build_table

    rows = [
        [
            cloud,
            part["principals"],
            part["findings"],
            part["suppressed"],
            f"{part['creep_index']} {part['bucket']}",
            ", ".join(sorted(part.get("accounts", {}))),
        ]
        for cloud, part in summary["providers"].items()
    ]
    columns = ["cloud", "principals", "active", "suppressed", "index", "accounts"]
    return build_table(columns, rows, width=width, keys=["cloud", "index"])


def _finding_lines(
    findings: list[Finding], every: list[Finding], width: int | None, several: bool
) -> Text:
    """One line per finding (severity, rule id, principal; never cut), its detail below,
    aligned the same way for every group (``every``: all the report's findings)."""
    import textwrap

    from rich.text import Text

    sev_w = max(len(f.severity) for f in every)
    rule_w = max(len(f.rule_id) for f in every)
    indent = " " * (sev_w + 2)
    detail_w = None if width is None else max(width - len(indent), _MIN_DETAIL)
    out = Text()
    for f in findings:
        principal = _short(f.principal, with_account=several)
        dim = "dim" if f.suppressed is not None else None
        out.append(f.severity.ljust(sev_w), style=dim or _STYLE[f.severity])
        line = f"  {f.rule_id.ljust(rule_w)}  {principal}"
        if width is not None and sev_w + len(line) > width:
            # Too narrow for one line: the principal goes on its own line, still whole.
            line = f"  {f.rule_id}\n{indent}{principal}"
        out.append(line + "\n")
        details = [f.message]
        if f.suppressed is not None:
            details.append(f"suppressed: {f.suppressed}")
        for detail in details:
            parts = (
                [detail]
                if detail_w is None
                else textwrap.wrap(detail, detail_w, break_on_hyphens=False) or [""]
            )
            for part in parts:
                out.append(f"{indent}{part}\n", style=dim)
    out.rstrip()
    return out
