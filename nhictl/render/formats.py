"""Output formats shared by every command; each command accepts the subset that fits it."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    HTML = "html"


def to_json(data: Any) -> str:
    """Stable JSON: two-space indent, keys in the order the model defines, UTF-8 kept."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_yaml(data: Any) -> str:
    """Block-style YAML with the same structure as the JSON output."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True))
