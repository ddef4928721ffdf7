"""``nhictl keys``: the registry's signing keys."""

from __future__ import annotations

from pathlib import Path

import typer

from nhictl.cli.common import (
    FORMAT_OPTION,
    DataFormat,
    format_option,
    output_option,
    print_table,
    show,
)
from nhictl.cli.output import emit, message, output_stream

app = typer.Typer(
    help="List, rotate and publish the registry's signing keys.", no_args_is_help=True
)


@app.command("list")
def list_keys(fmt: str = FORMAT_OPTION) -> None:
    """List keys: current, retired (still published until its tokens expire) or expired."""
    import datetime as dt

    from nhictl.core.runtime import Runtime
    from nhictl.render.table import short_time

    keys = Runtime().keys
    now = dt.datetime.now(dt.UTC)
    infos = keys.list()
    data = [
        {**info.to_json(), "status": info.status(now, keys.max_token_lifetime)} for info in infos
    ]
    rows = [
        [d["kid"], d["alg"], d["status"], short_time(d["created_at"]), short_time(d["retired_at"])]
        for d in data
    ]
    columns = ["kid", "alg", "status", "created", "retired"]
    show(data, fmt, lambda: print_table(columns, rows, drop=["alg", "retired", "created"]))


@app.command("rotate")
def rotate(
    alg: str = typer.Option(None, "--alg", help="Algorithm of the new key (default: same)."),
) -> None:
    """Create a new signing key; the old one stays in the JWKS until its tokens expire."""
    from nhictl.core.runtime import Runtime

    info = Runtime().rotate_key(alg)
    message(f"new signing key {info.kid} ({info.alg})")


@app.command("jwks")
def jwks(
    fmt: str = format_option(default="json", help="json (the JWKS document), yaml or table."),
    output: Path | None = output_option(
        "Write to this file (replaced atomically) instead of stdout."
    ),
) -> None:
    """Print the public JWKS that verifiers use (public keys only)."""
    from nhictl.core.runtime import Runtime
    from nhictl.render.formats import to_json, to_yaml
    from nhictl.render.table import build_table

    document = Runtime().keys.public_jwks()
    rows = [[k.get("kid"), k.get("kty"), k.get("crv"), k.get("alg")] for k in document["keys"]]
    if output is None or str(output) == "-":
        show(document, fmt, lambda: print_table(["kid", "kty", "crv", "alg"], rows, drop=["crv"]))
        return
    with output_stream(output) as out:
        if fmt == DataFormat.table:
            emit(build_table(["kid", "kty", "crv", "alg"], rows), out)
        else:
            emit(to_yaml(document) if fmt == DataFormat.yaml else to_json(document), out)
    message(f"JWKS written to {output}")
