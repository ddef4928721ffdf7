"""Last-accessed responses and access-key metadata -> ``Usage`` and ``Credential``.

Last-accessed input: a JSON object mapping principal ARN -> ``GetServiceLastAccessedDetails``
response (or an array of its pages), or a directory of such files (``*.json``, merged).
Access-key input: ``{"AccessKeyMetadata": [...]}`` (``ListAccessKeys`` with each key's
``GetAccessKeyLastUsed`` ``AccessKeyLastUsed`` merged in), an array of such objects (one per
user), or a bare array of key entries.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from nhictl.core.errors import InputError
from nhictl.core.inputfile import display_name
from nhictl.creep.model import Credential, Usage
from nhictl.providers.jsonio import expect, parse_time, read_json_documents, timestamp


def load_last_accessed(path: Path) -> dict[str, Usage]:
    """Read a last-accessed file or directory into per-principal usage."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise InputError(f"{path}: directory holds no *.json last-accessed files")
    else:
        files = [path]
    out: dict[str, Usage] = {}
    for f in files:
        for doc in read_json_documents(f):
            out.update(usage_from_mapping(doc, display_name(f)))
    return out


def usage_from_mapping(doc: Any, source: str, base: str = "$") -> dict[str, Usage]:
    """Principal ARN -> raw response (or list of response pages) -> ``Usage``."""
    expect(doc, dict, source, base)
    out: dict[str, Usage] = {}
    for arn, resp in doc.items():
        p = f"{base}[{arn!r}]"
        pages = resp if isinstance(resp, list) else [resp]
        usage = _usage_from_pages(arn, pages, source, p)
        if usage is not None:
            out[arn] = usage
    return out


def _usage_from_pages(arn: str, pages: list[Any], source: str, p: str) -> Usage | None:
    services: dict[str, datetime | None] = {}
    actions: dict[str, datetime | None] = {}
    action_services: set[str] = set()
    for pi, page in enumerate(pages):
        pp = f"{p}[{pi}]" if len(pages) > 1 else p
        expect(page, dict, source, pp)
        status = page.get("JobStatus", "COMPLETED")
        if status != "COMPLETED":
            # An IN_PROGRESS/FAILED job carries no data: treat as "no usage data", not "unused".
            return None
        rows = expect(page.get("ServicesLastAccessed"), list, source, f"{pp}.ServicesLastAccessed")
        # JSON paths are only spelled out for an error: 5,000 principals have ~50,000 rows.
        for ri, row in enumerate(rows):
            if not isinstance(row, dict):
                expect(row, dict, source, f"{pp}.ServicesLastAccessed[{ri}]")
            ns = row.get("ServiceNamespace")
            if not isinstance(ns, str) or not ns:
                raise InputError(
                    f"{source}: {pp}.ServicesLastAccessed[{ri}].ServiceNamespace: missing"
                )
            ns = ns.lower()
            last = row.get("LastAuthenticated")
            try:
                services[ns] = timestamp(last)
            except ValueError:  # parse_time raises, naming the field
                parse_time(last, source, f"{pp}.ServicesLastAccessed[{ri}].LastAuthenticated")
            tracked = row.get("TrackedActionsLastAccessed")
            if tracked is None:
                continue
            if not isinstance(tracked, list):
                rp = f"{pp}.ServicesLastAccessed[{ri}]"
                expect(tracked, list, source, f"{rp}.TrackedActionsLastAccessed")
            action_services.add(ns)
            for ai, act in enumerate(tracked):
                name = act.get("ActionName") if isinstance(act, dict) else None
                if not isinstance(name, str) or not name:
                    ap = f"{pp}.ServicesLastAccessed[{ri}].TrackedActionsLastAccessed[{ai}]"
                    expect(act, dict, source, ap)
                    raise InputError(f"{source}: {ap}.ActionName: missing")
                full = name.lower() if ":" in name else f"{ns}:{name.lower()}"
                when = act.get("LastAccessedTime")
                try:
                    actions[full] = timestamp(when)
                except ValueError:  # parse_time raises, naming the field
                    ap = f"{pp}.ServicesLastAccessed[{ri}].TrackedActionsLastAccessed[{ai}]"
                    parse_time(when, source, f"{ap}.LastAccessedTime")
    return Usage(arn, services, actions, frozenset(action_services))


def load_access_keys(path: Path, user_arns: dict[str, str]) -> list[Credential]:
    """Read access-key metadata; ``user_arns`` maps user name -> ARN from the snapshot."""
    creds: list[Credential] = []
    for doc in read_json_documents(path):
        creds.extend(credentials_from_doc(doc, display_name(path), user_arns))
    return creds


def credentials_from_doc(doc: Any, source: str, user_arns: dict[str, str]) -> list[Credential]:
    """Accept the documented shapes; see the module docstring."""
    entries: list[tuple[Any, str]] = []
    if isinstance(doc, dict):
        lst = expect(doc.get("AccessKeyMetadata"), list, source, "$.AccessKeyMetadata")
        entries = [(e, f"$.AccessKeyMetadata[{i}]") for i, e in enumerate(lst)]
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            if isinstance(item, dict) and "AccessKeyMetadata" in item:
                lst = expect(item["AccessKeyMetadata"], list, source, f"$[{i}].AccessKeyMetadata")
                entries += [(e, f"$[{i}].AccessKeyMetadata[{j}]") for j, e in enumerate(lst)]
            else:
                entries.append((item, f"$[{i}]"))
    else:
        expect(doc, dict, source, "$")
    out: list[Credential] = []
    for e, p in entries:
        expect(e, dict, source, p)
        user = e.get("UserName")
        key_id = e.get("AccessKeyId")
        if not isinstance(user, str) or not user:
            raise InputError(f"{source}: {p}.UserName: missing")
        if not isinstance(key_id, str) or not key_id:
            raise InputError(f"{source}: {p}.AccessKeyId: missing")
        last = e.get("AccessKeyLastUsed") or {}
        expect(last, dict, source, f"{p}.AccessKeyLastUsed")
        svc = last.get("ServiceName")
        out.append(
            Credential(
                principal_id=user_arns.get(user, f"user:{user}"),
                kind="access-key",
                id=key_id,
                status=str(e.get("Status", "Active")),
                created=parse_time(e.get("CreateDate"), source, f"{p}.CreateDate"),
                last_used=parse_time(
                    last.get("LastUsedDate"), source, f"{p}.AccessKeyLastUsed.LastUsedDate"
                ),
                last_service=svc if isinstance(svc, str) and svc != "N/A" else None,
            )
        )
    return out
