"""The bitset half of an ``ActionCatalog``, shared by the provider catalogs.

Bit ``i`` is ``action_names[i]``; a service's and a level's actions are one int each. A provider
catalog fills these tables from its shipped file and parses its own pattern syntax
(``expand_uncached``, ``services_of_uncached``); this class keeps the rest: the caches, the
lookups and turning bitsets back into names (~20,000 times in a 5,000-role AWS audit).
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import compress

from nhictl.creep.catalog import AccessLevel, iter_bits

_WINDOW = 64  # bits peeled at a time by names(): small ints
_WINDOW_MASK = (1 << _WINDOW) - 1
# names() of a large set: picking names in C (a byte per catalog position) beats a Python step
# per set bit once about one position in 20 is set (AWS catalog: crossover between 1 in 16
# and 1 in 32).
_DENSE = 16
_FLAGS = bytes.maketrans(b"01", b"\x00\x01")


class BitCatalog(abc.ABC):
    """Tables, caches and the set-to-names side of ``nhictl.creep.catalog.ActionCatalog``.

    The provider subclass (another module: hence no leading underscores) fills the tables;
    everyone else goes through the protocol's methods.
    """

    def __init__(self) -> None:
        self.action_names: list[str] = []
        self.service_masks: dict[str, int] = {}
        self.level_masks: dict[str, int] = {}
        self.scopable_bits = 0
        # A new int whenever the catalog grows: the engine compares it by identity to know
        # when what it derived from the catalog is stale.
        self.all_mask = 0
        self.expand_cache: dict[str, int] = {}
        self.services_cache: dict[str, frozenset[str]] = {}

    # -- what the provider parses -----------------------------------------------------------
    @abc.abstractmethod
    def expand_uncached(self, key: str) -> int:
        """The bitset of a pattern, ``key`` as ``expand`` keys its cache."""

    @abc.abstractmethod
    def services_of_uncached(self, pattern: str) -> frozenset[str]:
        """The services a pattern can touch (``services_of`` caches it)."""

    @abc.abstractmethod
    def index(self, action: str) -> int | None:
        """Bit index of a concrete action, or None when it is unknown."""

    @abc.abstractmethod
    def level(self, action: str) -> AccessLevel:
        """Access level of a concrete action."""

    # -- protocol ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.action_names)

    def services(self) -> Iterable[str]:
        return self.service_masks.keys()

    def service_mask(self, service: str) -> int:
        hit = self.service_masks.get(service)
        return hit if hit is not None else self.service_masks.get(service.lower(), 0)

    def level_mask(self, level: AccessLevel) -> int:
        return self.level_masks.get(level, 0)

    def scopable_mask(self) -> int:
        return self.scopable_bits

    def expand(self, pattern: str) -> int:
        """Bitset for a case-insensitive pattern; each distinct one is matched once."""
        key = pattern.strip().lower()
        hit = self.expand_cache.get(key)
        if hit is None:
            hit = self.expand_uncached(key)
            self.expand_cache[key] = hit
        return hit

    def services_of(self, pattern: str) -> frozenset[str]:
        hit = self.services_cache.get(pattern)
        if hit is None:
            hit = self.services_of_uncached(pattern)
            self.services_cache[pattern] = hit
        return hit

    def names(self, mask: int, limit: int | None = None) -> list[str]:
        names = self.action_names
        if limit is None:
            count = mask.bit_count()
            if count > 64:
                if mask.bit_length() <= _DENSE * count:
                    return list(compress(names, bin(mask)[:1:-1].encode().translate(_FLAGS)))
                return [names[i] for i in iter_bits(mask)]
            limit = 64  # few bits: peel them off instead of scanning a 20,000-digit string
        # A few lowest bits: no need to scan all 20k. Peeling them off the whole mask copies
        # its 700 digits three times per name; take a small window at the lowest set bit
        # and peel within it, then move past the window.
        out: list[str] = []
        start = 0
        while mask and len(out) < limit:
            lowest = (mask & -mask).bit_length() - 1
            window = (mask >> lowest) & _WINDOW_MASK
            start += lowest
            while window and len(out) < limit:
                low = window & -window
                out.append(names[start + low.bit_length() - 1])
                window ^= low
            mask >>= lowest + _WINDOW
            start += _WINDOW
        return out

    # -- growing ----------------------------------------------------------------------------
    def add_action(self, name: str, service: str, level: AccessLevel) -> int:
        """Give an action the next bit (the provider records the rest it keeps per action)."""
        bit = len(self.action_names)
        one = 1 << bit
        self.action_names.append(name)
        self.service_masks[service] = self.service_masks.get(service, 0) | one
        self.level_masks[level] = self.level_masks.get(level, 0) | one
        self.all_mask |= one
        return bit

    def forget_wildcards(self, *prefixes: str) -> None:
        """Drop the cached patterns an action just added may match: wildcards, and those
        starting with one of ``prefixes`` (a role's bitset holds its wildcards' matches)."""
        self.expand_cache = {
            k: v
            for k, v in self.expand_cache.items()
            if "*" not in k and "?" not in k and not k.startswith(prefixes)
        }


def letters_mask(letters: str, letter: str) -> int:
    """Bitset of the positions of ``letter`` in ``letters`` (position i is bit i)."""
    if not letters:
        return 0
    table = {ord(c): "1" if c == letter else "0" for c in set(letters)}
    return int(letters[::-1].translate(table), 2)


def mask_of(bits: Sequence[int]) -> int:
    """Build a bitset in one go (OR-ing bits one by one into a big int is quadratic)."""
    if not bits:
        return 0
    buf = bytearray((max(bits) >> 3) + 1)
    for b in bits:
        buf[b >> 3] |= 1 << (b & 7)
    return int.from_bytes(buf, "little")


@lru_cache(maxsize=4096)
def glob_regex(glob: str) -> re.Pattern[str]:
    """A glob (``*`` any characters, ``?`` one) as a compiled regex for ``fullmatch``."""
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    )
