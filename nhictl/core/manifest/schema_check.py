"""JSON Schema validation of manifests, with messages a person can act on.

A compiled validator (fastjsonschema, ~12x faster) answers "valid?" for the common case; only
documents it rejects go through ``jsonschema``, which lists *every* error with its path.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nhictl.core.manifest.results import Issue, Severity
from nhictl.core.safeyaml import Document, JsonPath
from nhictl.core.schemas import load_schema

MAX_MESSAGE = 300


class SchemaChecker:
    """Validates documents against one bundled schema; validators are built on first use."""

    def __init__(self, schema_name: str, *, cache_dir: Path | None = None) -> None:
        self.schema_name = schema_name
        self.cache_dir = cache_dir
        self._schema = load_schema(schema_name)
        self._fast: Callable[[Any], Any] | None = None
        self._full: Any = None

    def check(self, document: Document) -> list[Issue]:
        """Every schema error in ``document``, ordered by position."""
        fast_error = self._fast_check(document.data)
        if fast_error is None:
            return []
        issues = [
            issue
            for error in self._full_validator().iter_errors(document.data)
            for issue in _issues_from_error(error, document)
        ]
        if not issues:
            # The two engines disagree only on edge cases (e.g. '$' before a trailing newline,
            # which fastjsonschema rejects and the spec's ECMA regex would too): keep the
            # stricter verdict.
            path: JsonPath = tuple(fast_error.path[1:])
            line, column = document.locate(path)
            message = str(fast_error.message).removeprefix("data").lstrip(". ")
            issues = [Issue(Severity.ERROR, "schema", message, path, line, column)]
        return issues

    def _fast_check(self, data: Any) -> Any:
        if self._fast is None:
            self._fast = _compiled_validator(self.schema_name, self._schema, self.cache_dir)
        from fastjsonschema import JsonSchemaValueException

        try:
            self._fast(data)
        except JsonSchemaValueException as exc:
            return exc
        return None

    def _full_validator(self) -> Any:
        if self._full is None:
            from jsonschema import Draft202012Validator

            self._full = Draft202012Validator(self._schema)
        return self._full


def _compiled_validator(
    name: str, schema: dict[str, Any], cache_dir: Path | None
) -> Callable[[Any], Any]:
    """fastjsonschema's generated validator, reused from the cache folder when possible.

    Generating the code costs ~120 ms per process; importing the cached module (and its .pyc)
    costs a few. The file name carries a hash of the schema and the generator version, so a
    changed schema never meets a stale validator. The cache holds derived code only, in the
    user's own cache folder (0700), like Python's __pycache__.
    """
    import copy

    import fastjsonschema

    material = json.dumps(schema, sort_keys=True) + fastjsonschema.VERSION
    # fastjsonschema rewrites "$ref"s in the dict it is given: hand it a copy, so the shared
    # cached schema (and so `nhictl schema show`, and this cache key) never changes.
    schema = copy.deepcopy(schema)
    if cache_dir is None:
        return fastjsonschema.compile(schema)
    key = hashlib.sha256(material.encode()).hexdigest()[:24]
    path = cache_dir / "validators" / f"{name.replace('.', '_')}_{key}.py"
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            code = fastjsonschema.compile_to_code(schema)
            # The root validator is the first function the generator writes.
            root = re.search(r"^def (validate\w*)\(", code, re.MULTILINE)
            if root is None:
                return fastjsonschema.compile(schema)
            code += f"\n\nnhictl_validate = {root.group(1)}\n"
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(code)
            os.replace(tmp, path)
        except OSError:
            return fastjsonschema.compile(schema)
    spec = importlib.util.spec_from_file_location(f"_nhictl_validator_{key}", path)
    if spec is None or spec.loader is None:
        return fastjsonschema.compile(schema)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    validate: Callable[[Any], Any] = module.nhictl_validate
    return validate


def _issues_from_error(error: Any, document: Document) -> list[Issue]:
    path: JsonPath = tuple(error.absolute_path)
    validator = error.validator
    workload = path[-1:] == ("workloadIdentity",)
    if validator == "not" and workload and not isinstance(error.instance, dict):
        return []  # the type error already says it; the not-rules are about object fields
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        issues = []
        for key in error.instance:
            if key in allowed:
                continue
            line, column = document.locate((*path, key), key=True)
            message = f"unknown field {key!r}"
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            issues.append(Issue(Severity.ERROR, "schema", message, (*path, key), line, column))
        return issues
    line, column = document.locate(path, key=True)
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [
            Issue(
                Severity.ERROR, "schema", "missing required field", (*path, missing), line, column
            )
        ]
    message = _message(error, path)
    return [Issue(Severity.ERROR, "schema", message, path, line, column)]


def _message(error: Any, path: JsonPath) -> str:
    validator = error.validator
    hint = error.schema.get("x-hint") if isinstance(error.schema, dict) else None
    if validator == "pattern" and hint:
        message = f"{_short(error.instance)} {hint}"
    elif validator == "not" and path[-1:] == ("workloadIdentity",):
        kind = error.instance.get("type")
        foreign = (
            ("spiffeId",)
            if kind == "oidc"
            else ("issuer", "subject", "subjectMatch", "boundClaims")
        )
        extra = sorted(k for k in foreign if k in error.instance)
        message = f"field(s) {', '.join(extra)} do not apply to type {kind!r}"
    elif validator == "oneOf" and len(path) >= 2 and path[-2] == "boundClaims":
        message = f"{_short(error.instance)} must be a string or a list of strings"
    elif validator == "const":
        message = f"{_short(error.instance)} must be {error.validator_value!r}"
    else:
        message = error.message
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return str(message)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"
