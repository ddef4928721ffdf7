"""Revocation and the task lifecycle: revoke, complete/fail a task, rebind to a new task.

Revocation is immediate for ``verify`` / ``authorize``; offline verifiers learn of it from
the next published status list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nhictl.core import auditlog
from nhictl.core.credentials.checks import (
    EXPECTED,
    SCOPE_RE,
    TASK_RE,
    check_reason,
    check_selector,
    check_text,
)
from nhictl.core.credentials.issue import CredentialIssuer, Denial, denied
from nhictl.core.credentials.records import (
    COLUMNS,
    CredentialRecord,
    IssuedCredential,
    RevokeResult,
)
from nhictl.core.errors import InputError
from nhictl.core.redact import reject_secret
from nhictl.core.registry import agent_names
from nhictl.core.revocation import (
    AUDIT_JTI_LIMIT,
    STATUS_ACTIVE,
    STATUS_EXPIRED,
    credential_time,
    mark_revoked,
)
from nhictl.core.store.base import Tx

if TYPE_CHECKING:
    pass
    from nhictl.core.credentials.context import CredentialContext


#: How many recent jtis / task ids a did-you-mean compares against (the store may hold many).
_SUGGEST_POOL = 5000


class CredentialRevoker:
    """``revoke``, ``complete_task``, ``fail_task`` and ``rebind``."""

    def __init__(self, ctx: CredentialContext, issuing: CredentialIssuer) -> None:
        self.ctx = ctx
        self.issuing = issuing

    def revoke(
        self,
        *,
        jti: str | None = None,
        agent: str | None = None,
        task: str | None = None,
        reason: str,
        action: str = "credential.revoke",
        allow_none: bool = False,
    ) -> RevokeResult:
        """Revoke the live credentials selected by exactly one of ``jti``/``agent``/``task``.

        A jti, agent or task the store has never seen is an ``InputError`` with the closest
        known values (a typo must not read as done), unless ``allow_none``. A known one with
        nothing live revokes nothing and reports 0 (idempotent). Immediate for ``verify`` and
        ``authorize``; offline verifiers learn of it from the next published status list.
        """
        chosen = [(n, v) for n, v in (("jti", jti), ("agent", agent), ("task", task)) if v]
        if len(chosen) != 1:
            raise InputError("name exactly one of --jti, --agent or --task")
        selector, value = chosen[0]
        check_selector(selector, value)
        text = check_reason(reason)
        now = self.ctx.clock()
        with self.ctx.store.write() as tx:
            known, state = self._lookup(tx, selector, value)
            if not known and not allow_none:
                raise self._unknown(
                    tx, selector, value, "nothing revoked", "--allow-none makes it a no-op"
                )
            rows = tx.query(
                f"SELECT jti, agent FROM credentials WHERE {selector} = ? AND status = ? "
                "ORDER BY issued_at, jti",
                (value, STATUS_ACTIVE),
            )
            jtis = [r[0] for r in rows]
            mark_revoked(tx, jtis, text, now, self.ctx.actor)
            by_agent: dict[str, list[str]] = {}
            for r in rows:
                by_agent.setdefault(r[1], []).append(r[0])
            for subject, agent_jtis in sorted(by_agent.items()) or [(f"{selector}:{value}", [])]:
                auditlog.append(
                    tx,
                    action=action,
                    subject=subject,
                    outcome="revoked",
                    details={
                        "selector": selector,
                        "value": value,
                        "reason": text,
                        "revoked": len(agent_jtis),
                        "jtis": agent_jtis[:AUDIT_JTI_LIMIT],
                    },
                    actor=self.ctx.actor,
                    now=now,
                )
        return RevokeResult(selector, value, len(jtis), jtis, known=known, state=state)

    def _lookup(self, tx: Tx, selector: str, value: str) -> tuple[bool, str | None]:
        """Is ``value`` a jti, agent or task the store knows? For a jti, also its state."""
        if selector == "agent":
            known = tx.one("SELECT 1 FROM agents WHERE name = ?", (value,)) is not None
            # An agent's name stays on its credentials even if the agent row were gone.
            known = (
                known
                or tx.one("SELECT 1 FROM credentials WHERE agent = ? LIMIT 1", (value,)) is not None
            )
            return known, None
        if selector == "task":
            row = tx.one("SELECT 1 FROM credentials WHERE task = ? LIMIT 1", (value,))
            return row is not None, None
        row = tx.one("SELECT status, expires_at FROM credentials WHERE jti = ?", (value,))
        if row is None:
            return False, None
        if row[0] != STATUS_ACTIVE:
            return True, str(row[0])
        return True, STATUS_EXPIRED if str(row[1]) <= credential_time(
            self.ctx.clock()
        ) else STATUS_ACTIVE

    def _unknown(
        self, tx: Tx, selector: str, value: str, outcome: str, hint: str | None = None
    ) -> InputError:
        """The error for a jti, agent or task the store has never seen, with a did-you-mean."""
        from nhictl.core.suggest import did_you_mean

        if selector == "agent":
            names = agent_names(tx)
            names += [r[0] for r in tx.query("SELECT DISTINCT agent FROM credentials")]
            pool = names
        else:
            column = "jti" if selector == "jti" else "task"
            # The most recent ones, plus any the value is a prefix of (a jti cut short).
            pool = [
                str(r[0])
                for r in tx.query(
                    f"SELECT {column} FROM credentials GROUP BY {column} "
                    f"ORDER BY MAX(issued_at) DESC LIMIT {_SUGGEST_POOL}"
                )
            ]
            if len(value) >= 4:
                pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                pool += [
                    str(r[0])
                    for r in tx.query(
                        f"SELECT DISTINCT {column} FROM credentials "
                        f"WHERE {column} LIKE ? ESCAPE '\\' LIMIT 10",
                        (pattern + "%",),
                    )
                ]
        suggestion = did_you_mean(value, pool)
        shown = value if len(value) <= 80 else value[:80] + "..."
        where = {
            "jti": f"no credential has jti {shown!r}",
            "agent": f"no agent named {shown!r} is registered",
            "task": f"no credential was ever issued for task {shown!r}",
        }[selector]
        return InputError(
            f"{where}; {outcome}" + (f"; {suggestion}" if suggestion else ""),
            hint=EXPECTED[selector].replace("pass ", "check ", 1) + (f"; {hint}" if hint else ""),
        )

    def complete_task(self, task: str, *, allow_none: bool = False) -> RevokeResult:
        """The task is done: its credentials die."""
        return self.revoke(
            task=task, reason="task completed", action="task.complete", allow_none=allow_none
        )

    def fail_task(self, task: str, reason: str, *, allow_none: bool = False) -> RevokeResult:
        """The task failed: its credentials die."""
        return self.revoke(
            task=task,
            reason=f"task failed: {check_reason(reason)}",
            action="task.fail",
            allow_none=allow_none,
        )

    def rebind(
        self,
        jti: str,
        *,
        task: str,
        intent: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> IssuedCredential:
        """Revoke a live credential and issue its successor for the changed task, atomically.

        The successor goes through the same policy decision and guards as ``issue``, keeping the
        old credential's audience, sensitivity, environment, tools, delegation and TTL. On a deny
        nothing changes (the old credential stays live) and the denial is audited. A revoked or
        expired credential cannot be rebound: that would undo its revocation.
        """
        check_selector("jti", jti)
        check_text(task, TASK_RE, "task id")
        if intent is not None:
            reject_secret(intent, "intent", expected="pass the intent itself")
        for scope in scopes or ():
            check_text(scope, SCOPE_RE, "scope")
        now = self.ctx.clock()
        with self.ctx.store.write() as tx:
            row = tx.one(f"SELECT {COLUMNS} FROM credentials WHERE jti = ?", (jti,))
            if row is None:
                raise self._unknown(tx, "jti", jti, "nothing rebound")
            old = CredentialRecord.from_row(row)
            new_intent = intent or old.intent
            ask: dict[str, Any] = {
                "task": task,
                "intent": new_intent,
                "scopes": list(scopes)
                if scopes
                else (old.scopes if new_intent == old.intent else None),
                "ttl_seconds": old.ttl_seconds,
                "audience": old.audience,
                "data_sensitivity": old.data_sensitivity,
                "environment": old.environment,
                "tools": old.tools if new_intent == old.intent else None,
                "on_behalf_of": old.on_behalf_of,
                "consent": old.consent,
                "dpop_jkt": old.cnf_jkt,  # a bound credential's successor stays bound
            }
            state = old.state(now)
            result: IssuedCredential | Denial
            if state != STATUS_ACTIVE:
                denial = Denial(
                    f"credential-{state}",
                    [f"credential {jti} is {state}; only a live credential can be rebound"],
                    ["builtin.rebind-live-only"],
                )
                result = self.issuing.deny(
                    tx, "credential.rebind", old.agent, ask, denial, now, old
                )
            else:
                result = self.issuing.issue_in_tx(
                    tx, old.agent, ask, now, action="credential.rebind", replacing=old
                )
        if isinstance(result, Denial):
            raise denied(old.agent, result, verb="rebind")
        return result
