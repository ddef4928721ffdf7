"""One call that reads every offline AWS input into a ``Snapshot``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nhictl.creep.model import Snapshot
from nhictl.providers.aws.resources import (
    RawListing,
    add_resources,
    listings_from_mapping,
    read_resources,
)
from nhictl.providers.aws.snapshot import load_snapshot_file, parse_bundle
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
    resources: Path | None = None,
) -> tuple[Snapshot, bool]:
    """Load the snapshot (CLI export or nhictl bundle) plus optional usage, keys and resource
    listings (``resources``: what ``--resources`` takes; its kinds replace the bundle's).

    Returns the snapshot and whether access-key data was present (bundle or file).
    """
    snap, bundle, profiles = load_snapshot_file(snapshot)
    keys_known = False
    listings: dict[str, RawListing] = {}
    if bundle is not None:
        keys_known = _bundle_extras(snap, bundle, str(snapshot))
        listings = _bundle_resources(snap, bundle, str(snapshot))
    if resources is not None:
        listings.update(read_resources(resources))
    add_resources(snap, listings, profiles)
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
    snap, profiles = parse_bundle(bundle, source)
    keys_known = _bundle_extras(snap, bundle, source)
    add_resources(snap, _bundle_resources(snap, bundle, source), profiles)
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


def _bundle_resources(snap: Snapshot, bundle: dict[str, Any], source: str) -> dict[str, RawListing]:
    """The bundle's listings; the collector's notes on kinds it left out become warnings, so
    the report says why those kinds are unknown."""
    notes = bundle.get("notes")
    if isinstance(notes, list):
        snap.warnings += [f"{source}: {n}" for n in notes if str(n).startswith("resources:")]
    raw = bundle.get("resources")
    return {} if raw is None else listings_from_mapping(raw, source, "$.resources")


def _key_activity(snap: Snapshot) -> None:
    """A user's last activity is its keys' last use (users have no RoleLastUsed)."""
    for cred in snap.credentials:
        p = snap.principals.get(cred.principal_id)
        if p is None or p.kind != "user" or cred.last_used is None:
            continue
        if p.last_used is None or cred.last_used > p.last_used:
            p.last_used = cred.last_used
