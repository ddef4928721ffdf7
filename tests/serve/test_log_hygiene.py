"""Nothing secret reaches the service's log: after a run of exchanges, introspections,
revocations and refusals (a forged identity token, a token in the query string, a repeated
assertion), the server's whole output holds none of the tokens, SVIDs or assertions it saw,
and no JWT at all, while its access log does record every request."""

from __future__ import annotations

import re

import pytest

from tests.credentials.support import INVOICE_ID
from tests.serve.conftest import Service, launch
from tests.serve.test_token_service import exchange_form, introspect, rs_assertion

#: A JWS compact serialization (three base64url parts), as any secret here would appear.
JWT = re.compile(r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
KEY_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"


def test_no_token_or_assertion_in_the_log(service: Service) -> None:
    svid = service.idp.mint(INVOICE_ID, "nhictl")
    seen = [svid]
    with service.client() as http:
        issued = http.post("/token", data=exchange_form(svid, "LOG-1"))
        assert issued.status_code == 200, issued.text
        token = issued.json()["access_token"]
        seen.append(token)
        assert introspect(service, token)["active"] is True
        # A forged identity token: a real SVID with its signature changed.
        head, body, _ = svid.split(".")
        forged = f"{head}.{body}.{'A' * 86}"
        seen.append(forged)
        refused = http.post("/token", data=exchange_form(forged, "LOG-2"))
        assert refused.status_code == 400
        # A token where none belongs: in the query string of a request.
        assert http.get(f"/jwks?access_token={token}").status_code == 200
        # One assertion used twice: the second is refused.
        assertion = rs_assertion(service, f"{service.url}/introspect")
        seen.append(assertion)
        form = {"token": token, "client_assertion_type": KEY_JWT, "client_assertion": assertion}
        assert http.post("/introspect", data=form).status_code == 200
        assert http.post("/introspect", data=form).status_code == 401
        fresh_svid = service.idp.mint(INVOICE_ID, "nhictl")
        seen.append(fresh_svid)
        revoked = http.post(
            "/revoke",
            data={"token": token, "client_assertion_type": SPIFFE, "client_assertion": fresh_svid},
        )
        assert revoked.status_code == 200, revoked.text
    assert introspect(service, token) == {"active": False}
    assert service.log is not None
    text = service.log.read_text(errors="replace")
    assert "POST /token 200" in text and "POST /introspect 401" in text
    assert "GET /jwks 200" in text
    for secret in seen:
        assert secret not in text
        assert secret.split(".")[2] not in text  # not even a signature
    assert JWT.findall(text) == []


def test_no_access_log_when_asked(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> None:
    """``--no-access-log``: no line per request, while every decision is still an audit event."""
    root = tmp_path_factory.mktemp("quiet")
    for service in launch(root, request, backend, args=("--no-access-log",)):
        svid = service.idp.mint(INVOICE_ID, "nhictl")
        with service.client() as http:
            issued = http.post("/token", data=exchange_form(svid, "QUIET-1"))
            assert issued.status_code == 200, issued.text
            assert http.get("/jwks").status_code == 200
        assert service.log is not None
        text = service.log.read_text(errors="replace")
        assert "nhictl serve: listening on" in text
        assert "nhictl.serve.access" not in text and "POST /token" not in text
        with service.runtime().store.read() as tx:
            rows = tx.query(
                "SELECT outcome FROM audit_events WHERE action = 'credential.issue' "
                "AND details_json LIKE '%QUIET-1%'"
            )
        assert rows == [("issued",)]
