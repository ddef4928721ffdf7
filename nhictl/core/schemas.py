"""The JSON Schemas nhictl publishes; they ship inside the package (``nhictl/schemas``)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from nhictl.core.errors import InputError

_SUFFIX = ".schema.json"


def schema_names() -> list[str]:
    """Names of the bundled schemas, e.g. ``agent-registration.v1``."""
    folder = resources.files("nhictl") / "schemas"
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in folder.iterdir()
        if entry.name.endswith(_SUFFIX)
    )


def schema_text(name: str) -> str:
    """The schema document as published (JSON text)."""
    name = name.removesuffix(_SUFFIX)
    if name not in schema_names():
        known = ", ".join(schema_names())
        raise InputError(f"unknown schema {name!r} (known: {known})")
    return (resources.files("nhictl") / "schemas" / f"{name}{_SUFFIX}").read_text("utf-8")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema; cached because validators reuse it."""
    schema: dict[str, Any] = json.loads(schema_text(name))
    return schema
