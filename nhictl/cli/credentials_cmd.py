"""Just-in-time credential commands: issue, verify, authorize, revoke, rebind, task, credentials,
status-list. Parsing and rendering only; the work is in ``nhictl.core.credentials``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import typer

from nhictl.cli.common import (
    FORMAT_OPTION,
    DataFormat,
    output_option,
    print_table,
    read_secret,
    show,
)
from nhictl.cli.output import emit, message

if TYPE_CHECKING:
    from nhictl.core.credentials import CredentialService, IssuedCredential, VerifyResult
    from nhictl.core.dpop import DpopPresentation
    from nhictl.core.outfile import OutputTarget

task_app = typer.Typer(help="Task lifecycle: finishing or failing a task revokes its credentials.")
credentials_app = typer.Typer(help="Inspect just-in-time credentials (never the tokens).")
status_list_app = typer.Typer(help="The signed token status list offline verifiers fetch.")


def _service() -> CredentialService:
    from nhictl.core.runtime import Runtime

    return Runtime().credentials


def _read_token(token: str) -> str:
    """The token: ``-`` reads stdin (keeps it out of ``ps`` and shell history), a path that
    exists is read, anything else must have a token's shape. Bytes that are not ASCII reach
    the verifier, which refuses them as a malformed token (exit 1, audited)."""
    return read_secret(token, "token", keep_undecodable=True)


DPOP_PROOF_OPTION: Any = typer.Option(
    None,
    "--dpop-proof",
    metavar="FILE",
    help="For a DPoP-bound token (cnf.jkt): the DPoP proof that came with the request, a file "
    "or - (stdin). Needs --htm and --htu.",
)
HTM_OPTION: Any = typer.Option(
    None, "--htm", metavar="METHOD", help="With --dpop-proof: the request's HTTP method (GET...)."
)
HTU_OPTION: Any = typer.Option(
    None,
    "--htu",
    metavar="URL",
    help="With --dpop-proof: the URL the request was sent to (query and fragment ignored).",
)


def _dpop(
    token: str, proof: str | None, htm: str | None, htu: str | None
) -> DpopPresentation | None:
    """The ``--dpop-proof`` / ``--htm`` / ``--htu`` trio, or None when no proof is given."""
    from nhictl.core.dpop import DpopPresentation

    if proof is None:
        if htm is not None or htu is not None:
            raise click.UsageError("--htm and --htu go with --dpop-proof")
        return None
    if htm is None or htu is None:
        raise click.UsageError("--dpop-proof needs --htm METHOD and --htu URL")
    if proof == "-" and token == "-":
        raise click.UsageError("only one of TOKEN, --dpop-proof can be - (stdin)")
    return DpopPresentation(read_secret(proof, "DPoP proof"), htm, htu)


def _token_target(out: Path | None, force: bool) -> OutputTarget | None:
    """Check and open ``--output`` before anything is minted: a directory, a missing or
    unwritable folder, or an existing file without ``--force`` is refused here."""
    if out is None or str(out) == "-":
        return None
    from nhictl.core.outfile import prepare_output

    return prepare_output(out, mode=0o600, replace=force, sync=True)


def _deliver(
    service: CredentialService,
    issued: IssuedCredential,
    fmt: str,
    target: OutputTarget | None,
    replaced: str | None = None,
) -> None:
    """Token (or the JSON/YAML document) to stdout, or to the prepared 0600 ``--output`` file.

    If it cannot be delivered, nobody holds the token: the credential is revoked (audited)
    before the error is raised, and no temp file is left behind.
    """
    import sys

    from nhictl.render.formats import to_json, to_yaml

    if fmt == DataFormat.json:
        text = to_json(issued.to_json())
    elif fmt == DataFormat.yaml:
        text = to_yaml(issued.to_json())
    else:
        text = issued.token + "\n"
    rec = issued.record
    try:
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            target.write(text)
            target.commit()
    except BaseException as exc:
        if target is not None:
            target.discard()
        _undeliverable(service, issued, target, exc, replaced)
        raise
    where = ""
    if target is not None:
        where = f"; token written to {target.path}" + ("" if target.direct else " (mode 0600)")
    message(
        f"issued {rec.jti} to {rec.agent} for task {rec.task} "
        f"[{' '.join(rec.scopes)}], expires {rec.expires_at}{where}"
    )


def _undeliverable(
    service: CredentialService,
    issued: IssuedCredential,
    target: OutputTarget | None,
    exc: BaseException,
    replaced: str | None,
) -> None:
    """Revoke a credential whose token could not be written; raise the one-line error."""
    from nhictl.core.errors import InputError
    from nhictl.core.outfile import OutputError

    where = "stdout" if target is None else str(target.path)
    if isinstance(exc, OutputError):
        cause = exc.reason
    elif isinstance(exc, OSError):
        cause = exc.strerror or type(exc).__name__
    else:
        cause = "interrupted"
    jti = issued.jti
    # The reason is fixed text plus the OS's words: never the path, which the user typed.
    reason = f"token not delivered: the write failed ({cause})"
    try:
        service.revoke(jti=jti, reason=reason)
    except Exception as again:  # whatever went wrong, say plainly that it is still live
        raise InputError(
            f"cannot write {where}: {cause}; credential {jti} is still live and could not be "
            f"revoked ({again})",
            hint=f"revoke it: nhictl revoke --jti {jti} --reason 'token not delivered'",
        ) from None
    if not isinstance(exc, Exception):
        return  # Ctrl-C: it is revoked; let the interrupt through
    note = f"; {replaced} was already revoked by the rebind" if replaced else ""
    raise InputError(
        f"cannot write {where}: {cause}; credential {jti} was revoked, as no one holds its "
        f"token{note}"
    ) from None


OUTPUT_TOKEN_OPTION: Any = output_option(
    "Write the token to this file (created 0600) instead of stdout."
)
FORCE_OPTION: Any = typer.Option(
    False, "--force", help="Replace an existing --output file (the token in it is lost)."
)


def _ttl(ttl: str | None) -> int | None:
    from nhictl.core.durations import parse_duration

    return parse_duration(ttl) if ttl else None


# --------------------------------------------------------------------------- issue / rebind


def issue(
    agent: str = typer.Argument(..., help="Registered agent name.", show_default=False),
    task: str = typer.Option(..., "--task", help="Task id the credential is for."),
    intent: str = typer.Option(..., "--intent", help="Declared intent of the agent."),
    scope: list[str] = typer.Option(
        None, "--scope", help="Scope (repeatable). [default: the intent's scopes]"
    ),
    ttl: str = typer.Option(
        None, "--ttl", help="Lifetime, e.g. 10m. [default: the manifest's defaultTtl]"
    ),
    audience: str = typer.Option(
        None, "--audience", help="Token audience. [default: setting token_audience]"
    ),
    data_sensitivity: str = typer.Option(
        None,
        "--data-sensitivity",
        help="public|internal|confidential|restricted. [default: the intent's ceiling]",
    ),
    env: str = typer.Option(None, "--env", help="Environment (required if several declared)."),
    tool: list[str] = typer.Option(
        None, "--tool", help="Tool the task uses (repeatable). [default: the intent's tools]"
    ),
    on_behalf_of: str = typer.Option(
        None, "--on-behalf-of", help="Human the agent acts for (RFC 8693 act)."
    ),
    consent: str = typer.Option(
        None, "--consent", help="Consent reference for delegation (when the manifest asks)."
    ),
    out: Path = OUTPUT_TOKEN_OPTION,
    force: bool = FORCE_OPTION,
    fmt: str = FORMAT_OPTION,
) -> None:
    """Issue a just-in-time credential for one task, decided by policy at request time.

    The token goes to stdout, or to -o FILE (created 0600; an existing file is refused unless
    --force). The file is checked before anything is issued; if writing it still fails, the
    credential is revoked at once. The store keeps only the token's hash.
    Exit 0 issued, 1 denied (with the reasons and deciding policy ids), 2 bad input.

    \b
    Examples:
      nhictl issue invoice-reconciler --task INV-42 --intent reconcile-invoices \\
          --scope invoices:read --ttl 5m
      nhictl issue support-summarizer --task T-7 --intent summarize-ticket --env dev \\
          --on-behalf-of user:ann@example.com --consent CONSENT-991 --format json
    """
    target = _token_target(out, force)
    try:
        service = _service()
        issued = service.issue(
            agent,
            task=task,
            intent=intent,
            scopes=scope or None,
            ttl_seconds=_ttl(ttl),
            audience=audience,
            data_sensitivity=data_sensitivity,
            environment=env,
            tools=tool or None,
            on_behalf_of=on_behalf_of,
            consent=consent,
        )
    except BaseException:
        if target is not None:
            target.discard()
        raise
    _deliver(service, issued, fmt, target)


def rebind(
    jti: str = typer.Argument(..., help="The live credential to replace.", show_default=False),
    task: str = typer.Option(..., "--task", help="The new task id."),
    intent: str = typer.Option(None, "--intent", help="New intent. [default: unchanged]"),
    scope: list[str] = typer.Option(None, "--scope", help="New scopes (repeatable)."),
    out: Path = OUTPUT_TOKEN_OPTION,
    force: bool = FORCE_OPTION,
    fmt: str = FORMAT_OPTION,
) -> None:
    """Revoke a credential and issue its successor for a changed task, in one transaction.

    The successor goes through the same policy decision as `issue`. On a deny nothing changes.
    -o FILE is checked before anything changes, as for `issue`.
    """
    target = _token_target(out, force)
    try:
        service = _service()
        issued = service.rebind(jti, task=task, intent=intent, scopes=scope or None)
    except BaseException:
        if target is not None:
            target.discard()
        raise
    _deliver(service, issued, fmt, target, replaced=jti)
    message(f"revoked {jti} (rebound)")


# --------------------------------------------------------------------------- verify / authorize


def verify(
    token: str = typer.Argument(
        ..., help="A file holding the token, - to read it from stdin, or the token itself."
    ),
    audience: str = typer.Option(
        None, "--audience", help="Expected audience. [default: setting token_audience]"
    ),
    task: str = typer.Option(None, "--task", help="Also require the token to be for this task."),
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Verify as a resource server does, with only the published --jwks and "
        "--status-list files: no store is read (works where nhictl was never initialised).",
    ),
    jwks: str | None = typer.Option(
        None,
        "--jwks",
        metavar="FILE",
        help="With --offline: the JWKS file (`nhictl keys jwks`), or -.",
    ),
    status_list: str | None = typer.Option(
        None,
        "--status-list",
        metavar="FILE",
        help="With --offline: the status list file (`nhictl status-list publish`), or -.",
    ),
    issuer: str | None = typer.Option(
        None, "--issuer", help="With --offline: expected issuer. [default: setting issuer]"
    ),
    dpop_proof: str | None = DPOP_PROOF_OPTION,
    htm: str | None = HTM_OPTION,
    htu: str | None = HTU_OPTION,
    fmt: str = FORMAT_OPTION,
) -> None:
    """Verify a credential: signature, claims, revocation, agent state.

    Online (default) the store says whether it was revoked and its agent is active. With
    --offline, the published JWKS and status list are all there is: signature, claims and
    the credential's bit in the status list (revoked, or its agent no longer active).
    A DPoP-bound token is valid only with a matching --dpop-proof (and, online, a proof is
    accepted once).

    Exit 0 valid, 1 invalid (one reason), 2 unreadable input. Prefer `-` so the token is not
    in your shell history.

    \b
    Examples:
      nhictl verify - < inv-42.jwt
      nhictl verify --offline --jwks jwks.json --status-list status.jwt - < inv-42.jwt
      nhictl verify --dpop-proof proof.jwt --htm GET --htu https://api/orders - < t.jwt
    """
    dpop = _dpop(token, dpop_proof, htm, htu)
    if offline:
        result = _verify_offline(token, jwks, status_list, issuer, audience, task, dpop)
    else:
        given = [f for f, v in (("--jwks", jwks), ("--status-list", status_list),
                                ("--issuer", issuer)) if v is not None]  # fmt: skip
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise click.UsageError(f"{' and '.join(given)} {verb} --offline")
        result = _service().verify(_read_token(token), audience=audience, task=task, dpop=dpop)
    facts = result.to_json()

    def line() -> None:
        if result.valid:
            emit(
                f"valid: {facts['jti']} agent={facts['agent']} task={facts['task']} "
                f"scopes={' '.join(facts['scopes'] or [])} expires_at={facts['expires_at']}\n"
            )
        else:
            emit(f"invalid: {result.reason}\n")

    show(facts, fmt, line)
    if not result.valid:
        message(f"{result.reason}: {result.message}")
        raise typer.Exit(1)


def _verify_offline(
    token: str,
    jwks: str | None,
    status_list: str | None,
    issuer: str | None,
    audience: str | None,
    task: str | None,
    dpop: DpopPresentation | None,
) -> VerifyResult:
    """``verify --offline``: settings (flags, environment, config file) but never the store."""
    from nhictl.core.credentials import verify_token_offline
    from nhictl.core.settings import load_settings
    from nhictl.core.tokens import parse_jwks_document, parse_status_list_document

    if jwks is None or status_list is None:
        raise click.UsageError("--offline needs --jwks FILE and --status-list FILE")
    stdin_users = [n for n, v in (("TOKEN", token), ("--jwks", jwks),
                                  ("--status-list", status_list)) if v == "-"]  # fmt: skip
    if len(stdin_users) > 1:
        raise click.UsageError(f"only one of {', '.join(stdin_users)} can be - (stdin)")
    settings = load_settings()
    keys = parse_jwks_document(_read_document(jwks, "JWKS"), source=_source(jwks))
    status_jwt = parse_status_list_document(
        _read_document(status_list, "status list"), source=_source(status_list)
    )
    return verify_token_offline(
        _read_token(token),
        keys,
        status_jwt,
        issuer=issuer or settings["issuer"],
        audience=audience or settings["token_audience"],
        task=task,
        leeway=float(settings["clock_leeway"]),
        dpop=dpop,
    )


# A status list of a million credentials, a JWKS of many keys: far below this.
_MAX_DOCUMENT_BYTES = 1024 * 1024


def _source(path: str) -> str:
    return "stdin" if path == "-" else path


def _read_document(path: str, what: str) -> bytes:
    """A published document from a file or ``-``; an input error naming the file otherwise."""
    import sys

    from nhictl.core.errors import InputError

    try:
        if path == "-":
            data = sys.stdin.buffer.read(_MAX_DOCUMENT_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(_MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > _MAX_DOCUMENT_BYTES:
        raise InputError(f"{_source(path)}: the {what} is larger than {_MAX_DOCUMENT_BYTES} bytes")
    if not data.strip():
        raise InputError(f"{_source(path)}: the {what} file is empty")
    return data


def authorize(
    token: str = typer.Argument(
        ..., help="A file holding the token, - to read it from stdin, or the token itself."
    ),
    action: str = typer.Option(..., "--action", help="The action, e.g. invoices:read."),
    resource: str = typer.Option(None, "--resource", help="The resource acted on."),
    context: list[str] = typer.Option(
        None, "--context", help="Request attribute key=value (repeatable), for policies."
    ),
    audience: str = typer.Option(None, "--audience", help="Expected audience."),
    task: str = typer.Option(None, "--task", help="Require the token to be for this task."),
    dpop_proof: str | None = DPOP_PROOF_OPTION,
    htm: str | None = HTM_OPTION,
    htu: str | None = HTU_OPTION,
    fmt: str = FORMAT_OPTION,
) -> None:
    """Decide one sensitive action at request time: verify the token, check the action is in
    its scopes, then ask the authorize policies. Exit 0 allow, 1 deny (audited). A
    DPoP-bound token needs its --dpop-proof."""
    from nhictl.core.errors import InputError

    dpop = _dpop(token, dpop_proof, htm, htu)
    attributes: dict[str, str] = {}
    for item in context or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--context {item!r} is not key=value")
        attributes[key.strip()] = value
    result = _service().authorize(
        _read_token(token),
        action=action,
        resource=resource,
        attributes=attributes,
        audience=audience,
        task=task,
        dpop=dpop,
    )

    def line() -> None:
        if result.allowed:
            emit(f"allow: {action}" + (f" on {resource}" if resource else "") + "\n")
        else:
            ids = ", ".join(result.policy_ids) or "-"
            emit(f"deny: {action}: {'; '.join(result.reasons)} [policy: {ids}]\n")

    show(result.to_json(), fmt, line)
    if not result.allowed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- revoke / tasks


_WHAT = {"jti": "credential", "agent": "agent", "task": "task"}

ALLOW_NONE_HELP = (
    "Exit 0 even when nothing is revoked because the jti, agent or task is unknown "
    "(for idempotent scripts)."
)


def _revoked(result: Any, fmt: str) -> None:
    """The revoked jtis, one a line, under a summary line (-q keeps only the jtis)."""
    from nhictl.cli.output import STATE

    def lines() -> None:
        what = f"{_WHAT[result.selector]} {result.value}"
        if result.revoked:
            summary = f"revoked {result.revoked} credential(s) by {result.selector} {result.value}"
        elif not result.known:
            summary = f"{what} is not known; nothing revoked"
        elif result.selector == "jti" and result.state not in (None, "active"):
            summary = f"{what} is already {result.state}; nothing revoked"
        else:
            summary = f"{what} has no live credentials; nothing revoked"
        if STATE.verbosity >= 0:
            emit(summary + "\n")
        for jti in result.jtis:
            emit(f"  {jti}\n" if STATE.verbosity >= 0 else f"{jti}\n")

    show(result.to_json(), fmt, lines)


def revoke(
    jti: str = typer.Option(None, "--jti", help="Revoke this credential."),
    agent: str = typer.Option(None, "--agent", help="Revoke every live credential of the agent."),
    task: str = typer.Option(None, "--task", help="Revoke every live credential of the task."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
    allow_none: bool = typer.Option(False, "--allow-none", help=ALLOW_NONE_HELP),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Revoke credentials now (by --jti, --agent or --task) and list the jtis revoked.

    An unknown jti, agent or task is an error (exit 2, with the closest known ones); one with
    nothing live left says so and exits 0. -q prints only the revoked jtis.
    """
    result = _service().revoke(
        jti=jti, agent=agent, task=task, reason=reason, allow_none=allow_none
    )
    _revoked(result, fmt)


