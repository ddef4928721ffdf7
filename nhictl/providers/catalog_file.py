"""The shipped catalog files' format: gzip-compressed JSON, access levels as one letter.

``scripts/build_*_catalog.py`` write them with ``pack``; the provider catalogs read them with
``unpack``. The letters are the same in every provider's file.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

from nhictl.creep.catalog import AccessLevel

LEVEL_CODES: dict[AccessLevel, str] = {
    "Read": "R",
    "List": "L",
    "Write": "W",
    "Tagging": "T",
    "Permissions management": "P",
}
CODE_LEVELS: dict[str, AccessLevel] = {c: lv for lv, c in LEVEL_CODES.items()}


def pack(data: Any, sort_keys: bool = False) -> bytes:
    """The file's bytes: compact JSON, gzip at level 9 with mtime 0 so that rebuilding from
    the same input gives the same bytes."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=sort_keys)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def unpack(package: str, name: str) -> Any:
    """A file shipped inside ``package`` (``data/....json.gz``), parsed."""
    return json.loads(gzip.decompress(resources.files(package).joinpath(name).read_bytes()))
