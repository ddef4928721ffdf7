"""Everything a command needs, built from settings on first use: store, keys, policies, registry.

The CLI and Python callers share this wiring, so both see the same folders and defaults.
Nothing heavy is imported until a property is used.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from nhictl.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from nhictl.core.credentials import CredentialService
    from nhictl.core.identity import TrustSources
    from nhictl.core.keys import KeyInfo, KeyStore
    from nhictl.core.policy import PolicyEngine
    from nhictl.core.registry import Registry
    from nhictl.core.store import Store


@dataclass
class InitReport:
    """What ``init`` created (``False`` = it was already there)."""

    store: str
    store_created: bool
    key: KeyInfo
    key_created: bool
    policy_dir: Path
    policies_copied: list[str] = field(default_factory=list)


class Runtime:
    """Lazily opened resources for one process."""

    def __init__(self, settings: Settings | None = None, *, store_threads: int = 1) -> None:
        self.settings = settings or load_settings()
        #: Threads that will share ``store``: above 1, a PostgreSQL store is a connection pool
        #: of that size (SQLite's connection stays with one thread whatever this says).
        self.store_threads = store_threads

    @property
    def data_dir(self) -> Path:
        return self.settings.paths.data_dir

    @property
    def policy_dir(self) -> Path:
        """The registry's own policy folder, seeded with the defaults by ``init``."""
        return self.data_dir / "policies"

    @property
    def policy_dirs(self) -> list[Path]:
        extra = [Path(p) for p in self.settings["policy_dir"]]
        return [self.policy_dir, *extra]

    @cached_property
    def store(self) -> Store:
        """The store, which must have been initialised (``nhictl init``)."""
        from nhictl.core.store import open_store

        store = open_store(self.settings["store"], self.data_dir, pool_size=self.store_threads)
        store.require_initialized()
        return store

    @cached_property
    def keys(self) -> KeyStore:
        from datetime import timedelta

        from nhictl.core.keys import KeyStore

        # A retired key must stay in the JWKS as long as a token it signed can still verify.
        window = self.settings.ttl_ceiling_seconds + int(self.settings["clock_leeway"])
        return KeyStore(self.settings.paths.keys_dir, max_token_lifetime=timedelta(seconds=window))

    @cached_property
    def policies(self) -> PolicyEngine:
        from nhictl.core.errors import NotInitializedError
        from nhictl.core.policy import PolicyEngine

        if not self.policy_dir.is_dir():
            raise NotInitializedError(f"no policy folder at {self.policy_dir}")
        return PolicyEngine.load(
            self.policy_dirs, ttl_ceiling_seconds=self.settings.ttl_ceiling_seconds
        )

    @cached_property
    def registry(self) -> Registry:
        from nhictl.core.registry import Registry

        return Registry(self.store, lambda: self.policies)

    @cached_property
    def credentials(self) -> CredentialService:
        """Just-in-time credentials: issue, verify, authorize, revoke, rebind, status list."""
        from nhictl.core.credentials import CredentialService

        return CredentialService.from_settings(
            self.store, self.keys, lambda: self.policies, self.settings
        )

    def trust(self, trust_bundle: Path | None = None) -> TrustSources:
        """Identity trust from ``--trust-bundle`` or the settings (bundle, domains, issuers)."""
        from nhictl.core.errors import InputError
        from nhictl.core.identity import OidcDiscovery, TrustSources

        bundle = trust_bundle or (
            Path(self.settings["trust_bundle"]) if self.settings["trust_bundle"] else None
        )
        domains = {td: Path(p) for td, p in self.settings["trust_domains"].items()}
        issuers = {iss: Path(p) for iss, p in self.settings["oidc_issuers"].items()}
        # Network fetches only for issuers the operator named, never for whatever a token says.
        discovery_issuers = self.settings["oidc_discovery"]
        discovery = OidcDiscovery(discovery_issuers) if discovery_issuers else None
        if bundle is None and not domains and not issuers and discovery is None:
            raise InputError(
                "no trust configured to verify the identity token",
                hint="pass --trust-bundle FILE, or set trust_bundle / trust_domains / "
                "oidc_issuers in the config (see `nhictl config show`)",
            )
        return TrustSources.from_files(
            trust_bundle=bundle, trust_domains=domains, issuers=issuers, discovery=discovery
        )

    def rotate_key(self, alg: str | None = None) -> KeyInfo:
        """Rotate the signing key and record it in the audit log (one write transaction).

        The key files change inside the store's write lock, so the event and the rotation are
        serialised with every other change; if the rotation fails no event is written.
        """
        from nhictl.core import auditlog
        from nhictl.core.errors import InputError

        if alg not in (None, "EdDSA", "ES256"):
            raise InputError(f"key algorithm must be EdDSA or ES256, not {alg!r}")
        with self.store.write() as tx:
            previous = self.keys.current_info()
            info = self.keys.rotate(alg)  # type: ignore[arg-type]
            auditlog.append(
                tx,
                action="key.rotate",
                subject=f"key:{info.kid}",
                outcome="current",
                details={"kid": info.kid, "alg": info.alg, "retired_kid": previous.kid},
            )
        return info

    def init(self, *, key_alg: str = "EdDSA") -> InitReport:
        """Create store, signing key and policy folder; safe to run again (idempotent)."""
        from nhictl.core import auditlog
        from nhictl.core.policy import default_policy_dir
        from nhictl.core.store import open_store

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = open_store(self.settings["store"], self.data_dir)
        applied = store.migrate()
        created = bool(applied)
        existed = self.keys.exists()
        key = self.keys.ensure(key_alg)  # type: ignore[arg-type]
        if applied or not existed:
            with store.write() as tx:
                auditlog.append(
                    tx,
                    action="registry.init",
                    subject="registry",
                    outcome="initialised",
                    details={
                        "schema_versions": applied,
                        "kid": key.kid,
                        "key_created": not existed,
                    },
                )
        store.close()
        copied: list[str] = []
        self.policy_dir.mkdir(mode=0o700, exist_ok=True)
        if not any(self.policy_dir.glob("*.cedar")):
            for source in sorted(default_policy_dir().glob("*.cedar")):
                shutil.copyfile(source, self.policy_dir / source.name)
                copied.append(source.name)
        return InitReport(store.location, created, key, not existed, self.policy_dir, copied)
