"""A real ``nhictl serve`` process on loopback with TLS from a throwaway CA, over a registry
with the credential tests' sample agents, and a resource server's client key.

Every test that uses a service runs on both store backends (``backend``, tests/conftest.py):
SQLite in the service's NHICTL_HOME, and a fresh database of the session's PostgreSQL server.
``launch`` starts one with extra flags and settings (rate limits, client keys, ...)."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from nhictl.core.keys import jwk_thumbprint, public_jwk
from nhictl.core.runtime import Runtime
from nhictl.core.settings import load_settings
from tests.credentials.support import TRUST_DOMAIN, register_all
from tests.providers.tlsca import LoopbackCA, make_ca

if TYPE_CHECKING:
    from tests.pg_server import PgServer

RS_ID = "orders-api"


@dataclass(frozen=True)
class Service:
    url: str
    ca: LoopbackCA
    env: dict[str, str]
    idp: DemoSpiffeIdp
    rs_key: ec.EllipticCurvePrivateKey
    rs_kid: str
    #: Everything the server process wrote (stdout and stderr: start-up lines, access log).
    log: Path | None = None

    def runtime(self) -> Runtime:
        """The CLI's view of the same registry (same settings, same store)."""
        return Runtime(load_settings(env=self.env))

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=tls_context(self.ca.ca_pem), timeout=20)


def tls_context(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NHICTL_")}
    env.update({"NHICTL_HOME": str(home), **extra})
    return env


def start(
    args: list[str], env: dict[str, str], url: str, ca: Path | None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``nhictl serve`` with ``args``, up once /healthz answers. Its output goes to ``log``
    (a file nothing has to drain: a full pipe would stall the server's access log)."""
    argv = [str(Path(sys.executable).parent / "nhictl"), "serve", *args]
    if log is None:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    else:
        with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise AssertionError(log.read_text() if log is not None else err.decode())
            try:
                httpx.get(f"{url}/healthz", verify=tls_context(ca) if ca else False, timeout=1)
                return proc
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("nhictl serve did not come up")
    except BaseException:
        stop(proc)
        raise


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def launch(
    root: Path,
    request: pytest.FixtureRequest,
    backend: str,
    *,
    args: tuple[str, ...] = (),
    settings: dict[str, str] | None = None,
    port: int | None = None,
) -> Generator[Service, None, None]:
    """Build a registry in ``root`` on ``backend``, start ``nhictl serve`` over it with ``args``
    and the extra ``settings`` (NHICTL_* variables), yield it, and stop it. ``port`` (default: a
    free one) lets a caller put the service's URL in its settings, e.g. as the ``issuer``."""
    home = root / "home"
    ca = make_ca(root / "tls")
    ca.key_pem.chmod(0o600)
    idp = DemoSpiffeIdp(root / "idp", TRUST_DOMAIN)
    rs_key = ec.generate_private_key(ec.SECP256R1())
    rs_jwks, kid = write_jwks(root / "rs-jwks.json", rs_key)
    extra = {
        "NHICTL_TRUST_BUNDLE": str(idp.bundle_path),
        "NHICTL_INTROSPECTION_CLIENTS": f"{RS_ID}={rs_jwks}",
        **(settings or {}),
    }
    pg: PgServer | None = None
    db_url = ""
    if backend == "postgresql":
        pg = request.getfixturevalue("pg_server")
        db_url = pg.create_database()
        extra["NHICTL_STORE"] = db_url
    env = serve_env(home, extra)
    runtime = Runtime(load_settings(env=env))
    runtime.init()
    register_all(runtime, idp)
    runtime.store.close()
    port = port or free_port()
    url = f"https://127.0.0.1:{port}"
    argv = ["--port", str(port), "--tls-cert", str(ca.cert_pem), "--tls-key", str(ca.key_pem)]
    log = root / "serve.log"
    proc = start([*argv, *args], env, url, ca.ca_pem, log)
    try:
        yield Service(url, ca, env, idp, rs_key, kid, log)
    finally:
        stop(proc)
        if pg is not None:
            pg.drop_database(db_url)


def write_jwks(path: Path, key: ec.EllipticCurvePrivateKey) -> tuple[Path, str]:
    """A one-key public JWKS file (ES256) for ``key``; returns (path, kid)."""
    jwk = public_jwk(key)
    kid = jwk_thumbprint(jwk)
    path.write_text(json.dumps({"keys": [{**jwk, "kid": kid, "alg": "ES256"}]}))
    return path, kid


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    yield from launch(tmp_path_factory.mktemp("serve"), request, backend)
