"""Output formats shared by every command; each command accepts the subset that fits it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    HTML = "html"


def to_json_bytes(data: Any) -> bytes:
    """Stable JSON as UTF-8 bytes: two-space indent, keys in the order the model defines,
    UTF-8 kept, a trailing newline (``nhictl.core.jsonout`` says exactly how values look)."""
    from nhictl.core import jsonout

    return jsonout.document(data)


def to_json(data: Any) -> str:
    """``to_json_bytes`` as text, for small documents printed beside other text."""
    return to_json_bytes(data).decode("utf-8")


def to_yaml(data: Any) -> str:
    """Block-style YAML with the same structure as the JSON output."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True))
