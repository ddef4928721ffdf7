"""Helpers the live-collection tests share."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def read_tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``: relative POSIX path -> bytes."""
    return {
        str(p.relative_to(folder)).replace(os.sep, "/"): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM block: any of them in an output would leak the key."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def leaked(secrets: Iterable[str], *haystacks: str | bytes) -> list[str]:
    """The secrets that occur in any haystack (shown cut short)."""
    text = "\n".join(h.decode("utf-8", "replace") if isinstance(h, bytes) else h for h in haystacks)
    return [secret[:12] + "..." for secret in secrets if secret and secret in text]


def leftovers(folder: Path) -> list[str]:
    """Temporary directories a collection left beside its output (there must be none)."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)
