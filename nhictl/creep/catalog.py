"""The permission catalog interface the creep engine expands patterns against.

Permission sets are Python ints used as bitsets over the catalog's action indices: union,
intersection and difference of 20,000-action sets are single big-int operations, which is what
keeps a 5,000-principal estate within seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, Protocol

AccessLevel = Literal["Read", "List", "Write", "Tagging", "Permissions management", "Unknown"]

# Weights for the creep index: permissions management changes who can do what; write changes
# state; read can exfiltrate data; list and tagging reveal or label.
LEVEL_WEIGHT: dict[str, int] = {
    "Permissions management": 10,
    "Write": 3,
    "Read": 2,
    "List": 1,
    "Tagging": 1,
    "Unknown": 2,
}


class ActionCatalog(Protocol):
    """What a provider's action catalog offers the engine."""

    all_mask: int

    def expand(self, pattern: str) -> int:
        """Bitset of the actions a (possibly wildcarded, case-insensitive) pattern matches."""

    def services_of(self, pattern: str) -> frozenset[str]:
        """Service namespaces a pattern can touch (all services for a wildcard service part)."""

    def service_mask(self, service: str) -> int:
        """Bitset of all actions of one service."""

    def services(self) -> Iterable[str]:
        """Every service namespace in the catalog."""

    def level_mask(self, level: AccessLevel) -> int:
        """Bitset of every action with this access level."""

    def scopable_mask(self) -> int:
        """Bitset of actions that accept a resource ARN (others only accept ``*``)."""

    def names(self, mask: int, limit: int | None = None) -> list[str]:
        """Action names in a bitset, sorted by catalog order (the first ``limit`` only)."""

    def index(self, action: str) -> int | None:
        """Bit index of a concrete action, or None when it is unknown."""

    def level(self, action: str) -> AccessLevel:
        """Access level of a concrete action."""


def iter_bits(mask: int) -> Iterator[int]:
    """Indices of the set bits of ``mask``, ascending."""
    # One pass over the binary string is linear; peeling the lowest bit off a 20,000-bit int
    # repeatedly is quadratic.
    bits = bin(mask)[:1:-1]
    i = bits.find("1")
    while i >= 0:
        yield i
        i = bits.find("1", i + 1)


def held_bits(mask: int, positions: set[int]) -> set[int]:
    """Which of ``positions`` are set in ``mask``: indexing its bytes is cheaper than a
    pass over the binary string of a 20,000-bit int (or a shift per position)."""
    raw = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    size = len(raw)
    return {b for b in positions if b >> 3 < size and raw[b >> 3] >> (b & 7) & 1}


# The catalog the weight steps were last derived for, its all_mask then, and the steps.
_steps: tuple[ActionCatalog, int, tuple[tuple[int, int | None], ...]] | None = None


def _weight_steps(catalog: ActionCatalog) -> tuple[tuple[int, int | None], ...]:
    """``LEVEL_WEIGHT`` as increments over nested masks: (w1, levels weighing >= w1),
    (w2 - w1, levels weighing >= w2), ... -- four popcounts instead of six. A mask of None
    stands for the whole catalog."""
    global _steps
    if _steps is not None and _steps[0] is catalog and _steps[1] is catalog.all_mask:
        return _steps[2]
    steps: list[tuple[int, int | None]] = []
    below = 0
    for w in sorted(set(LEVEL_WEIGHT.values())):
        m = 0
        for level, lw in LEVEL_WEIGHT.items():
            if lw >= w:
                m |= catalog.level_mask(level)  # type: ignore[arg-type]
        steps.append((w - below, None if m == catalog.all_mask else m))
        below = w
    _steps = (catalog, catalog.all_mask, tuple(steps))
    return _steps[2]


def weight(catalog: ActionCatalog, mask: int, count: int | None = None) -> int:
    """Weighted size of a permission set (see ``LEVEL_WEIGHT``); ``count``: its number of
    actions when the caller has it already."""
    if not mask:
        return 0
    total = 0
    for step, levels in _weight_steps(catalog):
        if levels is not None:
            total += step * (mask & levels).bit_count()
        elif mask.bit_length() <= catalog.all_mask.bit_length():  # within the catalog
            total += step * (mask.bit_count() if count is None else count)
        else:
            total += step * (mask & catalog.all_mask).bit_count()
    return total
