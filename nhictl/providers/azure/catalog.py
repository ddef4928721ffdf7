"""The Azure operation catalog: every known operation as a bit index, and the built-in roles.

Loaded from ``data/roles.v1.json.gz`` (built by ``scripts/build_azure_catalog.py``; its metadata
says where the operations come from). Services are resource-provider namespaces
(``Microsoft.Compute``); names match case-insensitively, as ARM matches them.

Pattern syntax (what ``expand`` takes), exactly the strings of a role definition:

- ``Microsoft.Compute/virtualMachines/read``, ``Microsoft.Compute/*``, ``*/read``, ``*``: control
  plane operations (a role's ``actions``); ``*`` matches any characters, ``/`` included;
- the same prefixed with ``data:`` for data-plane operations (a role's ``dataActions``): an
  ``actions`` wildcard never reaches data actions, as in Azure (Owner cannot read blobs);
- ``role:<name or GUID>``: every operation a role definition grants,
  (actions - notActions) | (dataActions - notDataActions), built-in or registered custom.

A concrete operation the catalog does not know (a new one, or one of a custom role or of the
Activity Log) is appended with a level derived from its name, so it is counted, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from nhictl.creep.bitcatalog import BitCatalog, glob_regex
from nhictl.creep.catalog import AccessLevel
from nhictl.providers.azure.levels import access_level, scopable
from nhictl.providers.catalog_file import CODE_LEVELS, unpack

DATA = "data:"
ROLE = "role:"

# Azure's levels are derived from operation names, and some names tell none: only its file
# holds "U".
_LEVELS: dict[str, AccessLevel] = {**CODE_LEVELS, "U": "Unknown"}


@dataclass(frozen=True, slots=True)
class RolePermission:
    """One ``permissions[]`` block of a role definition."""

    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleDefinition:
    """A role definition (built-in or custom), keyed by its GUID."""

    id: str  # lowercase GUID
    name: str  # roleName
    permissions: tuple[RolePermission, ...]
    builtin: bool = True
    assignable_scopes: tuple[str, ...] = ()


class AzureCatalog(BitCatalog):
    """Implements ``nhictl.creep.catalog.ActionCatalog`` for Azure operations (the pattern
    syntax is in the module docstring)."""

    def __init__(
        self,
        services: dict[str, list[list[str]]],
        roles: Iterable[RoleDefinition] = (),
        source: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.source: dict[str, Any] = dict(source or {})
        self._levels: list[AccessLevel] = []
        self._index: dict[str, int] = {}  # lowercase name -> bit (control plane)
        self._data_index: dict[str, int] = {}  # lowercase name -> bit (data plane)
        self._service: dict[str, str] = {}  # lowercase namespace -> canonical spelling
        self._service_ops: dict[str, list[tuple[str, int, bool]]] = {}  # canonical -> ops
        self.level_masks = dict.fromkeys(_LEVELS.values(), 0)
        self.data_mask = 0
        self._roles: dict[str, RoleDefinition] = {}
        self._role_names: dict[str, str] = {}  # lowercase roleName -> id
        # Full operation lists learned (provider-operations.json files): wildcards then
        # expand over every operation Azure has, not only those the shipped list names.
        self.operation_lists: list[str] = []
        for svc, ops in services.items():
            for rest, code in ops:
                self._add(f"{svc}/{rest}", _LEVELS[code[0]], "d" in code, "s" in code)
        for role in roles:
            self.register_role(role)

    # -- protocol ---------------------------------------------------------------------------
    def service_mask(self, service: str) -> int:
        hit = self.service_masks.get(service)
        if hit is not None:
            return hit
        canonical = self._service.get(service.lower())
        return self.service_masks.get(canonical, 0) if canonical else 0

    def index(self, action: str) -> int | None:
        """Bit of a concrete control-plane operation: ``Microsoft.Compute/disks/write``, or
        ``Microsoft.Compute:disks/write`` as usage data keys it; ``data:...`` for the data
        plane."""
        low = action.lower()
        if low.startswith(DATA):
            return self._data_index.get(low[len(DATA) :])
        hit = self._index.get(low)
        if hit is None and ":" in low:
            svc, _, rest = low.partition(":")
            hit = self._index.get(f"{svc}/{rest}")
        return hit

    def level(self, action: str) -> AccessLevel:
        bit = self.index(action)
        if bit is None:
            bit = self._data_index.get(action.lower())
        return "Unknown" if bit is None else self._levels[bit]

    # -- Azure specifics --------------------------------------------------------------------
    def is_data(self, bit: int) -> bool:
        return bool(self.data_mask >> bit & 1)

    def canonical_service(self, namespace: str) -> str:
        """The catalog's spelling of a namespace (registered as given when it is new)."""
        return self._service.get(namespace.lower()) or namespace

    def ensure(self, name: str, data: bool = False) -> int:
        """Bit of a concrete operation, appended when the catalog does not know it."""
        low = name.strip().lower()
        hit = (self._data_index if data else self._index).get(low)
        if hit is not None:
            return hit
        name = name.strip()
        bit = self._add(name, access_level(name, data), data, scopable(name, data))
        # Cached wildcard patterns may match the new operation: match them again when asked.
        self.forget_wildcards(ROLE)
        self.services_cache.clear()
        return bit

    def learn(self, operations: Iterable[tuple[str, bool]], source: str) -> int:
        """Add every (name, isDataAction) of a full operation list; the number that were new.
        Caches are dropped once, not once per operation (a full list has ~20,000)."""
        new = 0
        for name, data in operations:
            name = name.strip()
            if name.lower() not in (self._data_index if data else self._index):
                self._add(name, access_level(name, data), data, scopable(name, data))
                new += 1
        self.operation_lists.append(source)
        if new:
            self.forget_wildcards(ROLE)
            self.services_cache.clear()
        return new

    @property
    def operations_complete(self) -> bool:
        """Whether wildcards expand over a full operation list (shipped, or learned)."""
        return bool(self.operation_lists) or bool(self.source.get("operations_complete"))

    def register_role(self, role: RoleDefinition) -> None:
        """Add a role definition (custom roles of the tenant join the built-in ones)."""
        self._roles[role.id.lower()] = role
        self._role_names.setdefault(role.name.lower(), role.id.lower())
        self.expand_cache = {k: v for k, v in self.expand_cache.items() if not k.startswith(ROLE)}
        # Concrete operations a custom role names are operations that exist: learn them now,
        # so wildcards expanded later reach them too.
        for perm in role.permissions:
            for data, patterns in (
                (False, perm.actions + perm.not_actions),
                (True, perm.data_actions + perm.not_data_actions),
            ):
                for pat in patterns:
                    if "*" not in pat and "?" not in pat and "/" in pat.strip().rstrip("/"):
                        self.ensure(pat, data)

    def role(self, ref: str) -> RoleDefinition | None:
        """A role by GUID, by full role definition id, or by name (case-insensitive)."""
        low = ref.strip().lower()
        guid = low.rsplit("/", 1)[-1]
        hit = self._roles.get(guid)
        if hit is not None:
            return hit
        rid = self._role_names.get(low)
        return self._roles.get(rid) if rid else None

    def roles(self) -> Iterable[RoleDefinition]:
        return self._roles.values()

    def role_mask(self, role: RoleDefinition) -> int:
        mask = 0
        for perm in role.permissions:
            mask |= self.permission_mask(perm)
        return mask

    def permission_mask(self, perm: RolePermission) -> int:
        grant = deny = 0
        for pat in perm.actions:
            grant |= self.expand(pat)
        for pat in perm.not_actions:
            deny |= self.expand(pat)
        data_grant = data_deny = 0
        for pat in perm.data_actions:
            data_grant |= self.expand(DATA + pat)
        for pat in perm.not_data_actions:
            data_deny |= self.expand(DATA + pat)
        return (grant & ~deny) | (data_grant & ~data_deny)

    # -- internals --------------------------------------------------------------------------
    def _add(self, name: str, level: AccessLevel, data: bool, can_scope: bool) -> int:
        ns = name.split("/", 1)[0]
        svc = self._service.setdefault(ns.lower(), ns)
        bit = self.add_action(name, svc, level)
        self._levels.append(level)
        (self._data_index if data else self._index)[name.lower()] = bit
        self._service_ops.setdefault(svc, []).append((name.lower(), bit, data))
        if data:
            self.data_mask |= 1 << bit
        if can_scope:
            self.scopable_bits |= 1 << bit
        return bit

    # -- pattern syntax (``BitCatalog`` caches what these return) ---------------------------
    def services_of_uncached(self, pattern: str) -> frozenset[str]:
        key = pattern.strip().lower()
        if key.startswith(ROLE):
            role = self.role(key[len(ROLE) :])
            if role is None:
                return frozenset()
            out: set[str] = set()
            for perm in role.permissions:
                for pat in perm.actions + perm.data_actions:
                    out |= self.services_of_uncached(pat)
            return frozenset(out)
        if key.startswith(DATA):
            key = key[len(DATA) :]
        ns = key.split("/", 1)[0]
        if "*" in ns or "?" in ns:
            rx = glob_regex(ns)
            return frozenset(s for low, s in self._service.items() if rx.fullmatch(low))
        svc = self._service.get(ns)
        return frozenset((svc,)) if svc else frozenset()

    def expand_uncached(self, key: str) -> int:
        if key.startswith(ROLE):
            role = self.role(key[len(ROLE) :])
            return self.role_mask(role) if role is not None else 0
        data = key.startswith(DATA)
        if data:
            key = key[len(DATA) :]
        plane = self.data_mask if data else self.all_mask & ~self.data_mask
        if "*" not in key and "?" not in key:
            if "/" not in key.rstrip("/"):
                return 0  # malformed: matches nothing, as in Azure
            return 1 << self.ensure(key, data)
        if key == "*":
            return plane
        rx = glob_regex(key)
        mask = 0
        for svc in self.services_of_uncached(key):
            for low, bit, op_data in self._service_ops[svc]:
                if op_data == data and rx.fullmatch(low):
                    mask |= 1 << bit
        return mask & plane


def roles_from_raw(raw: Sequence[Any]) -> list[RoleDefinition]:
    """Roles as the shipped file stores them: [guid, name, [[a, na, da, nda, cond], ...]]."""
    out = []
    for guid, name, blocks in raw:
        perms = tuple(
            RolePermission(tuple(a), tuple(na), tuple(da), tuple(nda))
            for a, na, da, nda, _ in blocks
        )
        out.append(RoleDefinition(str(guid).lower(), str(name), perms, True, ("/",)))
    return out


def load_catalog() -> AzureCatalog:
    """Load the shipped catalog (a fresh instance: custom roles and new operations join it)."""
    data = unpack("nhictl.providers.azure", "data/roles.v1.json.gz")
    return AzureCatalog(
        cast(dict[str, list[list[str]]], data["services"]),
        roles_from_raw(data["roles"]),
        cast(dict[str, Any], data.get("source", {})),
    )
