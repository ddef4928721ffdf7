"""``nhictl demo``: DEMO-ONLY helpers (a local SPIFFE identity provider). Never in production."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from nhictl.cli.output import emit, message

if TYPE_CHECKING:
    from nhictl.core.identity.demo_idp import DemoSpiffeIdp

app = typer.Typer(
    help="DEMO ONLY: a local SPIFFE JWT-SVID signer so the demo can register agents. "
    "Never use it in production: real agents get JWT-SVIDs from SPIRE.",
    no_args_is_help=True,
)


def _idp(trust_domain: str) -> DemoSpiffeIdp:
    from nhictl.core.identity.demo_idp import DemoSpiffeIdp
    from nhictl.core.runtime import Runtime

    return DemoSpiffeIdp(Runtime().data_dir / "demo-idp" / trust_domain, trust_domain)


@app.command("idp-bundle")
def bundle(
    trust_domain: str = typer.Option(..., "--trust-domain", help="e.g. prod.example.com"),
) -> None:
    """Create (once) the demo trust domain's key and print its bundle file's path."""
    idp = _idp(trust_domain)
    message(f"DEMO ONLY trust bundle for {trust_domain}:")
    emit(f"{idp.bundle_path}\n")


@app.command("svid")
def svid(
    spiffe_id: str = typer.Argument(..., help="SPIFFE ID to mint a JWT-SVID for."),
    audience: str = typer.Option("nhictl", "--audience", help="Token audience."),
    ttl: str = typer.Option("5m", "--ttl", help="Token lifetime."),
) -> None:
    """Print a DEMO-ONLY JWT-SVID for SPIFFE_ID (its trust domain's demo key signs it)."""
    import datetime as dt

    from nhictl.core.durations import parse_duration
    from nhictl.core.errors import InputError
    from nhictl.core.identity.spiffe import parse_spiffe_id

    try:
        parsed = parse_spiffe_id(spiffe_id)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    token = _idp(parsed.trust_domain).mint(
        spiffe_id, audience, ttl=dt.timedelta(seconds=parse_duration(ttl))
    )
    emit(token + "\n")
