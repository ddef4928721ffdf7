"""The ``mcp`` Python SDK's own OAuth client against a real ``nhictl serve`` (issue 14).

Real processes on loopback, TLS from the test CA: ``nhictl serve`` (the ``launch`` fixture, both
store backends) and an MCP server (``tests/serve/mcp_resource.py``: the SDK's ``MCPServer`` on
uvicorn) that is a protected resource of it. The agent connects with the SDK's streamable HTTP
client and ``PrivateKeyJWTOAuthProvider`` whose assertion is its JWT-SVID (workload identity
federation): the SDK gets a 401, discovers the RFC 9728 metadata, then nhictl's RFC 8414
metadata, POSTs ``/token`` (``client_credentials``, the SVID as a ``jwt-bearer`` client
assertion, ``resource`` = the MCP server, ``scope`` from its metadata) and retries with the token,
which the MCP server verifies offline against nhictl's ``/jwks``.

Two things the stock provider cannot do against nhictl, so ``TaskProvider`` adds them (and
nothing else):

* The SDK's ``OAuthMetadata`` model requires ``authorization_endpoint``. RFC 8414 section 2 makes
  it required only for servers with a grant that uses it; nhictl has none and omits it, so the SDK
  drops nhictl's (valid) metadata and stops with "No authorization server metadata discovered".
  ``TaskProvider`` loads the same document from nhictl before the flow, unvalidated.
* nhictl's token endpoint needs the task: ``authorization_details`` with one ``urn:nhictl:task``
  entry (RFC 9396). The SDK has no way to add a token request parameter, so ``TaskProvider``
  appends it to the request the SDK built.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
import httpx2
import pytest
from mcp.client.auth.exceptions import OAuthTokenError
from mcp.client.auth.extensions.client_credentials import PrivateKeyJWTOAuthProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, OAuthToken

from nhictl.core.identity import TrustSources
from tests.credentials.support import TRUST_DOMAIN, sample
from tests.serve.conftest import Service, free_port, launch, tls_context
from tests.serve.test_token_service import credential_count

AGENT = "mcp-reporter"
AGENT_ID = f"spiffe://{TRUST_DOMAIN}/ns/finance/sa/mcp-reporter"
DISABLED = "mcp-retired"
DISABLED_ID = f"spiffe://{TRUST_DOMAIN}/ns/finance/sa/mcp-retired"
STRANGER_ID = f"spiffe://{TRUST_DOMAIN}/ns/finance/sa/never-registered"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stack:
    nhictl: Service
    mcp_url: str  # the MCP endpoint, also its RFC 8707 resource identifier


class MemoryStorage:
    """The SDK's ``TokenStorage`` protocol, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class TaskProvider(PrivateKeyJWTOAuthProvider):
    """``PrivateKeyJWTOAuthProvider`` plus the two things nhictl needs (see the module doc)."""

    def __init__(self, *, metadata: dict[str, Any], task: str, intent: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._nhictl_metadata = metadata
        self._details = json.dumps([{"type": "urn:nhictl:task", "task": task, "intent": intent}])

    async def _initialize(self) -> None:
        await super()._initialize()
        # RFC 8414 metadata without authorization_endpoint fails the SDK's model; construct it
        # unvalidated (the SDK's own discovery still runs and still checks the issuer).
        self.context.oauth_metadata = OAuthMetadata.model_construct(**self._nhictl_metadata)

    async def _exchange_token_client_credentials(self) -> httpx2.Request:
        built = await super()._exchange_token_client_credentials()
        form = dict(parse_qsl(built.content.decode()))
        form["authorization_details"] = self._details
        headers = {"Content-Type": built.headers["Content-Type"]}
        return httpx2.Request("POST", built.url, data=form, headers=headers)


def _register(service: Service, name: str, spiffe_id: str, mcp_url: str) -> None:
    doc = sample("invoice-reconciler")
    doc["metadata"]["name"] = name
    doc["spec"]["workloadIdentity"]["spiffeId"] = spiffe_id
    doc["spec"]["credentials"]["audiences"] = [mcp_url]
    runtime = service.runtime()
    try:
        trust = TrustSources.from_files(trust_bundle=service.idp.bundle_path)
        token = service.idp.mint(spiffe_id, "nhictl")
        result = runtime.registry.register(doc, token=token, trust=trust)
        assert not result.denied, result.reasons
        runtime.registry.approve(name, by="carol@example.com")
    finally:
        runtime.store.close()


def _start_mcp_server(service: Service, port: int, mcp_url: str) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable,
        "-m",
        "tests.serve.mcp_resource",
        *("--port", str(port), "--resource", mcp_url),
        *("--authorization-server", service.url, "--issuer", service.url),
        *("--jwks", f"{service.url}/jwks", "--ca", str(service.ca.ca_pem)),
        *("--tls-cert", str(service.ca.cert_pem), "--tls-key", str(service.ca.key_pem)),
    ]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    metadata = f"https://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[1].decode())
        try:
            httpx.get(metadata, verify=tls_context(service.ca.ca_pem), timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the MCP server did not come up")


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, backend: str
) -> Iterator[Stack]:
    # RFC 8414 section 3.3: the metadata's issuer is the URL it is discovered from, so the
    # registry's issuer is the service's URL (the default, urn:nhictl:registry, is not a URL).
    port = free_port()
    issuer = f"https://127.0.0.1:{port}"
    root = tmp_path_factory.mktemp("mcp")
    for service in launch(root, request, backend, settings={"NHICTL_ISSUER": issuer}, port=port):
        mcp_port = free_port()
        mcp_url = f"https://127.0.0.1:{mcp_port}/mcp"
        _register(service, AGENT, AGENT_ID, mcp_url)
        _register(service, DISABLED, DISABLED_ID, mcp_url)
        runtime = service.runtime()
        runtime.registry.disable(DISABLED, reason="retired")
        runtime.store.close()
        proc = _start_mcp_server(service, mcp_port, mcp_url)
        try:
            yield Stack(service, mcp_url)
        finally:
            proc.terminate()
            proc.communicate(timeout=15)


