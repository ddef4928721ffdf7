"""What changed between two JSON documents, as a list of paths (for revision summaries)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nhictl.core.manifest.results import json_path


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "added" | "removed" | "changed"
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}

    def __str__(self) -> str:
        if self.kind == "added":
            return f"+ {self.path}: {self.new!r}"
        if self.kind == "removed":
            return f"- {self.path}: {self.old!r}"
        return f"~ {self.path}: {self.old!r} -> {self.new!r}"


def diff(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[Change]:
    """Changes from ``old`` to ``new``; lists compare as wholes (order matters in manifests)."""
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in old:
            if key not in new:
                changes.append(Change(json_path((*path, key)), "removed", old=old[key]))
            else:
                changes.extend(diff(old[key], new[key], (*path, key)))
        changes.extend(
            Change(json_path((*path, key)), "added", new=new[key]) for key in new if key not in old
        )
        return changes
    if old == new and type(old) is type(new):
        return []
    return [Change(json_path(path), "changed", old=old, new=new)]
