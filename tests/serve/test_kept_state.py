"""What the service keeps between requests, and its workers sharing one store, through a real
process with two workers: a resource server's rotated key file is read again, a JWT-SVID
verified once is still refused once it expires, and concurrent exchanges from both workers
all commit (SQLite: through the workers' write queue)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.credentials.support import INVOICE_ID
from tests.serve.conftest import RS_ID, Service, launch, tls_context, write_jwks
from tests.serve.test_token_service import credential_count, exchange_form

KEY_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def two_workers(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Service]:
    yield from launch(
        tmp_path_factory.mktemp("workers"),
        request,
        backend,
        # One agent sends 48 exchanges at once: above the per-agent burst (30), which holds
        # across both workers.
        args=("--workers", "2", "--rate-per-identity", "6000"),
        settings={"NHICTL_MAX_CONCURRENT_CREDENTIALS": "200", "NHICTL_CLOCK_LEEWAY": "1s"},
    )


def rs_jwks_path(service: Service) -> Path:
    return Path(service.env["NHICTL_INTROSPECTION_CLIENTS"].split("=", 1)[1])


def introspect_status(
    service: Service, token: str, key: ec.EllipticCurvePrivateKey, kid: str
) -> int:
    now = int(time.time())
    claims = {"iss": RS_ID, "sub": RS_ID, "aud": f"{service.url}/introspect", "iat": now,
              "exp": now + 60, "jti": secrets.token_urlsafe(12)}  # fmt: skip
    assertion = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    form = {"token": token, "client_assertion_type": KEY_JWT, "client_assertion": assertion}
    with service.client() as http:
        return http.post("/introspect", data=form).status_code


def exchange(service: Service, svid: str, task: str) -> httpx.Response:
    with service.client() as http:
        return http.post("/token", data=exchange_form(svid, task))


def test_a_rotated_resource_server_key_file_is_read_again(two_workers: Service) -> None:
    svid = two_workers.idp.mint(INVOICE_ID, "nhictl")
    token = exchange(two_workers, svid, "rotate-1").json()["access_token"]
    old_key, old_kid = two_workers.rs_key, two_workers.rs_kid
    path = rs_jwks_path(two_workers)
    past = time.time() - 60
    os.utime(path, (past, past))  # old enough to be kept (a fresh file is read every time)
    for _ in range(4):  # both workers have read (and may keep) the old file
        assert introspect_status(two_workers, token, old_key, old_kid) == 200
    new_key = ec.generate_private_key(ec.SECP256R1())
    _, new_kid = write_jwks(path, new_key)
    for _ in range(4):
        assert introspect_status(two_workers, token, old_key, old_kid) == 401
        assert introspect_status(two_workers, token, new_key, new_kid) == 200


def test_a_verified_svid_is_refused_once_it_expires(two_workers: Service) -> None:
    svid = two_workers.idp.mint(INVOICE_ID, "nhictl", ttl=dt.timedelta(seconds=2))
    for i in range(4):  # both workers verify (and keep) it while it is valid
        assert exchange(two_workers, svid, f"expiry-{i}").status_code == 200
    time.sleep(2 + 1 + 1)  # its lifetime, the 1 s leeway, and a second more
    for i in range(4):
        reply = exchange(two_workers, svid, f"expired-{i}")
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"] == "invalid_grant"
        assert "expired" in reply.json()["error_description"]


def test_concurrent_exchanges_through_two_workers_all_commit(
    two_workers: Service, backend: str
) -> None:
    svid = two_workers.idp.mint(INVOICE_ID, "nhictl")
    before = credential_count(two_workers)
    context = tls_context(two_workers.ca.ca_pem)

    def one(i: int) -> int:
        with httpx.Client(base_url=two_workers.url, verify=context, timeout=30) as http:
            return http.post("/token", data=exchange_form(svid, f"together-{i}")).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(one, range(48)))
    assert statuses == [200] * 48
    assert credential_count(two_workers) == before + 48
    if backend == "sqlite":
        home = Path(two_workers.env["NHICTL_HOME"])
        locks = list(home.rglob("*.write-lock"))
        assert len(locks) == 1
        assert stat.S_IMODE(locks[0].stat().st_mode) == 0o600
