"""Issuance: resolve a request, decide it (policy, then built-in guards), mint and store.

Every check and the insert run in the caller's write transaction, so an agent disabled by
another process cannot receive a credential after its disable committed, and the
``maxConcurrentCredentials`` cap cannot be overshot by racing issuers.

``issue`` decides, counts and signs before it takes the write lock, then holds the lock only for
a guarded insert (written only if the agent's state is still the one decided on and the cap
still has room, both checked by the insert itself), the audit event (written only with its
credential) and the commit: on PostgreSQL one round trip. If the guard finds the state moved,
nothing was written and the issue is decided again with the lock held from the start
(``issue_in_tx``), which is also the path of every rebind and of an issue with no status index
reserved yet.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, NamedTuple

from nhictl.core import auditlog
from nhictl.core.credentials.checks import (
    REF_RE,
    SCOPE_RE,
    SUBJECT_RE,
    TASK_RE,
    check_text,
)
from nhictl.core.credentials.records import (
    COLUMNS,
    INSERT_SQL,
    CredentialRecord,
    IssuedCredential,
    IssueDenied,
)
from nhictl.core.durations import parse_duration
from nhictl.core.errors import InputError
from nhictl.core.jose import from_epoch, to_epoch
from nhictl.core.policy.model import issue_context, sensitivity_rank
from nhictl.core.redact import reject_secret
from nhictl.core.registry import (
    ACTIVE,
    AGENT_COLUMNS,
    AgentRecord,
    agent_from_row,
    agent_names,
    check_agent_name,
    find_agent,
)
from nhictl.core.revocation import STATUS_ACTIVE, credential_time, mark_revoked
from nhictl.core.store.base import Deferred, Tx
from nhictl.core.tokens import mint_access_token

if TYPE_CHECKING:
    from nhictl.core.credentials.context import CredentialContext
    from nhictl.core.policy import Decision


@dataclass(frozen=True)
class IssueRequest:
    """A resolved issuance request (defaults applied)."""

    agent: str
    task: str
    intent: str
    scopes: list[str]
    ttl_seconds: int
    audience: str
    data_sensitivity: str
    environment: str
    tools: list[str]
    on_behalf_of: str | None
    consent: str | None
    dpop_jkt: str | None = None


@dataclass(frozen=True)
class Denial:
    reason: str
    reasons: list[str]
    policy_ids: list[str]
    hint: str | None = None


def intent_spec(manifest: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    for intent in manifest.get("spec", {}).get("intents", []):
        if isinstance(intent, Mapping) and intent.get("name") == name:
            return intent
    return None


def manifest_duration(value: Any, default: int) -> int:
    return _parse_duration(value) if isinstance(value, str) else default


@functools.lru_cache(maxsize=256)
def _parse_duration(text: str) -> int:
    # Pure, and the same few manifest values are parsed on every issue.
    return parse_duration(text)


def workload_subject(manifest: Mapping[str, Any]) -> str:
    """The agent's workload identity: its SPIFFE ID, or ``issuer#subject`` for OIDC."""
    wi = manifest["spec"]["workloadIdentity"]
    if wi.get("type") == "spiffe":
        return str(wi["spiffeId"])
    return f"{wi['issuer']}#{wi['subject']}"


def denied(agent: str, denial: Denial, verb: str = "issue") -> IssueDenied:
    ids = ", ".join(denial.policy_ids) or "none"
    return IssueDenied(
        denial.reason,
        f"{verb} denied for agent {agent!r}: {'; '.join(denial.reasons)} [policy: {ids}]",
        policy_ids=denial.policy_ids,
        reasons=denial.reasons,
        hint=denial.hint,
    )


@dataclass(frozen=True)
class AgentState:
    """What an issue decision depends on in the agent's row (the manifest is per revision)."""

    status: str
    review_expires: str
    revision: int


class Allowed(NamedTuple):
    record: AgentRecord
    manifest: Mapping[str, Any]
    request: IssueRequest
    decision: Decision


