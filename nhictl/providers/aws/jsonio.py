"""Kept for imports of the AWS provider: the JSON helpers live in ``nhictl.providers.jsonio``."""

from __future__ import annotations

from nhictl.providers.jsonio import (
    MAX_INPUT_BYTES,
    expect,
    parse_json_documents,
    parse_time,
    read_json_documents,
    timestamp,
)

__all__ = [
    "MAX_INPUT_BYTES",
    "expect",
    "parse_json_documents",
    "parse_time",
    "read_json_documents",
    "timestamp",
]
