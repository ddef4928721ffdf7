"""One call that reads every offline AWS input into a ``Snapshot``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nhictl.creep.model import Snapshot
from nhictl.providers.aws.snapshot import bundle_snapshot, load_snapshot_file
from nhictl.providers.aws.usage import (
    credentials_from_doc,
    load_access_keys,
    load_last_accessed,
    usage_from_mapping,
)


def load_aws(
    snapshot: Path,
    last_accessed: Path | None = None,
    access_keys: Path | None = None,
) -> tuple[Snapshot, bool]:
    """Load the snapshot (CLI export or nhictl bundle) plus optional usage and keys.

    Returns the snapshot and whether access-key data was present (bundle or file).
    """
    snap, bundle = load_snapshot_file(snapshot)
    keys_known = False
    if bundle is not None:
        keys_known = _bundle_extras(snap, bundle, str(snapshot))
    if last_accessed is not None:
        snap.usage.update(load_last_accessed(last_accessed))
    if access_keys is not None:
        users = {p.name: p.id for p in snap.principals.values() if p.kind == "user"}
        snap.credentials.extend(load_access_keys(access_keys, users))
        keys_known = True
    _key_activity(snap)
    return snap, keys_known


def snapshot_from_bundle(bundle: dict[str, Any], source: str) -> tuple[Snapshot, bool]:
    """A bundle already in memory (``audit-creep --live``) -> snapshot, keys known."""
    snap = bundle_snapshot(bundle, source)
    keys_known = _bundle_extras(snap, bundle, source)
    _key_activity(snap)
    return snap, keys_known


def _bundle_extras(snap: Snapshot, bundle: dict[str, Any], source: str) -> bool:
    if bundle.get("lastAccessed") is not None:
        snap.usage.update(usage_from_mapping(bundle["lastAccessed"], source, "$.lastAccessed"))
    if bundle.get("accessKeys") is None:
        return False
    users = {p.name: p.id for p in snap.principals.values() if p.kind == "user"}
    snap.credentials.extend(credentials_from_doc(bundle["accessKeys"], source, users))
    return True


def _key_activity(snap: Snapshot) -> None:
    """A user's last activity is its keys' last use (users have no RoleLastUsed)."""
    for cred in snap.credentials:
        p = snap.principals.get(cred.principal_id)
        if p is None or p.kind != "user" or cred.last_used is None:
            continue
        if p.last_used is None or cred.last_used > p.last_used:
            p.last_used = cred.last_used
