"""IAM policy documents -> common-model statements; trust policies -> trust entries."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from nhictl.core.errors import InputError
from nhictl.creep.model import Statement, TrustEntry

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ARN_ACCOUNT_RE = re.compile(r"^arn:aws[\w-]*:[^:]*:[^:]*:(\d{12}):")


def _as_tuple(value: Any, source: str, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"{source}: {path}: expected a string or an array of strings")


def decode_document(doc: Any, source: str, path: str) -> dict[str, Any]:
    """A policy document as the CLI writes it (object) or as the API returns it (URL-encoded)."""
    if isinstance(doc, str):
        text = doc if doc.lstrip().startswith("{") else urllib.parse.unquote(doc)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: {path}: policy document is not JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{source}: {path}: policy document nests too deep") from None
    if not isinstance(doc, dict):
        raise InputError(f"{source}: {path}: expected a policy document object")
    return doc


def _statements(
    document: dict[str, Any], source: str, path: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each statement of a policy document with its JSON path (one object or an array)."""
    raw = document.get("Statement", [])
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise InputError(f"{source}: {path}.Statement: expected an object or an array")
    for i, st in enumerate(items):
        sp = f"{path}.Statement[{i}]"
        if not isinstance(st, dict):
            raise InputError(f"{source}: {sp}: expected an object")
        yield sp, st


def parse_statements(doc: Any, source: str, path: str) -> tuple[Statement, ...]:
    """Normalise a policy document's statements, validating the fields the engine relies on."""
    out: list[Statement] = []
    for sp, st in _statements(decode_document(doc, source, path), source, path):
        effect = st.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise InputError(f'{source}: {sp}.Effect: expected "Allow" or "Deny", got {effect!r}')
        if ("Action" in st) == ("NotAction" in st):
            raise InputError(f"{source}: {sp}: needs exactly one of Action or NotAction")
        actions = _as_tuple(st["Action"], source, f"{sp}.Action") if "Action" in st else ()
        not_actions = (
            _as_tuple(st["NotAction"], source, f"{sp}.NotAction") if "NotAction" in st else ()
        )
        if "NotResource" in st:
            resources: tuple[str, ...] = ()
            not_resources = _as_tuple(st["NotResource"], source, f"{sp}.NotResource")
        else:
            # Identity policies require Resource; tolerate its absence as "*" like the console.
            resources = _as_tuple(st.get("Resource", "*"), source, f"{sp}.Resource")
            not_resources = ()
        cond = st.get("Condition")
        if cond is not None and not isinstance(cond, dict):
            raise InputError(f"{source}: {sp}.Condition: expected an object")
        sid = st.get("Sid") if isinstance(st.get("Sid"), str) else None
        out.append(
            Statement(effect, actions, not_actions, resources, not_resources, cond or None, sid)
        )
    return tuple(out)


def digest_of(statements: tuple[Statement, ...]) -> str:
    """Content hash of normalised statements (Sid ignored: it changes no permission)."""
    # repr() of the string tuples is canonical already; only conditions (nested objects) need
    # sorted keys. 5x cheaper than one sorted json.dumps of everything.
    canon = repr(
        [
            (s.effect, s.actions, s.not_actions, s.resources, s.not_resources, _canon(s.condition))
            for s in statements
        ]
    )
    return hashlib.blake2b(canon.encode(), digest_size=16).hexdigest()


def _canon(condition: Any) -> str | None:
    if condition is None:
        return None
    return json.dumps(condition, sort_keys=True, separators=(",", ":"))


def account_of(value: str) -> str | None:
    """The 12-digit account of an ARN or a bare account id."""
    if _ACCOUNT_RE.match(value):
        return value
    m = _ARN_ACCOUNT_RE.match(value)
    return m.group(1) if m else None


def parse_trust(doc: Any, source: str, path: str) -> tuple[TrustEntry, ...]:
    """Allow statements of a role trust policy as (kind, principal, account, condition) entries."""
    if doc is None:
        return ()
    entries: list[TrustEntry] = []
    for sp, st in _statements(decode_document(doc, source, path), source, path):
        if st.get("Effect") != "Allow":
            continue
        cond = st.get("Condition") or None
        if cond is not None and not isinstance(cond, dict):
            raise InputError(f"{source}: {sp}.Condition: expected an object")
        actions = (
            _as_tuple(st.get("Action", ()), source, f"{sp}.Action") if st.get("Action") else ()
        )
        principal = st.get("Principal")
        if principal == "*":
            entries.append(TrustEntry("any", "*", None, cond, actions))
            continue
        if not isinstance(principal, dict):
            if "NotPrincipal" in st:  # Allow + NotPrincipal: everyone but a few
                entries.append(TrustEntry("any", "NotPrincipal", None, cond, actions))
            continue
        for key, values in principal.items():
            for v in _as_tuple(values, source, f"{sp}.Principal.{key}"):
                if key == "AWS":
                    if v == "*":
                        entries.append(TrustEntry("any", "*", None, cond, actions))
                    else:
                        acct = account_of(v)
                        is_root = _ACCOUNT_RE.match(v) is not None or v.endswith(":root")
                        entries.append(
                            TrustEntry(
                                "account" if is_root else "principal", v, acct, cond, actions
                            )
                        )
                elif key == "Service":
                    entries.append(TrustEntry("service", v, None, cond, actions))
                elif key == "Federated":
                    entries.append(TrustEntry("federated", v, account_of(v), cond, actions))
                else:  # CanonicalUser and future keys: keep them visible as principals
                    entries.append(TrustEntry("principal", f"{key}:{v}", None, cond, actions))
    return tuple(entries)