async def _whoami(stack: Stack, spiffe_id: str, task: str) -> tuple[dict[str, Any], list[str]]:
    """Connect with the SDK's client as ``spiffe_id``, call ``whoami``; (result, audiences the
    SDK asked the assertion for)."""
    service = stack.nhictl
    asked: list[str] = []

    async def workload_identity_token(audience: str) -> str:
        asked.append(audience)  # the SVID's audience is the one its manifest pins
        return service.idp.mint(spiffe_id, "nhictl")

    with service.client() as http:
        metadata = http.get("/.well-known/oauth-authorization-server").json()
    provider = TaskProvider(
        metadata=metadata,
        task=task,
        intent="reconcile-invoices",
        server_url=stack.mcp_url,
        storage=MemoryStorage(),
        client_id=AGENT,
        assertion_provider=workload_identity_token,
        issuer=service.url,
    )
    async with (
        httpx2.AsyncClient(auth=provider, verify=tls_context(service.ca.ca_pem)) as client,
        streamable_http_client(stack.mcp_url, http_client=client) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("whoami", {})
    assert not result.is_error, result
    assert result.structured_content is not None
    return dict(result.structured_content), asked


def _query(service: Service, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows from the service's store, read through a runtime of its own."""
    runtime = service.runtime()
    try:
        with runtime.store.read() as tx:
            return tx.query(sql, params)
    finally:
        runtime.store.close()


def _credentials(service: Service, agent: str) -> list[tuple[Any, ...]]:
    return _query(
        service,
        "SELECT jti, task, intent, scopes_json, audience, issued_by, status "
        "FROM credentials WHERE agent = ?",
        (agent,),
    )


def _audit(service: Service, agent: str) -> list[tuple[Any, ...]]:
    return _query(
        service,
        "SELECT action, outcome, actor FROM audit_events "
        "WHERE action = 'credential.issue' AND subject = ? ORDER BY seq",
        (agent,),
    )


def test_mcp_sdk_client_calls_a_tool_with_a_token_nhictl_minted(stack: Stack) -> None:
    answer, asked = anyio.run(_whoami, stack, AGENT_ID, "MCP-1")
    assert asked == [stack.nhictl.url]  # the SDK asks for an assertion for nhictl's issuer
    assert answer["client_id"] == AGENT
    assert answer["aud"] == stack.mcp_url
    assert answer["scopes"] == ["invoices:read"]
    rows = _credentials(stack.nhictl, AGENT)
    assert [(r[0], r[1], r[2], json.loads(r[3]), r[4], r[6]) for r in rows] == [
        (answer["jti"], "MCP-1", "reconcile-invoices", ["invoices:read"], stack.mcp_url, "active")
    ]
    actor = f"nhictl-serve:{AGENT}@127.0.0.1"
    assert rows[0][5] == actor
    assert _audit(stack.nhictl, AGENT) == [("credential.issue", "issued", actor)]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


@pytest.mark.parametrize(
    ("spiffe_id", "error"),
    [(STRANGER_ID, "invalid_grant"), (DISABLED_ID, "access_denied")],
    ids=["unregistered", "disabled"],
)
def test_mcp_sdk_client_is_refused_for_an_unknown_or_disabled_agent(
    stack: Stack, spiffe_id: str, error: str
) -> None:
    before = credential_count(stack.nhictl)
    with pytest.raises(BaseExceptionGroup) as raised:  # the SDK's error, inside anyio's group
        anyio.run(_whoami, stack, spiffe_id, "MCP-2")
    refusals = [e for e in _leaves(raised.value) if isinstance(e, OAuthTokenError)]
    assert len(refusals) == 1, _leaves(raised.value)
    assert "Token exchange failed (400)" in str(refusals[0])
    assert f'"error":"{error}"' in str(refusals[0])
    assert credential_count(stack.nhictl) == before
