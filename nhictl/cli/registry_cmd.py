"""``nhictl init``, ``nhictl register`` and ``nhictl agents ...``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from nhictl.cli.common import FORMAT_OPTION, print_table, read_secret, show
from nhictl.cli.output import console, message

if TYPE_CHECKING:
    from nhictl.core.registry import RegistrationResult

agents_app = typer.Typer(
    help="List, inspect, approve, disable and enable registered agents.", no_args_is_help=True
)


def init(
    key_alg: str = typer.Option(
        None,
        "--key-alg",
        help="Signing key algorithm if a key is created: EdDSA or ES256. An existing key is "
        "kept (`nhictl keys rotate --alg` changes it). [default: EdDSA]",
        show_default=False,
    ),
) -> None:
    """Create the store, the signing key and the policy folder (safe to run again).

    Everything goes into NHICTL_HOME, or the XDG data folder when it is unset.
    """
    from nhictl.core.errors import InputError
    from nhictl.core.runtime import Runtime

    if key_alg not in (None, "EdDSA", "ES256"):
        raise InputError(f"--key-alg must be EdDSA or ES256, not {key_alg!r}")
    report = Runtime().init(key_alg=key_alg or "EdDSA")
    state = "created" if report.store_created else "already there"
    message(f"store:    {report.store} ({state})")
    state = "created" if report.key_created else "already there"
    message(f"key:      {report.key.kid} {report.key.alg} ({state})")
    if key_alg and not report.key_created and report.key.alg != key_alg:
        message(
            f"kept the existing {report.key.alg} signing key: --key-alg {key_alg} only applies "
            f"when init creates a key; to switch, run `nhictl keys rotate --alg {key_alg}`"
        )
    copied = f"copied {', '.join(report.policies_copied)}" if report.policies_copied else "kept"
    message(f"policies: {report.policy_dir} ({copied})")


def register(
    manifest: Path = typer.Argument(
        ..., help="The agent's registration manifest (YAML/JSON), or - for stdin."
    ),
    identity_token: str = typer.Option(
        ...,
        "--identity-token",
        help="File holding the agent's JWT-SVID or OIDC ID token, - for stdin, or the token.",
        show_default=False,
    ),
    trust_bundle: Path = typer.Option(
        None,
        "--trust-bundle",
        help="JWKS or SPIFFE bundle that verifies the token (else the configured trust); "
        "- reads stdin.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Verify and decide, but store nothing."),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Register an agent: validate the manifest, verify its workload identity, ask policy.

    The outcome is active or pending-approval (exit 0), unchanged when the manifest is
    identical to the current revision (exit 0), or denied (exit 1; only the denial is
    recorded, in the audit log). A changed manifest becomes a new revision.
    """
    from nhictl.core.inputfile import check_one_stdin
    from nhictl.core.runtime import Runtime

    check_one_stdin(
        {"MANIFEST": manifest, "--identity-token": identity_token, "--trust-bundle": trust_bundle}
    )
    runtime = Runtime()
    document = _load_valid_manifest(runtime, manifest)
    token = read_secret(identity_token, "identity token")
    result = runtime.registry.register(
        document, token=token, trust=runtime.trust(trust_bundle), dry_run=dry_run
    )
    show(result.to_dict(), fmt, lambda: _print_registration(result))
    raise typer.Exit(1 if result.denied else 0)


def _load_valid_manifest(runtime: Any, path: Path) -> dict[str, Any]:
    from nhictl.core.errors import InputError, VerdictError
    from nhictl.core.manifest import ManifestValidator, ValidateOptions

    validator = ManifestValidator(
        ValidateOptions(
            ttl_ceiling_seconds=runtime.settings.ttl_ceiling_seconds,
            max_bytes=runtime.settings.max_file_size,
            cache_dir=runtime.settings.paths.cache_dir,
        )
    )
    documents = validator.load(str(path))
    if len(documents) != 1:
        raise InputError(f"{path}: register takes one manifest per file, found {len(documents)}")
    result = validator.validate_document(documents[0])
    for issue in result.issues:
        message(
            f"{path}:{issue.line}:{issue.column}: {issue.severity}: {issue.json_path}: "
            f"{issue.message} [{issue.code}]"
        )
    if not result.is_valid():
        errors = len(result.errors)
        if result.name:
            runtime.registry.record_denial(
                result.name, [f"manifest failed validation ({errors} error(s))"]
            )
        raise VerdictError(f"{path}: manifest is invalid ({errors} error(s)); nothing registered")
    data: dict[str, Any] = documents[0].data
    return data


