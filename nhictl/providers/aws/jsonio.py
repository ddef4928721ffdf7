"""Kept for imports of ``nhictl.providers.aws.jsonio``: the helpers live in
``nhictl.providers.jsonio`` (shared by every provider)."""

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
