"""The agent registry: registration as a policy-mediated issuance event.

``register`` binds a validated manifest to a *verified* workload identity and asks policy
before anything is stored. A denial (policy or identity) stores nothing but its audit event.
Every state change and its audit event commit in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from nhictl.core import auditlog
from nhictl.core.diff import diff
from nhictl.core.errors import InputError
from nhictl.core.registry.records import (
    ACTIVE,
    AGENT_COLUMNS,
    DENIED,
    DISABLED,
    EXPIRED,
    PENDING,
    REVISION_COLUMNS,
    UNCHANGED,
    AgentRecord,
    RegistrationResult,
    RegistryError,
    Revision,
    agent_from_row,
    find_agent,
    find_revision,
    identity_record,
    manifest_sha256,
    require_agent,
    revision_from_row,
    workload_subject,
)
from nhictl.core.revocation import revoke_agent_credentials
from nhictl.core.store.base import Store, Tx

if TYPE_CHECKING:
    from nhictl.core.identity import TrustSources
    from nhictl.core.policy import PolicyEngine


class Registry:
    """Agents and their revisions in a ``Store``; decisions by a ``PolicyEngine``."""

    def __init__(
        self,
        store: Store,
        policies: PolicyEngine | Callable[[], PolicyEngine],
        *,
        actor: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self._policies = policies
        self.actor = actor or auditlog.default_actor()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    @property
    def policies(self) -> PolicyEngine:
        if callable(self._policies):
            self._policies = self._policies()
        return self._policies

    # -- registration --------------------------------------------------------------------------

    def register(
        self,
        manifest: Mapping[str, Any],
        *,
        token: str,
        trust: TrustSources,
        dry_run: bool = False,
        leeway: float = 60.0,
    ) -> RegistrationResult:
        """Verify the identity token against the manifest, decide, then store a revision.

        ``manifest`` must already be valid (see ``nhictl.core.manifest``). Denials are returned
        (``outcome == "denied"``) after their audit event is committed; nothing else is stored.
        """
        from nhictl.core.identity import IdentityError, verify_identity

        name = _manifest_name(manifest)
        now = self._clock()
        try:
            identity = verify_identity(
                token, manifest["spec"]["workloadIdentity"], trust, now=now, leeway=leeway
            )
        except IdentityError as exc:
            reason = f"workload identity not verified: {exc.message}"
            result = RegistrationResult(name, DENIED, reasons=[reason], dry_run=dry_run)
            if not dry_run:
                self._record_denial(name, result, {"identity_error": exc.reason})
            return result
        record = identity_record(identity)
        digest = manifest_sha256(manifest)
        if dry_run:
            with self.store.read() as tx:
                return self._decide(tx, name, manifest, digest, record, now, dry_run=True)
        with self.store.write() as tx:
            result = self._decide(tx, name, manifest, digest, record, now, dry_run=False)
            if result.outcome not in (DENIED, UNCHANGED):
                self._store_revision(tx, manifest, digest, record, result, now)
        if result.denied:
            self._record_denial(name, result, {"identity": record})
        return result

    def _decide(
        self,
        tx: Tx,
        name: str,
        manifest: Mapping[str, Any],
        digest: str,
        identity: dict[str, Any],
        now: dt.datetime,
        *,
        dry_run: bool,
    ) -> RegistrationResult:
        current = find_agent(tx, name)
        previous = find_revision(tx, name, current.revision) if current else None
        if (
            previous is not None
            and current is not None
            and previous.manifest_sha256 == digest
            and current.effective_status(now.date()) != EXPIRED
        ):
            return RegistrationResult(
                name,
                UNCHANGED,
                status=current.effective_status(now.date()),
                revision=current.revision,
                previous_revision=current.revision,
                identity=identity,
                dry_run=dry_run,
            )
        status_for_policy = current.effective_status(now.date()) if current else "new"
        revision = (current.revision + 1) if current else 1
        decision = self.policies.decide_registration(
            manifest, status=status_for_policy, revision=revision, now=now
        )
        result = RegistrationResult(
            name,
            decision.outcome,
            revision=None if decision.outcome == DENIED else revision,
            previous_revision=current.revision if current else None,
            changes=diff(previous.manifest, dict(manifest)) if previous else [],
            reasons=list(decision.reasons),
            policy_ids=list(decision.policy_ids),
            identity=identity,
            dry_run=dry_run,
        )
        if decision.outcome != DENIED:
            # A disabled agent stays disabled: re-registering must not undo an operator's stop.
            keep_disabled = current is not None and current.status == DISABLED
            result.status = DISABLED if keep_disabled else decision.outcome
        return result

    def _store_revision(
        self,
        tx: Tx,
        manifest: Mapping[str, Any],
        digest: str,
        identity: dict[str, Any],
        result: RegistrationResult,
        now: dt.datetime,
    ) -> None:
        at = auditlog.utc_now_text(now)
        metadata = manifest["metadata"]
        expires = manifest["spec"]["review"]["expires"]
        approved = result.outcome == ACTIVE
        tx.execute(
            f"INSERT INTO agents ({AGENT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET status = excluded.status, "
            "current_revision = excluded.current_revision, owner = excluded.owner, "
            "sponsor = excluded.sponsor, review_expires = excluded.review_expires, "
            "approved_by = CASE WHEN ? THEN agents.approved_by ELSE NULL END, "
            "approved_at = CASE WHEN ? THEN agents.approved_at ELSE NULL END, "
            "updated_at = excluded.updated_at",
            (
                result.agent,
                result.status,
                result.revision,
                metadata["owner"],
                metadata["sponsor"],
                expires,
                at,
                at,
                approved,
                approved,
            ),
        )
        decision = {
            "outcome": result.outcome,
            "policy_ids": result.policy_ids,
            "reasons": result.reasons,
        }
        tx.execute(
            f"INSERT INTO agent_revisions ({REVISION_COLUMNS}, workload_subject) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                result.agent,
                result.revision,
                json.dumps(manifest, sort_keys=True, ensure_ascii=False),
                digest,
                json.dumps(identity, sort_keys=True),
                json.dumps(decision, sort_keys=True),
                result.outcome,
                self.actor,
                at,
                workload_subject(manifest["spec"]["workloadIdentity"]),
            ),
        )
        auditlog.append(
            tx,
            action="agent.register",
            subject=result.agent,
            outcome=result.outcome,
            details={
                "revision": result.revision,
                "previous_revision": result.previous_revision,
                "status": result.status,
                "manifest_sha256": digest,
                "changes": [str(c) for c in result.changes][:50],
                "policy_ids": result.policy_ids,
                "identity": identity,
            },
            actor=self.actor,
            now=now,
        )

    def _record_denial(
        self, name: str, result: RegistrationResult, details: dict[str, Any]
    ) -> None:
        self.record_denial(name, result.reasons, result.policy_ids, details)

    def record_denial(
        self,
        name: str,
        reasons: list[str],
        policy_ids: list[str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Audit a refused registration (the only thing a denial stores)."""
        with self.store.write() as tx:
            auditlog.append(
                tx,
                action="agent.register",
                subject=name,
                outcome=DENIED,
                details={**(details or {}), "reasons": reasons, "policy_ids": policy_ids or []},
                actor=self.actor,
                now=self._clock(),
            )

    # -- lifecycle -----------------------------------------------------------------------------

    def approve(self, name: str, *, by: str) -> AgentRecord:
        """Approve a pending registration; the approver is recorded (and checked by policy)."""
        from nhictl.core.policy import agent_from_manifest, time_context

        if "@" not in by:
            raise InputError(f"--by must be the approver's e-mail address, not {by!r}")
        now = self._clock()
        with self.store.write() as tx:
            agent = self._require(tx, name)
            status = agent.effective_status(now.date())
            if status != PENDING:
                raise RegistryError(f"agent {name!r} is {status}, not pending approval")
            revision = find_revision(tx, name, agent.revision)
            assert revision is not None
            entity = agent_from_manifest(revision.manifest, status=status, revision=agent.revision)
            decision = self.policies.decide(
                "approve",
                entity,
                {
                    "time": time_context(now),
                    "approver": by,
                    "approverIsSponsor": by.strip().lower() == agent.sponsor.strip().lower(),
                },
            )
            if not decision.allowed:
                details = {
                    "approver": by,
                    "reasons": decision.reasons,
                    "policy_ids": decision.policy_ids,
                }
                auditlog.append(
                    tx,
                    action="agent.approve",
                    subject=name,
                    outcome=DENIED,
                    details=details,
                    actor=self.actor,
                    now=now,
                )
            else:
                at = auditlog.utc_now_text(now)
                tx.execute(
                    "UPDATE agents SET status = ?, approved_by = ?, approved_at = ?, "
                    "updated_at = ? WHERE name = ?",
                    (ACTIVE, by, at, at, name),
                )
                auditlog.append(
                    tx,
                    action="agent.approve",
                    subject=name,
                    outcome=ACTIVE,
                    details={
                        "approver": by,
                        "revision": agent.revision,
                        "policy_ids": decision.policy_ids,
                    },
                    actor=self.actor,
                    now=now,
                )
        if not decision.allowed:
            raise RegistryError(
                f"approval of {name!r} by {by} denied: {'; '.join(decision.reasons)}"
            )
        return self.get(name)

    def disable(self, name: str, *, reason: str) -> AgentRecord:
        """Stop an agent: no issuance, no verification, until ``enable``."""
        if not reason.strip():
            raise InputError("--reason must say why the agent is disabled")
        now = self._clock()
        with self.store.write() as tx:
            agent = self._require(tx, name)
            at = auditlog.utc_now_text(now)
            tx.execute(
                "UPDATE agents SET status = ?, disabled_reason = ?, updated_at = ? WHERE name = ?",
                (DISABLED, reason, at, name),
            )
            details: dict[str, Any] = {"reason": reason, "previous_status": agent.status}
            # In this transaction: an agent is never disabled with live credentials left.
            details.update(revoke_agent_credentials(tx, name, reason, now))
            auditlog.append(
                tx,
                action="agent.disable",
                subject=name,
                outcome=DISABLED,
                details=details,
                actor=self.actor,
                now=now,
            )
        return self.get(name)

    def enable(self, name: str) -> AgentRecord:
        """Undo ``disable``: back to active, or to pending approval if never approved."""
        now = self._clock()
        with self.store.write() as tx:
            agent = self._require(tx, name)
            if agent.status != DISABLED:
                raise RegistryError(f"agent {name!r} is {agent.status}, not disabled")
            revision = find_revision(tx, name, agent.revision)
            assert revision is not None
            needs_approval = revision.outcome == PENDING and agent.approved_by is None
            status = PENDING if needs_approval else ACTIVE
            at = auditlog.utc_now_text(now)
            tx.execute(
                "UPDATE agents SET status = ?, disabled_reason = NULL, updated_at = ? "
                "WHERE name = ?",
                (status, at, name),
            )
            auditlog.append(
                tx,
                action="agent.enable",
                subject=name,
                outcome=status,
                details={"revision": agent.revision},
                actor=self.actor,
                now=now,
            )
        return self.get(name)

    # -- queries -------------------------------------------------------------------------------

    def get(self, name: str) -> AgentRecord:
        with self.store.read() as tx:
            return self._require(tx, name)

    def agents(self) -> list[AgentRecord]:
        with self.store.read() as tx:
            rows = tx.query(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY name")
        return [agent_from_row(row) for row in rows]

    def revision(self, name: str, revision: int | None = None) -> Revision:
        with self.store.read() as tx:
            agent = self._require(tx, name)
            number = agent.revision if revision is None else revision
            found = find_revision(tx, name, number)
        if found is None:
            raise RegistryError(
                f"agent {name!r} has no revision {number} (latest {agent.revision})"
            )
        return found

    def revisions(self, name: str) -> list[Revision]:
        with self.store.read() as tx:
            self._require(tx, name)
            rows = tx.query(
                f"SELECT {REVISION_COLUMNS} FROM agent_revisions WHERE name = ? ORDER BY revision",
                (name,),
            )
        return [revision_from_row(row) for row in rows]

    def _require(self, tx: Tx, name: str) -> AgentRecord:
        return require_agent(tx, name)


def _manifest_name(manifest: Mapping[str, Any]) -> str:
    metadata = manifest.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str):
        raise InputError("manifest has no metadata.name")
    return name