def _print_registration(result: RegistrationResult) -> None:
    out = console()
    prefix = "dry run: would be " if result.dry_run else ""
    if result.denied:
        out.print(f"[red]denied[/]: {result.agent} was not registered")
    elif result.outcome == "unchanged":
        out.print(f"unchanged: {result.agent} revision {result.revision} ({result.status})")
    else:
        was = f" (was {result.previous_revision})" if result.previous_revision else ""
        style = "green" if result.status == "active" else "yellow"
        out.print(
            f"{prefix}registered {result.agent} revision {result.revision}{was}: "
            f"[{style}]{result.status}[/]"
        )
    for change in result.changes:
        out.print(f"  {change}", markup=False)
    if result.identity:
        out.print(
            f"  identity: {result.identity['subject']} (iss {result.identity['issuer']})",
            markup=False,
        )
    if result.outcome != "active" or result.denied:
        for reason, pid in zip(
            result.reasons, result.policy_ids or [""] * len(result.reasons), strict=False
        ):
            suffix = f" [{pid}]" if pid else ""
            out.print(f"  reason: {reason}{suffix}", markup=False)


@agents_app.command("list")
def list_agents(fmt: str = FORMAT_OPTION) -> None:
    """List registered agents with their effective status."""
    from nhictl.core.runtime import Runtime

    records = [r.to_dict() for r in Runtime().registry.agents()]
    columns = ["name", "status", "revision", "owner", "sponsor", "review_expires"]
    rows = [[r[c] for c in columns] for r in records]
    show(records, fmt, lambda: print_table(columns, rows, drop=["revision", "sponsor", "owner"]))


@agents_app.command("show")
def show_agent(
    name: str = typer.Argument(..., help="Agent name."),
    revision: int = typer.Option(None, "--revision", help="A past revision (default: current)."),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Show an agent's state and one revision: manifest, verified identity, decision."""
    from nhictl.core.runtime import Runtime

    registry = Runtime().registry
    record = registry.get(name)
    found = registry.revision(name, revision)
    data = {"agent": record.to_dict(), "revision": found.to_dict()}

    def table() -> None:
        rows = [[k, v] for k, v in data["agent"].items()]
        rows += [
            ["shown revision", found.revision],
            ["revision outcome", found.outcome],
            ["registered by", f"{found.created_by} at {found.created_at}"],
            ["identity", f"{found.identity.get('subject')} (iss {found.identity.get('issuer')})"],
            ["decided by", ", ".join(found.decision.get("policy_ids", []))],
        ]
        print_table(["field", "value"], rows, title=f"agent {name}")

    show(data, fmt, table)


@agents_app.command("approve")
def approve(
    name: str = typer.Argument(..., help="Agent name."),
    by: str = typer.Option(..., "--by", help="E-mail of the approver (recorded)."),
) -> None:
    """Approve a registration that is pending approval (the sponsor cannot, by default)."""
    from nhictl.core.runtime import Runtime

    record = Runtime().registry.approve(name, by=by)
    message(f"approved {name} revision {record.revision} by {by}: {record.effective_status()}")


@agents_app.command("disable")
def disable(
    name: str = typer.Argument(..., help="Agent name."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
) -> None:
    """Disable an agent: blocks issuance and verification of its credentials."""
    from nhictl.core.runtime import Runtime

    Runtime().registry.disable(name, reason=reason)
    message(f"disabled {name}: {reason}")


@agents_app.command("enable")
def enable(name: str = typer.Argument(..., help="Agent name.")) -> None:
    """Re-enable a disabled agent (back to active, or pending approval if never approved)."""
    from nhictl.core.runtime import Runtime

    record = Runtime().registry.enable(name)
    message(f"enabled {name}: {record.effective_status()}")


def register_commands(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("register")(register)
    app.add_typer(agents_app, name="agents")