@dataclass(frozen=True)
class Verdict:
    """A decision and the agent state it was made on (``None``: no such agent)."""

    state: AgentState | None
    outcome: Allowed | Denial


#: The agent's state and its live credential count, in one statement under the write lock. The
#: count is answered from the (agent, status, expires_at) index alone: no row lookups. It counts
#: what verify still accepts, expiry plus the clock leeway: a token past its exp but inside the
#: leeway is usable, so it holds its place under the cap.
LIVE_COUNT_SQL = (
    "(SELECT COUNT(*) FROM credentials WHERE agent = ? AND status = ? AND expires_at > ?)"
)
LOCKED_STATE_SQL = (
    f"SELECT status, review_expires, current_revision, {LIVE_COUNT_SQL} FROM agents WHERE name = ?"
)


#: The optimistic insert: the credential row, written only if the agent's state is still the
#: one the decision was made on and its live count (as ``LOCKED_STATE_SQL`` counts) is under the
#: cap, both judged by this statement under the write lock.
GUARDED_INSERT_SQL = (
    f"INSERT INTO credentials ({COLUMNS}) SELECT {', '.join('?' * (COLUMNS.count(',') + 1))} "
    "WHERE EXISTS (SELECT 1 FROM agents WHERE name = ? AND status = ? AND review_expires = ? "
    f"AND current_revision = ?) AND {LIVE_COUNT_SQL} < ?"
)
#: The issue event's condition: its credential row is there (the guarded insert wrote it).
_STORED = "EXISTS (SELECT 1 FROM credentials WHERE jti = ?)"


@dataclass(frozen=True)
class Tentative:
    """An optimistic issue: the credential, if ``stored`` says the guarded insert wrote it
    (then ``record``, the agent row it was decided on, was current under the lock)."""

    issued: IssuedCredential
    stored: Deferred
    record: AgentRecord


def agent_and_live_count(
    tx: Tx, agent: str, active: str, cutoff: str
) -> tuple[AgentRecord | None, int]:
    """The agent's row and its live credentials (as ``LOCKED_STATE_SQL`` counts), in one read."""
    row = tx.one(
        f"SELECT {AGENT_COLUMNS}, {LIVE_COUNT_SQL} FROM agents WHERE name = ?",
        (agent, active, cutoff, agent),
    )
    if row is None:
        return None, 0
    return agent_from_row(row[:-1]), int(row[-1])


def locked_state(tx: Tx, agent: str, active: str, cutoff: str) -> tuple[AgentState | None, int]:
    """The agent's current ``AgentState`` (``None`` if unregistered) and live credentials."""
    row = tx.one(LOCKED_STATE_SQL, (agent, active, cutoff, agent))
    if row is None:
        return None, 0
    return AgentState(str(row[0]), str(row[1]), int(row[2])), int(row[3])


