"""The GCP permission catalog: every permission of every predefined role, as bit indices.

Loaded from ``data/roles.v1.json.gz`` (built from iann0036/iam-dataset by
``scripts/build_gcp_catalog.py``; its ``source`` names the commit). Bit ``i`` is the ``i``-th
permission in sorted order, so each service (the first dotted segment) is one run of bits.
A role's bitset is built the first time the role is asked for and then shared by every binding
of it: Owner's 13,568 permissions are turned into a bitset once per run, however many service
accounts hold it. Custom roles are added at load (``add_custom_role``); permissions the catalog
does not know (newer than it) get their own bit, with the level the naming rule gives
(``nhictl.providers.gcp.levels``), so they are counted, never dropped.

Besides permissions, ``expand`` takes role names (``roles/storage.admin``,
``projects/P/roles/x``): declarations list roles, and a role expands to its permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from nhictl.core.errors import InputError
from nhictl.creep.bitcatalog import BitCatalog, glob_regex, letters_mask, mask_of
from nhictl.creep.catalog import AccessLevel
from nhictl.providers.catalog_file import CODE_LEVELS, LEVEL_CODES, unpack
from nhictl.providers.gcp.levels import level_of, service_of

DATA_FILE = "data/roles.v1.json.gz"
FORMAT = "nhictl-gcp-roles/v1"


class RoleInfo:
    """A role's metadata and its permissions (indices decoded on first use)."""

    __slots__ = ("_deltas", "bits", "custom", "mask", "name", "permissions", "stage", "title")

    def __init__(
        self, name: str, title: str, stage: str, deltas: str, custom: bool = False
    ) -> None:
        self.name = name
        self.title = title
        self.stage = stage
        self.custom = custom
        self._deltas = deltas
        self.bits: tuple[int, ...] | None = None
        self.mask: int | None = None
        self.permissions: tuple[str, ...] | None = None

    def decoded(self) -> tuple[int, ...]:
        if self.bits is None:
            at = -1
            out: list[int] = []
            if self._deltas:
                for d in self._deltas.split(","):
                    at += int(d)
                    out.append(at)
            self.bits = tuple(out)
        return self.bits