@task_app.command("complete")
def task_complete(
    task: str = typer.Argument(..., help="Task id.", show_default=False),
    allow_none: bool = typer.Option(False, "--allow-none", help=ALLOW_NONE_HELP),
    fmt: str = FORMAT_OPTION,
) -> None:
    """The task finished: revoke its credentials (an unknown task id is an error, exit 2)."""
    _revoked(_service().complete_task(task, allow_none=allow_none), fmt)


@task_app.command("fail")
def task_fail(
    task: str = typer.Argument(..., help="Task id.", show_default=False),
    reason: str = typer.Option(..., "--reason", help="What went wrong."),
    allow_none: bool = typer.Option(False, "--allow-none", help=ALLOW_NONE_HELP),
    fmt: str = FORMAT_OPTION,
) -> None:
    """The task failed: revoke its credentials (an unknown task id is an error, exit 2)."""
    _revoked(_service().fail_task(task, reason, allow_none=allow_none), fmt)


# --------------------------------------------------------------------------- list / status list


@credentials_app.command("list")
def credentials_list(
    agent: str = typer.Option(None, "--agent", help="Only this agent's credentials."),
    task: str = typer.Option(None, "--task", help="Only this task's credentials."),
    active: bool = typer.Option(False, "--active", help="Only live (unrevoked, unexpired) ones."),
    fmt: str = FORMAT_OPTION,
) -> None:
    """List credentials with their state: active, expired or revoked."""
    records = _service().list(agent=agent, task=task, active=active)
    data = [r.to_dict() for r in records]

    def table() -> None:
        from nhictl.render.table import short_time

        rows = [
            (
                d["jti"],
                d["agent"],
                d["task"],
                d["intent"],
                " ".join(d["scopes"]),
                d["status"],
                short_time(d["expires_at"]),
            )
            for d in data
        ]
        cols = ["JTI", "AGENT", "TASK", "INTENT", "SCOPES", "STATUS", "EXPIRES"]
        print_table(cols, [list(row) for row in rows], drop=["INTENT", "SCOPES", "EXPIRES"])

    show(data, fmt, table)


@status_list_app.command("publish")
def status_list_publish(
    out: Path | None = output_option(
        "Write the status list JWT to this file (replaced atomically) instead of stdout."
    ),
    lifetime: str = typer.Option(
        "15m", "--ttl", "--lifetime", help="How long the published list verifies (keep it short)."
    ),
) -> None:
    """Write the signed token status list (statuslist+jwt) for offline verifiers.

    Revoked credentials, and credentials of agents no longer active, read as invalid.
    """
    from datetime import timedelta

    from nhictl.cli.output import output_stream
    from nhictl.core.durations import parse_duration

    service = _service()
    token = service.status_list_token(lifetime=timedelta(seconds=parse_duration(lifetime)))
    with output_stream(out) as stream:
        emit(token + "\n", stream)
    if out is not None and str(out) != "-":
        message(f"status list {service.status_list_uri} written to {out}")


def register(app: typer.Typer) -> None:
    """Add the credential commands to the root app."""
    app.command("issue")(issue)
    app.command("verify")(verify)
    app.command("authorize")(authorize)
    app.command("revoke")(revoke)
    app.command("rebind")(rebind)
    app.add_typer(task_app, name="task")
    app.add_typer(credentials_app, name="credentials")
    app.add_typer(status_list_app, name="status-list")
