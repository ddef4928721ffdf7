"""``nhictl token exchange``: ask a running ``nhictl serve`` for a task-scoped token (the client
side of docs/serve.md; the work is in ``nhictl.client``, which is where httpx is imported)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from nhictl.cli.common import FORMAT_OPTION, DataFormat, output_option, read_secret
from nhictl.cli.output import message

if TYPE_CHECKING:
    from nhictl.client import TokenClient, TokenResponse
    from nhictl.core.outfile import OutputTarget

app = typer.Typer(help="Get tokens from a running `nhictl serve` (the agents' token service).")


def _target(out: Path | None, force: bool) -> OutputTarget | None:
    """Checked and opened before the server is asked, so a bad path costs no token."""
    if out is None or str(out) == "-":
        return None
    from nhictl.core.outfile import prepare_output

    return prepare_output(out, mode=0o600, replace=force, sync=True)


def _render(reply: TokenResponse, fmt: str) -> str:
    from nhictl.render.formats import to_json, to_yaml

    if fmt == DataFormat.json:
        return to_json(reply.to_json())
    if fmt == DataFormat.yaml:
        return to_yaml(reply.to_json())
    return reply.access_token + "\n"


def _deliver(
    client: TokenClient, reply: TokenResponse, identity: str, text: str, target: OutputTarget | None
) -> None:
    """Write the token; if that fails nobody holds it, so it is revoked at once (with the
    identity token as the agent's SPIFFE client assertion) and the error says whether it was."""
    import sys

    try:
        if target is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            target.write(text)
            target.commit()
    except Exception as exc:
        if target is not None:
            target.discard()
        raise _undelivered(client, reply, identity, target, exc) from None
    finally:
        client.close()


def _undelivered(
    client: TokenClient,
    reply: TokenResponse,
    identity: str,
    target: OutputTarget | None,
    exc: Exception,
) -> Exception:
    from nhictl.client import SpiffeAssertion
    from nhictl.core.errors import InputError, NhictlError

    where = "stdout" if target is None else str(target.path)
    cause = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
    try:
        client.revoke(reply.access_token, auth=SpiffeAssertion(identity))
    except NhictlError as again:
        return InputError(
            f"cannot write {where}: {cause}; the token is still live for {reply.expires_in} s "
            f"and could not be revoked ({again})",
            hint="revoke it: nhictl credentials list, then nhictl revoke --jti JTI",
        )
    return InputError(f"cannot write {where}: {cause}; the token was revoked, as no one holds it")


def exchange(
    server: str = typer.Option(
        ..., "--server", help="Base URL of `nhictl serve`, e.g. https://nhictl.internal:8443."
    ),
    identity_token: str = typer.Option(
        ...,
        "--identity-token",
        help="The agent's JWT-SVID or OIDC token: a file, or - for stdin.",
    ),
    task: str = typer.Option(..., "--task", help="Task id the token is for."),
    intent: str = typer.Option(..., "--intent", help="Declared intent (from the manifest)."),
    scope: list[str] = typer.Option(
        None, "--scope", help="Scope (repeatable). [default: the intent's scopes]"
    ),
    resource: str = typer.Option(
        None, "--resource", help="Resource URI (RFC 8707 audience). [default: the server's]"
    ),
    ca_file: Path = typer.Option(
        None,
        "--ca-file",
        help="PEM CA certificate to trust for the server's TLS. [default: the system's CAs]",
    ),
    dpop_key: Path | None = typer.Option(
        None,
        "--dpop-key",
        help="The agent's private key (PEM, 0600, EC P-256 or Ed25519): send a DPoP proof "
        "(RFC 9449) so the token is bound to this key (cnf.jkt) and useless without it. A "
        "server that asks for a DPoP nonce gets a second proof with it.",
    ),
    out: Path = output_option("Write the token to this file (created 0600) instead of stdout."),
    force: bool = typer.Option(
        False, "--force", help="Replace an existing --output file (the token in it is lost)."
    ),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Exchange the agent's identity token for a task-scoped access token (RFC 8693).

    The server decides by the same policies as `nhictl issue`. The token goes to stdout
    (table: the bare token; json/yaml: the whole reply), or to -o FILE (created 0600; an
    existing file is refused unless --force). Exit 0 issued, 1 refused by the server (its
    error and description are shown), 2 bad input or the server cannot be reached.

    \b
    Examples:
      nhictl token exchange --server https://127.0.0.1:8443 --ca-file ca.pem \\
          --identity-token svid.jwt --task INV-42 --intent reconcile-invoices -o token.jwt
      nhictl demo svid spiffe://prod.example.com/ns/finance/sa/invoice-reconciler | \\
          nhictl token exchange --server https://127.0.0.1:8443 --identity-token - \\
          --task INV-42 --intent reconcile-invoices --scope invoices:read -f json
    """
    from nhictl.client import TokenClient

    identity = read_secret(identity_token, "identity token")
    prover = _prover(dpop_key) if dpop_key is not None else None  # bad key: before asking
    target = _target(out, force)
    try:
        client = TokenClient(server, ca_file=ca_file)
        try:
            reply = client.exchange(
                identity,
                task=task,
                intent=intent,
                scope=scope or (),
                resource=resource,
                dpop=prover,
            )
        except BaseException:
            client.close()
            raise
    except BaseException:
        if target is not None:
            target.discard()
        raise
    _deliver(client, reply, identity, _render(reply, fmt), target)
    where = f"; token written to {target.path} (mode 0600)" if target is not None else ""
    message(
        f"token for task {task} [{' '.join(reply.scope)}], expires in {reply.expires_in} s{where}"
    )


def _prover(path: Path) -> Callable[..., str]:
    """A fresh DPoP proof per request, signed by the key in ``path`` (read once, never echoed),
    with the server's nonce when it asks for one (RFC 9449 section 8)."""
    from nhictl.core.dpop import make_proof
    from nhictl.core.keys import load_private_key

    key = load_private_key(path)

    def prove(method: str, url: str, nonce: str | None = None) -> str:
        return make_proof(key, htm=method, htu=url, nonce=nonce)

    return prove


def register(root: typer.Typer) -> None:
    app.command("exchange")(exchange)
    root.add_typer(app, name="token")
