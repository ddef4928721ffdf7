"""``nhictl serve``: the agent-facing OAuth token service (docs/serve.md)."""

from __future__ import annotations

from pathlib import Path

import typer


def register_commands(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8443, "--port", help="TCP port to listen on."),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="PEM server certificate (chain) for HTTPS."
    ),
    tls_key: Path | None = typer.Option(
        None, "--tls-key", help="PEM private key of --tls-cert; must be mode 0600."
    ),
    workers: int = typer.Option(1, "--workers", help="Worker processes (each opens the store)."),
    insecure_http: bool = typer.Option(
        False, "--insecure-http", help="Plain HTTP without TLS: loopback addresses only, for tests."
    ),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="Base URL clients use (endpoint URLs, status list URI); default https://HOST:PORT.",
    ),
    rate_per_address: int = typer.Option(
        600,
        "--rate-per-address",
        min=1,
        help="Requests per minute from one client address, across all workers (429 past it).",
    ),
    rate_per_identity: int = typer.Option(
        120,
        "--rate-per-identity",
        min=1,
        help="Token requests per minute for one agent, across all workers (429 past it).",
    ),
    access_log: bool = typer.Option(
        True,
        "--access-log/--no-access-log",
        help="One line per request on stderr (address, method, path, status, time; never a "
        "token). Off when a proxy in front logs requests already.",
    ),
) -> None:
    """Run the OAuth token service: agents exchange their JWT-SVID for task-scoped tokens."""
    from nhictl.core.runtime import Runtime
    from nhictl.serve.options import ServeOptions
    from nhictl.serve.server import ServerConfig, check_startup, run

    config = ServerConfig(host, port, tls_cert, tls_key, workers, insecure_http)
    check_startup(config, Runtime())
    scheme = "http" if insecure_http else "https"
    shown = f"[{host}]" if ":" in host else host
    options = ServeOptions(
        public_url=(public_url or f"{scheme}://{shown}:{port}").rstrip("/"),
        rate_per_address=rate_per_address,
        rate_per_identity=rate_per_identity,
        access_log=access_log,
    )
    run(config, options)