class GcpCatalog(BitCatalog):
    """Implements ``nhictl.creep.catalog.ActionCatalog`` over GCP IAM permissions: patterns are
    ``service.resource.verb`` names (matched exactly first, then case-insensitively), globs
    over them, and role names."""

    def __init__(
        self,
        permissions: list[str],
        codes: str,
        roles: Iterable[tuple[str, str, str, str]] = (),
        source: dict[str, Any] | None = None,
    ) -> None:
        if len(codes) != len(permissions):
            raise ValueError("one level code per permission")
        super().__init__()
        self.source = dict(source or {})
        self.action_names = list(permissions)
        self._codes: list[str] = list(codes)
        # Exact names first: GCP has permissions that differ only in case
        # (networkservices.httpFilters.get and networkservices.httpfilters.get).
        self._exact: dict[str, int] = {p: i for i, p in enumerate(self.action_names)}
        self._index: dict[str, int] = {}
        for i, p in enumerate(self.action_names):
            self._index.setdefault(p.lower(), i)
        # Sorted names: each service is a run of bits, one shifted block of ones per service.
        start, current = 0, None
        for i, p in enumerate(self.action_names):
            svc = service_of(p)
            if svc != current:
                if current is not None:
                    self._add_run(current, start, i)
                current, start = svc, i
        if current is not None:
            self._add_run(current, start, len(self.action_names))
        self.level_masks = {lv: letters_mask(codes, c) for lv, c in LEVEL_CODES.items()}
        self.level_masks["Unknown"] = 0
        self.all_mask = (1 << len(self.action_names)) - 1
        self._roles: dict[str, RoleInfo] = {r[0]: RoleInfo(*r) for r in roles}
        # Predefined roles redefined at run time (predefined-roles.json): name -> its file.
        self.refreshed: dict[str, str] = {}
        self._roles_lower: dict[str, str] | None = None

    def _add_run(self, svc: str, start: int, end: int) -> None:
        self.service_masks[svc] = (
            self.service_masks.get(svc, 0) | ((1 << (end - start)) - 1) << start
        )

    # -- roles ------------------------------------------------------------------------------
    def role(self, name: str) -> RoleInfo | None:
        """A predefined or custom role by its full name (``roles/x``, ``projects/P/roles/x``)."""
        hit = self._roles.get(name)
        if hit is None:
            if self._roles_lower is None:
                self._roles_lower = {n.lower(): n for n in self._roles}
            real = self._roles_lower.get(name.lower())
            hit = self._roles.get(real) if real else None
        return hit

    def roles(self) -> Iterable[str]:
        return self._roles.keys()

    def role_mask(self, name: str) -> int | None:
        """The bitset of a role's permissions (None for an unknown role), built once."""
        info = self.role(name)
        if info is None:
            return None
        if info.mask is None:
            info.mask = mask_of(info.decoded())
        return info.mask

    def role_permissions(self, name: str) -> tuple[str, ...] | None:
        """A role's permission names in bit order, one shared tuple per role."""
        info = self.role(name)
        if info is None:
            return None
        if info.permissions is None:
            names = self.action_names
            info.permissions = tuple(names[b] for b in info.decoded())
        return info.permissions

    def add_custom_role(
        self, name: str, permissions: Iterable[str], title: str = "", stage: str = ""
    ) -> RoleInfo:
        """Register a custom role; permissions unknown to the catalog get their own bit."""
        bits = sorted({self._bit(p) for p in permissions if p})
        deltas = ",".join(str(b - a) for a, b in zip([-1, *bits], bits, strict=False))
        info = RoleInfo(name, title, stage, deltas, custom=True)
        self._roles[name] = info
        self._roles_lower = None
        self.expand_cache = {k: v for k, v in self.expand_cache.items() if "roles/" not in k}
        return info

    def refresh_roles(
        self, roles: Iterable[tuple[str, str, str, Iterable[str]]], source: str
    ) -> tuple[int, int]:
        """Predefined roles as Google lists them now, (name, title, stage, permissions), in
        place of the shipped definitions of the same names; (changed, added) role counts."""
        exact, lower = self._exact, self._index
        changed = added = 0
        for name, title, stage, permissions in roles:
            bits = set()
            for p in permissions:
                if not p:
                    continue
                bit = exact.get(p)
                if bit is None:
                    bit = lower.get(p.lower())
                bits.add(bit if bit is not None else self._add_unknown(p))
            ordered = sorted(bits)
            deltas = ",".join(str(b - a) for a, b in zip([-1, *ordered], ordered, strict=False))
            old = self._roles.get(name)
            if old is None:
                added += 1
            elif old._deltas != deltas:
                changed += 1
            elif old.title == title and old.stage == stage:
                self.refreshed[name] = source
                continue  # as shipped: keep its decoded bits
            self._roles[name] = RoleInfo(name, title, stage, deltas)
            self.refreshed[name] = source
        self._roles_lower = None
        # Role expansions (and a role's services) cached before are stale now.
        self.expand_cache = {k: v for k, v in self.expand_cache.items() if "roles/" not in k}
        self.services_cache = {k: v for k, v in self.services_cache.items() if "roles/" not in k}
        return changed, added

    # -- protocol ---------------------------------------------------------------------------
    def scopable_mask(self) -> int:
        # A GCP role is bound to a resource (project, folder, organization, service account):
        # no statement has a per-permission resource list to narrow, so nothing is "scopable"
        # in the engine's sense (priv.wildcard's Resource-"*" test does not apply).
        return 0

    def index(self, action: str) -> int | None:
        # Usage rows are keyed "service:permission" (the common model's form): drop the prefix.
        if ":" in action:
            action = action.partition(":")[2]
        hit = self._exact.get(action)
        return hit if hit is not None else self._index.get(action.lower())

    def level(self, action: str) -> AccessLevel:
        bit = self.index(action)
        return "Unknown" if bit is None else CODE_LEVELS[self._codes[bit]]

    def expand(self, pattern: str) -> int:
        """Bitset of a permission, a glob over permissions, or a role name. Cached as given,
        not lowercased: GCP has permissions that differ only in case."""
        hit = self.expand_cache.get(pattern)
        if hit is None:
            hit = self.expand_uncached(pattern)
            self.expand_cache[pattern] = hit
        return hit

    def services_of_uncached(self, pattern: str) -> frozenset[str]:
        pattern = pattern.strip()
        if _is_role(pattern):
            mask = self.role_mask(pattern) or 0
            return frozenset(s for s, m in self.service_masks.items() if m & mask)
        svc = service_of(pattern)
        if any(c in svc for c in "*?"):
            rx = glob_regex(svc)
            return frozenset(s for s in self.service_masks if rx.fullmatch(s))
        return frozenset((svc,))

    def expand_uncached(self, key: str) -> int:
        pattern = key.strip()
        if pattern == "*":
            return self.all_mask
        if _is_role(pattern):
            return self.role_mask(pattern) or 0
        if any(c in pattern for c in "*?"):
            rx = glob_regex(pattern.lower())
            return mask_of([b for name, b in self._exact.items() if rx.fullmatch(name.lower())])
        if not pattern:
            return 0
        return 1 << self._bit(pattern)

    # -- internals --------------------------------------------------------------------------
    def _bit(self, permission: str) -> int:
        bit = self._exact.get(permission)
        if bit is None:
            bit = self._index.get(permission.lower())
        if bit is None:
            bit = self._add_unknown(permission)
        return bit

    def _add_unknown(self, permission: str) -> int:
        """Give a permission the catalog does not know its own bit so it is still counted."""
        level = level_of(permission)
        bit = self.add_action(permission, service_of(permission), level)
        self._codes.append(LEVEL_CODES[level])
        self._exact[permission] = bit
        self._index.setdefault(permission.lower(), bit)
        self.forget_wildcards()  # glob patterns cached before may match the new permission
        return bit


def _is_role(pattern: str) -> bool:
    return pattern.startswith("roles/") or "/roles/" in pattern


@lru_cache(maxsize=1)
def _shipped() -> dict[str, Any]:
    """The shipped file, parsed once per process (each catalog copies what it changes)."""
    data: dict[str, Any] = unpack("nhictl.providers.gcp", DATA_FILE)
    if data.get("format") != FORMAT:
        raise InputError(f"{DATA_FILE}: not a {FORMAT} catalog")
    return data


def catalog_metadata() -> dict[str, Any]:
    """Source and counts of the shipped catalog (for reports and docs)."""
    data = _shipped()
    return {"source": data["source"], "counts": data["counts"]}


def load_catalog() -> GcpCatalog:
    """A fresh catalog from the shipped file (custom roles and unknown permissions are added
    per run)."""
    data = _shipped()
    return GcpCatalog(
        data["permissions"],
        data["codes"],
        (tuple(r) for r in data["roles"]),
        data["source"],
    )
