"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl from the Debian packages.

``NHICTL_TEST_PG_URL`` (a superuser URL, or a role allowed to CREATE DATABASE) points the tests
at an existing server instead. Otherwise a cluster is created in a temporary folder, listening on
127.0.0.1 on a free port, owned by and run as an unprivileged user when the tests run as root
(initdb refuses root). It is built for speed, not durability (fsync off): it only lives as long
as the test session. Missing binaries are a failure with the command that installs them, never
a skip: the PostgreSQL half of the suite must run.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

INSTALL_HINT = (
    "the PostgreSQL tests need the server binaries (initdb, pg_ctl): install them with "
    "`apt-get install -y postgresql` (`make test` does this when run as root or with sudo), "
    "or set NHICTL_TEST_PG_URL to a server where this user may CREATE DATABASE"
)
ADMIN = "nhictl_admin"
#: A role that must log in with a password (the bad-credentials test), and its password.
PASSWORD_ROLE = "nhictl_pw"
PASSWORD = "correct horse battery staple"
#: A role the TLS cluster lets in over TLS only (hostssl), refused without it.
TLS_ROLE = "nhictl_tls"
_FAST = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "log_min_messages": "fatal",
}


class PgUnavailable(RuntimeError):
    """No server binaries (and no NHICTL_TEST_PG_URL): the message says how to install them."""


def find_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if not candidates:
        found = shutil.which("initdb")
        if not found:
            raise PgUnavailable(INSTALL_HINT)
        return Path(found).parent
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """Who runs the server: None (ourselves) unless we are root, then a dedicated user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise PgUnavailable("running as root, and neither a postgres nor a nobody user exists")


def runuser() -> str:
    """util-linux's runuser: on PATH, or in the sbin folders a non-login root shell may lack."""
    found = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError(
            "the PostgreSQL tests run the server as an unprivileged user with runuser "
            "(util-linux), which is not installed"
        )
    return found


@dataclass
class PgServer:
    """A running server and a superuser URL to it; makes a fresh database per test."""

    admin_url: str
    host: str
    port: int
    folder: Path | None = None
    bindir: Path | None = None
    user: str | None = None
    _names: Iterator[int] = field(default_factory=itertools.count)

    def url(
        self, database: str, *, user: str = ADMIN, password: str | None = None, **q: str
    ) -> str:
        auth = f"{quote(user)}:{quote(password)}" if password is not None else quote(user)
        query = "&".join(f"{k}={quote(v)}" for k, v in q.items())
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.admin_url, autocommit=True)

    def create_database(self, template: str | None = None) -> str:
        """A new empty (or ``template``-copied) database; returns its URL."""
        name = f"nhictl_t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            sql = f'CREATE DATABASE "{name}" STRATEGY FILE_COPY'
            if template:
                sql += f' TEMPLATE "{template}"'
            conn.execute(sql)
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.folder is None or self.bindir is None:
            return
        self._run(
            [str(self.bindir / "pg_ctl"), "stop", "-D", str(self.folder / "data"), "-m", "fast"],
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        if self.user:
            argv = [runuser(), "-u", self.user, "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()[-2000:]}")
        return result


def start_server(*, tls: bool = False, overrides: dict[str, str] | None = None) -> PgServer:
    """initdb a cluster in a new temporary folder and start it on 127.0.0.1.

    ``overrides`` replace the fast, non-durable defaults (the store benchmark turns fsync on).
    """
    bindir = find_bindir()
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="nhictl-pg-"))
    port = free_port()
    server = PgServer(
        f"postgresql://{ADMIN}@127.0.0.1:{port}/postgres?sslmode=disable",
        "127.0.0.1",
        port,
        folder,
        bindir,
        user,
    )
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    data = folder / "data"
    server._run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            ADMIN,
            "--auth=trust",
            "--no-locale",
            "--encoding=UTF8",
            "--no-sync",
        ]
    )
    settings = dict(_FAST, **(overrides or {}), listen_addresses="'127.0.0.1'", port=str(port))
    settings["unix_socket_directories"] = f"'{folder}'"
    hba = [
        f"local all {ADMIN} trust",
        f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256",
    ]
    if tls:
        _write_certificate(data, user)
        settings.update(ssl="on", ssl_cert_file="'server.crt'", ssl_key_file="'server.key'")
        hba += [
            f"hostssl all {TLS_ROLE} 127.0.0.1/32 trust",
            f"hostnossl all {TLS_ROLE} 127.0.0.1/32 reject",
        ]
    hba.append("host all all 127.0.0.1/32 trust")
    with (data / "postgresql.conf").open("a") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    (data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
    log = folder / "server.log"
    server._run(
        [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", "60"]
    )
    with server.admin() as conn:
        conn.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        if tls:
            conn.execute(f"CREATE ROLE {TLS_ROLE} LOGIN")
    return server


def _write_certificate(data: Path, user: str | None) -> None:
    """A self-signed certificate for 127.0.0.1, made with the cryptography package."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = data / "server.key", data / "server.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.chmod(0o600)
    if user:
        entry = pwd.getpwnam(user)
        for path in (key_path, cert_path):
            os.chown(path, entry.pw_uid, entry.pw_gid)


def server_from_env_or_start() -> PgServer:
    """The server named by NHICTL_TEST_PG_URL, or a throwaway one of our own."""
    url = os.environ.get("NHICTL_TEST_PG_URL")
    if not url:
        return start_server()
    info = psycopg.conninfo.conninfo_to_dict(url)
    return PgServer(url, str(info.get("host", "127.0.0.1")), int(str(info.get("port", 5432))))