class CredentialIssuer:
    """``issue`` and the decision every issuance (and rebind) goes through."""

    def __init__(self, ctx: CredentialContext) -> None:
        self.ctx = ctx

    def issue(
        self,
        agent: str,
        *,
        task: str,
        intent: str,
        scopes: Sequence[str] | None = None,
        ttl_seconds: int | None = None,
        audience: str | None = None,
        data_sensitivity: str | None = None,
        environment: str | None = None,
        tools: Sequence[str] | None = None,
        on_behalf_of: str | None = None,
        consent: str | None = None,
        dpop_jkt: str | None = None,
    ) -> IssuedCredential:
        """Decide and mint a credential for one task. Raises ``IssueDenied`` on a deny.

        ``dpop_jkt`` (a verified DPoP proof's key thumbprint) binds the token to that key.
        Defaults: scopes = the intent's scopes, TTL = ``defaultTtl``, audience = the registry
        default, sensitivity = the intent's (else the manifest's) ceiling, environment = the
        manifest's only environment (required when it declares several), tools = the intent's.
        """
        check_agent_name(agent)
        check_text(task, TASK_RE, "task id")
        for value, what in (
            (intent, "intent"),
            (audience, "audience"),
            (data_sensitivity, "data sensitivity"),
            (environment, "environment"),
        ):
            if isinstance(value, str):
                reject_secret(value, what, expected=f"pass the {what} itself")
        if on_behalf_of is not None:
            check_text(on_behalf_of, SUBJECT_RE, "on-behalf-of subject")
        if consent is not None:
            check_text(consent, REF_RE, "consent reference")
        for scope in scopes or ():
            check_text(scope, SCOPE_RE, "scope")
        if ttl_seconds is not None and (type(ttl_seconds) is not int or ttl_seconds <= 0):
            raise InputError("the TTL must be a positive number of seconds")
        ask = {
            "task": task,
            "intent": intent,
            "scopes": None if scopes is None else list(scopes),
            "ttl_seconds": ttl_seconds,
            "audience": audience,
            "data_sensitivity": data_sensitivity,
            "environment": environment,
            "tools": None if tools is None else list(tools),
            "on_behalf_of": on_behalf_of,
            "consent": consent,
            "dpop_jkt": dpop_jkt,
        }
        now = self.ctx.clock()
        action = "credential.issue"
        cutoff = self.ctx.usable_cutoff(now)
        with self.ctx.store.write(late_lock=True) as tx:
            # The row a previous issue was stored against, if any: the guarded insert checks
            # it is still current, so no read is needed first (on PostgreSQL: one round trip).
            record, live = self.ctx.agent_hint(agent), None
            if record is None:
                record, live = agent_and_live_count(tx, agent, STATUS_ACTIVE, cutoff)
            verdict = self._decide_on(tx, record, agent, ask, now)
            tentative = self._issue_optimistically(tx, verdict, live, cutoff, now, action)
            result = (
                self._issue_locked(tx, agent, ask, now, verdict, action, None)
                if tentative is None
                else None
            )
        if tentative is not None:
            if tentative.stored.rowcount == 1:
                self.ctx.remember_agent(tentative.record)
                return tentative.issued
            # Another writer changed the agent or its credentials between the decision and the
            # lock (or since the hint), and nothing was written: decide again, under the lock.
            self.ctx.forget_agent(agent)
            now = self.ctx.clock()
            with self.ctx.store.write() as tx:
                result = self.issue_in_tx(tx, agent, ask, now, action=action)
        assert result is not None
        if isinstance(result, Denial):
            raise denied(agent, result)
        return result

    def issue_in_tx(
        self,
        tx: Tx,
        agent_name: str,
        ask: Mapping[str, Any],
        now: dt.datetime,
        *,
        action: str,
        replacing: CredentialRecord | None = None,
    ) -> IssuedCredential | Denial:
        """Decide, and on allow mint and store; on deny append the denial event only.

        The decision is made before the write lock (``tx`` may be a ``late_lock`` one), then
        re-checked under it: if the agent's state or revision changed in between, it is made
        again, so every outcome is the one the state under the lock gives. The cap count,
        the status index, the insert and the audit event run under the lock.
        """
        verdict = self._decide(tx, agent_name, ask, now)
        return self._issue_locked(tx, agent_name, ask, now, verdict, action, replacing)

    def _issue_locked(
        self,
        tx: Tx,
        agent_name: str,
        ask: Mapping[str, Any],
        now: dt.datetime,
        verdict: Verdict,
        action: str,
        replacing: CredentialRecord | None,
    ) -> IssuedCredential | Denial:
        """``issue_in_tx`` from the lock on, given the decision made before it."""
        tx.serialise()
        state, live = locked_state(tx, agent_name, STATUS_ACTIVE, self.ctx.usable_cutoff(now))
        if state != verdict.state:
            verdict = self._decide(tx, agent_name, ask, now)
        if isinstance(verdict.outcome, Denial):
            return self.deny(tx, action, agent_name, ask, verdict.outcome, now, replacing)
        record, manifest, request, decision = verdict.outcome
        failures = self._concurrency_guard(manifest, request, live, replacing)
        if failures:
            denial = Denial(
                "guard-denied", [why for _, why in failures], [gid for gid, _ in failures]
            )
            return self.deny(tx, action, agent_name, ask, denial, now, replacing)
        index = self.ctx.status_indexes.index_in(tx, now)
        issued, details = self._mint(record, manifest, request, decision, now, index, replacing)
        tx.defer(INSERT_SQL, issued.record.to_row())
        if replacing is not None:
            reason = f"rebound to task {request.task} as {issued.record.jti}"
            mark_revoked(tx, [replacing.jti], reason, now, self.ctx.actor)
            details.update(
                {"parent_jti": replacing.jti, "previous_task": replacing.task, "revoked": 1}
            )
        self._audit_issued(tx, action, request, details, now)
        return issued

    def _issue_optimistically(
        self,
        tx: Tx,
        verdict: Verdict,
        live: int | None,
        cutoff: str,
        now: dt.datetime,
        action: str,
    ) -> Tentative | None:
        """Sign before the lock and store with a guarded insert; ``None`` when what is known
        (the verdict's agent state, ``live`` credentials if they were counted) already says the
        locked path must decide: a deny, a full cap, no status index reserved."""
        state = verdict.state
        if not isinstance(verdict.outcome, Allowed) or state is None:
            return None
        record, manifest, request, decision = verdict.outcome
        limit = self._concurrency_limit(manifest)
        if live is not None and live >= limit:
            return None
        index = self.ctx.status_indexes.take()
        if index is None:
            return None
        issued, details = self._mint(record, manifest, request, decision, now, index, None)
        tx.serialise()
        guard = (
            request.agent,
            state.status,
            state.review_expires,
            state.revision,
            request.agent,
            STATUS_ACTIVE,
            cutoff,
            limit,
        )
        stored = tx.defer(GUARDED_INSERT_SQL, (*issued.record.to_row(), *guard))
        self._audit_issued(tx, action, request, details, now, if_stored=issued.record.jti)
        self.ctx.status_indexes.refill(tx)
        return Tentative(issued, stored, record)

    def _decide(self, tx: Tx, agent_name: str, ask: Mapping[str, Any], now: dt.datetime) -> Verdict:
        """The policy decision and the built-in guards: reads only, no lock needed."""
        return self._decide_on(tx, find_agent(tx, agent_name), agent_name, ask, now)

    def _decide_on(
        self,
        tx: Tx,
        record: AgentRecord | None,
        agent_name: str,
        ask: Mapping[str, Any],
        now: dt.datetime,
    ) -> Verdict:
        """``_decide`` on the agent's row as already read."""
        if record is None:
            from nhictl.core.suggest import did_you_mean

            suggestion = did_you_mean(agent_name, agent_names(tx))
            denial = Denial(
                "agent-not-registered",
                [f"no agent named {agent_name!r} is registered"],
                ["builtin.agent-registered"],
                hint=(f"{suggestion} " if suggestion else "")
                + "(`nhictl agents list` shows every registered agent)",
            )
            return Verdict(None, denial)
        state = AgentState(record.status, record.review_expires, record.revision)
        status = record.effective_status(now.date())
        if status != ACTIVE:
            denial = Denial(
                "agent-not-active",
                [f"agent {agent_name!r} is {status}: only active, approved agents get credentials"],
                ["builtin.agent-active"],
            )
            return Verdict(state, denial)
        manifest = self.ctx.manifest(tx, record)
        request = self._resolve(record, manifest, ask)
        entity = self.ctx.entity(record, manifest, status)

        decision = self.ctx.policies.decide(
            "issue",
            entity,
            issue_context(
                task=request.task,
                intent=request.intent,
                scopes=request.scopes,
                data_sensitivity=request.data_sensitivity,
                environment=request.environment,
                tools=request.tools,
                ttl_seconds=request.ttl_seconds,
                agent_revision=record.revision,
                on_behalf_of=request.on_behalf_of,
                now=now,
            ),
        )
        if not decision.allowed:
            denial = Denial("policy-denied", list(decision.reasons), list(decision.policy_ids))
            return Verdict(state, denial)
        failures = self._guards(manifest, request)
        if failures:
            denial = Denial(
                "guard-denied", [why for _, why in failures], [gid for gid, _ in failures]
            )
            return Verdict(state, denial)
        return Verdict(state, Allowed(record, manifest, request, decision))

    def _resolve(
        self, record: AgentRecord, manifest: Mapping[str, Any], ask: Mapping[str, Any]
    ) -> IssueRequest:
        """Apply the defaults to a request; ``InputError`` only for unusable input."""
        spec = manifest["spec"]
        intent_name = ask["intent"]
        if not isinstance(intent_name, str) or not intent_name:
            raise InputError("--intent is required")
        intent = intent_spec(manifest, intent_name) or {}
        creds = spec.get("credentials", {})
        max_ttl = manifest_duration(creds.get("maxTtl"), self.ctx.ttl_ceiling_seconds)
        ttl = ask["ttl_seconds"] or manifest_duration(creds.get("defaultTtl"), min(max_ttl, 900))
        envs = list(spec.get("environments", []))
        environment = ask["environment"]
        if environment is None:
            if len(envs) != 1:
                raise InputError(
                    f"agent {record.name!r} is registered for {', '.join(envs)}: say which "
                    "environment with --env"
                )
            environment = envs[0]
        sensitivity = (
            ask["data_sensitivity"] or intent.get("dataSensitivity") or spec["dataSensitivity"]
        )
        sensitivity_rank(sensitivity)  # InputError for an unknown level
        scopes = ask["scopes"] if ask["scopes"] is not None else list(intent.get("scopes", []))
        tools = ask["tools"] if ask["tools"] is not None else list(intent.get("tools", []))
        for tool in tools:
            check_text(tool, SUBJECT_RE, "tool")
        return IssueRequest(
            agent=record.name,
            task=ask["task"],
            intent=intent_name,
            scopes=list(dict.fromkeys(scopes)),
            ttl_seconds=int(ttl),
            audience=ask["audience"] or self.ctx.default_audience,
            data_sensitivity=sensitivity,
            environment=environment,
            tools=list(dict.fromkeys(tools)),
            on_behalf_of=ask["on_behalf_of"],
            consent=ask["consent"],
            dpop_jkt=ask.get("dpop_jkt"),
        )

    def _guards(self, manifest: Mapping[str, Any], req: IssueRequest) -> list[tuple[str, str]]:
        """Checks no policy can relax. Returns (builtin id, reason) for each failure."""
        spec = manifest["spec"]
        failures: list[tuple[str, str]] = []
        intent = intent_spec(manifest, req.intent)
        if intent is None:
            failures.append(
                ("builtin.intent-declared", f"intent {req.intent!r} is not in the manifest")
            )
            intent = {}
        declared_scopes = set(intent.get("scopes", []))
        if not req.scopes:
            failures.append(("builtin.scopes-required", "a credential needs at least one scope"))
        outside = [s for s in req.scopes if s not in declared_scopes]
        if outside:
            failures.append(
                (
                    "builtin.scopes-within-intent",
                    f"scope(s) {', '.join(outside)} are not declared for intent {req.intent!r}",
                )
            )
        creds = spec.get("credentials", {})
        max_ttl = manifest_duration(creds.get("maxTtl"), 0)
        if req.ttl_seconds > max_ttl:
            failures.append(
                (
                    "builtin.ttl-within-agent-max",
                    f"TTL {req.ttl_seconds}s exceeds the agent's maxTtl ({max_ttl}s)",
                )
            )
        if req.ttl_seconds > self.ctx.ttl_ceiling_seconds:
            failures.append(
                (
                    "builtin.ttl-within-ceiling",
                    f"TTL {req.ttl_seconds}s exceeds the registry ceiling "
                    f"({self.ctx.ttl_ceiling_seconds}s)",
                )
            )
        ceilings = [spec["dataSensitivity"]]
        if isinstance(intent.get("dataSensitivity"), str):
            ceilings.append(intent["dataSensitivity"])
        ceiling = min(ceilings, key=sensitivity_rank)
        if sensitivity_rank(req.data_sensitivity) > sensitivity_rank(ceiling):
            failures.append(
                (
                    "builtin.sensitivity-within-ceiling",
                    f"data sensitivity {req.data_sensitivity} is above the ceiling {ceiling}",
                )
            )
        if req.environment not in spec.get("environments", []):
            failures.append(
                (
                    "builtin.environment-declared",
                    f"environment {req.environment!r} is not declared for the agent",
                )
            )
        reach = set(spec.get("tools", []))
        if "tools" in intent:
            reach &= set(intent["tools"])
        beyond = [t for t in req.tools if t not in reach]
        if beyond:
            failures.append(
                (
                    "builtin.tools-declared",
                    f"tool(s) {', '.join(beyond)} are outside the declared tool reach",
                )
            )
        audiences = list(creds.get("audiences") or [self.ctx.default_audience])
        if req.audience not in audiences:
            failures.append(
                (
                    "builtin.audience-declared",
                    f"audience {req.audience[:80]!r} is not declared in spec.credentials.audiences",
                )
            )
        if req.on_behalf_of is not None:
            obo = spec.get("onBehalfOf")
            patterns = list(obo.get("subjects", [])) if isinstance(obo, Mapping) else []
            # One '@' at most, so "user:x@evil.test@example.com" cannot pass "user:*@example.com".
            if req.on_behalf_of.count("@") > 1 or not any(
                fnmatchcase(req.on_behalf_of, p) for p in patterns
            ):
                failures.append(
                    (
                        "builtin.on-behalf-of-declared",
                        f"the agent may not act on behalf of {req.on_behalf_of!r}",
                    )
                )
            needs_consent = not isinstance(obo, Mapping) or obo.get("requireConsent", True)
            if needs_consent and not req.consent:
                failures.append(
                    (
                        "builtin.consent-required",
                        "delegated credentials for this agent must cite a consent reference",
                    )
                )
        elif req.consent is not None:
            failures.append(("builtin.consent-without-delegation", "consent needs on-behalf-of"))
        return failures

    def _concurrency_guard(
        self,
        manifest: Mapping[str, Any],
        req: IssueRequest,
        live: int,
        replacing: CredentialRecord | None,
    ) -> list[tuple[str, str]]:
        """``maxConcurrentCredentials`` against ``live``, counted under the write lock."""
        limit = self._concurrency_limit(manifest)
        if replacing is not None and replacing.agent == req.agent:
            live -= 1  # rebind: the credential being replaced is live (checked) and counted
        if live >= limit:
            return [
                (
                    "builtin.max-concurrent-credentials",
                    f"agent {req.agent!r} already holds {live} live credential(s) "
                    f"(maxConcurrentCredentials {limit})",
                )
            ]
        return []

    def _concurrency_limit(self, manifest: Mapping[str, Any]) -> int:
        cap = manifest["spec"].get("credentials", {}).get("maxConcurrentCredentials")
        return int(cap) if isinstance(cap, int) else self.ctx.default_max_concurrent

    def _mint(
        self,
        record: AgentRecord,
        manifest: Mapping[str, Any],
        req: IssueRequest,
        decision: Decision,
        now: dt.datetime,
        index: int,
        replacing: CredentialRecord | None,
    ) -> tuple[IssuedCredential, dict[str, Any]]:
        """The signed token, its record and its audit details (nothing is written)."""
        subject = workload_subject(manifest)
        key = self.ctx.key_cache.signing_key()
        minted = mint_access_token(
            key,
            issuer=self.ctx.issuer,
            subject=subject,
            audience=req.audience,
            client_id=req.agent,
            scopes=req.scopes,
            ttl=dt.timedelta(seconds=req.ttl_seconds),
            task_id=req.task,
            intent=req.intent,
            data_sensitivity=req.data_sensitivity,
            environment=req.environment,
            tools=req.tools,
            on_behalf_of=req.on_behalf_of,
            status_index=index,
            status_uri=self.ctx.status_list_uri,
            now=now,
            cnf_jkt=req.dpop_jkt,
        )
        iat = int(to_epoch(now))
        expires_at = credential_time(from_epoch(iat + req.ttl_seconds))
        stored = CredentialRecord(
            jti=minted.jti,
            agent=req.agent,
            agent_revision=record.revision,
            subject=subject,
            task=req.task,
            intent=req.intent,
            scopes=list(req.scopes),
            audience=req.audience,
            data_sensitivity=req.data_sensitivity,
            environment=req.environment,
            tools=list(req.tools),
            on_behalf_of=req.on_behalf_of,
            consent=req.consent,
            ttl_seconds=req.ttl_seconds,
            issued_at=credential_time(from_epoch(iat)),
            expires_at=expires_at,
            status=STATUS_ACTIVE,
            status_list=self.ctx.status_list_uri,
            status_idx=index,
            kid=key.kid,
            token_sha256=minted.token_sha256,
            decision={
                "action": "issue",
                "allowed": True,
                "policy_ids": list(decision.policy_ids),
                "reasons": list(decision.reasons),
            },
            parent_jti=replacing.jti if replacing else None,
            issued_by=self.ctx.actor,
            revoked_at=None,
            revoked_by=None,
            revoked_reason=None,
            cnf_jkt=req.dpop_jkt,
        )
        details: dict[str, Any] = {
            "jti": minted.jti,
            "task": req.task,
            "intent": req.intent,
            "scopes": req.scopes,
            "audience": req.audience,
            "ttl_seconds": req.ttl_seconds,
            "expires_at": expires_at,
            "data_sensitivity": req.data_sensitivity,
            "environment": req.environment,
            "tools": req.tools,
            "on_behalf_of": req.on_behalf_of,
            "consent": req.consent,
            "dpop_jkt": req.dpop_jkt,
            "agent_revision": record.revision,
            "status_idx": index,
            "kid": key.kid,
            "policy_ids": list(decision.policy_ids),
        }
        return IssuedCredential(token=minted.token, record=stored), details

    def _audit_issued(
        self,
        tx: Tx,
        action: str,
        req: IssueRequest,
        details: dict[str, Any],
        now: dt.datetime,
        *,
        if_stored: str | None = None,
    ) -> None:
        """The issue event; with ``if_stored`` (a jti), only if that credential is stored."""
        auditlog.append(
            tx,
            action=action,
            subject=req.agent,
            outcome="issued",
            details=details,
            actor=self.ctx.actor,
            now=now,
            only_if=None if if_stored is None else (_STORED, (if_stored,)),
        )

    def deny(
        self,
        tx: Tx,
        action: str,
        agent: str,
        ask: Mapping[str, Any],
        denial: Denial,
        now: dt.datetime,
        replacing: CredentialRecord | None,
    ) -> Denial:
        details = {
            "reason": denial.reason,
            "reasons": denial.reasons,
            "policy_ids": denial.policy_ids,
            "request": {k: v for k, v in ask.items() if v is not None},
        }
        if replacing is not None:
            details["parent_jti"] = replacing.jti
        auditlog.append(
            tx,
            action=action,
            subject=agent,
            outcome="denied",
            details=details,
            actor=self.ctx.actor,
            now=now,
        )
        return denial
