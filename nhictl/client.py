"""A small client for ``nhictl serve`` (docs/serve.md, "Client"): an agent or pipeline exchanges
its identity token for a task-scoped access token without hand-building OAuth requests.

    client = TokenClient("https://nhictl.internal:8443", ca_file="ca.pem")
    reply = client.exchange(svid, task="INV-42", intent="reconcile-invoices")
    client.revoke(reply.access_token, auth=SpiffeAssertion(fresh_svid))

Refusals are :class:`TokenRefused` (the server's ``error`` / ``error_description``); a server
that cannot be reached or answers nonsense is :class:`ServerUnavailable`. Tokens never appear in
``repr``, messages or logs. Built on httpx, imported only here.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import jwt

from nhictl.core.errors import InputError, VerdictError
from nhictl.core.redact import redact

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
TASK_DETAIL = "urn:nhictl:task"
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_SPIFFE_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"

#: RFC 6749 section 5.2 codes that are the server's "no" to a well-formed request (exit 1);
#: every other error code says the request itself was wrong or cannot be served now (exit 2).
REFUSAL_CODES = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "access_denied",
        "invalid_scope",
        "invalid_target",
        "invalid_token",
    }
)

#: RFC 9449: given the HTTP method, the URL and (when the server asked for one, section 8) its
#: nonce, the value of the ``DPoP`` header. A callable of two arguments works with a server
#: that does not ask for nonces.
DpopProof = Callable[..., str]
#: RFC 9449 section 8: the server wants a proof with the nonce in its ``DPoP-Nonce`` header.
USE_DPOP_NONCE = "use_dpop_nonce"


class TokenRefused(VerdictError):
    """The server said no: ``error`` and ``error_description`` as it sent them."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.status = status
        self.error = error
        self.description = description


class BadRequest(InputError):
    """The server refused the request as malformed or not servable (invalid_request, 415,
    429, ...): an input error, not a verdict."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.status = status
        self.error = error
        self.description = description


class ServerUnavailable(InputError):
    """The server could not be reached, or its answer is not an OAuth reply."""


@dataclass(frozen=True)
class TokenResponse:
    """A successful ``/token`` reply (RFC 6749 section 5.1, RFC 8693 section 2.2.1)."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    scope: tuple[str, ...]
    issued_token_type: str | None
    authorization_details: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": " ".join(self.scope),
            "issued_token_type": self.issued_token_type,
            "authorization_details": self.authorization_details,
        }


class ClientAuth(Protocol):
    """Client authentication for an endpoint: the form fields to add for ``url``."""

    def fields(self, url: str) -> dict[str, str]: ...


@dataclass(frozen=True)
class SpiffeAssertion:
    """The agent authenticates with a JWT-SVID (``jwt-spiffe``); each is accepted once."""

    svid: str = field(repr=False)

    def fields(self, url: str) -> dict[str, str]:
        return {"client_assertion_type": JWT_SPIFFE_ASSERTION, "client_assertion": self.svid}


@dataclass(frozen=True)
class PrivateKeyJwt:
    """RFC 7523 ``private_key_jwt``: a fresh assertion, signed with ``key``, per request."""

    client_id: str
    key: Any = field(repr=False)  # a private key PyJWT can sign with
    kid: str | None = None
    algorithm: str = "ES256"
    lifetime_seconds: int = 60

    def fields(self, url: str) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": url,
            "iat": now,
            "exp": now + self.lifetime_seconds,
            "jti": secrets.token_urlsafe(16),
        }
        headers = {"kid": self.kid} if self.kid else None
        assertion = jwt.encode(claims, self.key, algorithm=self.algorithm, headers=headers)
        return {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": assertion}


def task_details(
    task: str, intent: str, extra: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The RFC 9396 ``authorization_details`` of one task (type ``urn:nhictl:task``)."""
    return [{"type": TASK_DETAIL, "task": task, "intent": intent, **(extra or {})}]


class TokenClient:
    """Talks to one ``nhictl serve``. ``ca_file`` is the CA to trust for its TLS certificate
    (default: the system's). Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        server: str,
        *,
        ca_file: str | Path | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = server.rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise InputError(f"--server {server[:100]!r}: not an http(s) URL")
        self.server = base
        verify: Any = True
        if ca_file is not None:
            ca = Path(ca_file)
            if not ca.is_file():
                raise InputError(f"{ca}: cannot read the CA file: no such file")
            import ssl

            try:
                verify = ssl.create_default_context(cafile=str(ca))
            except (ssl.SSLError, OSError) as exc:
                raise InputError(f"{ca}: not a PEM CA certificate ({exc})") from None
        self._http = httpx.Client(
            base_url=base, verify=verify, timeout=timeout, transport=transport
        )
        #: The last ``DPoP-Nonce`` the server sent: the next proof carries it (RFC 9449 §8).
        self._dpop_nonce: str | None = None

    def __enter__(self) -> TokenClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        return f"{self.server}{path}"

    def exchange(
        self,
        identity_token: str,
        *,
        task: str,
        intent: str,
        scope: Sequence[str] = (),
        resource: str | None = None,
        details: Mapping[str, Any] | None = None,
        actor_token: str | None = None,
        dpop: DpopProof | None = None,
    ) -> TokenResponse:
        """RFC 8693 token exchange of the agent's JWT-SVID (or OIDC token) for a token for one
        task. ``details`` adds fields to the task's authorization details (``ttl_seconds``,
        ``environment``, ``tools``, ...). With ``actor_token`` (the agent's SVID),
        ``identity_token`` is the user's OIDC token and the agent acts for that user."""
        form = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": identity_token,
            "subject_token_type": JWT_TYPE,
            "authorization_details": json.dumps(task_details(task, intent, details)),
        }
        if scope:
            form["scope"] = " ".join(scope)
        if resource:
            form["resource"] = resource
        if actor_token:
            form.update(actor_token=actor_token, actor_token_type=JWT_TYPE)
        body = self._post("/token", form, dpop)
        return _token_response(body)

    def introspection_token(self, *, auth: ClientAuth) -> TokenResponse:
        """A resource server's bearer token for ``/introspect`` (RFC 7662 section 2.1): a
        ``client_credentials`` grant for that endpoint, authenticated by ``auth`` (its key in
        ``introspection_clients``). Reuse it until it expires: one assertion instead of one
        per call."""
        form = {
            "grant_type": "client_credentials",
            "resource": self.url("/introspect"),
            **auth.fields(self.url("/token")),
        }
        return _token_response(self._post("/token", form, None))

    def introspect(
        self, token: str, *, auth: ClientAuth | None = None, bearer: str | None = None
    ) -> dict[str, Any]:
        """RFC 7662: the token's facts (``{"active": false}`` for a dead one). The resource
        server authenticates with ``bearer`` (from ``introspection_token``) or ``auth`` (its
        client authentication, a fresh assertion per call), exactly one of them."""
        if (auth is None) == (bearer is None):
            raise InputError("introspect: give auth or bearer, exactly one")
        url = self.url("/introspect")
        fields = auth.fields(url) if auth is not None else {}
        headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else None
        return self._post("/introspect", {"token": token, **fields}, None, headers=headers)

    def revoke(self, token: str, *, auth: ClientAuth) -> None:
        """RFC 7009: revoke a token issued to the authenticating agent."""
        url = self.url("/revoke")
        self._post("/revoke", {"token": token, **auth.fields(url)}, None, empty_ok=True)

    def _post(
        self,
        path: str,
        form: Mapping[str, str],
        dpop: DpopProof | None,
        *,
        empty_ok: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        reply = self._send(path, form, dpop, headers)
        nonce = reply.headers.get("dpop-nonce")
        if (
            dpop
            and reply.status_code == 400
            and nonce
            and nonce != self._dpop_nonce
            and _error_code(reply) == USE_DPOP_NONCE
        ):
            # The server wants its nonce in the proof: once more, with it (a new proof).
            self._dpop_nonce = nonce
            reply = self._send(path, form, dpop, headers)
            nonce = reply.headers.get("dpop-nonce")
        if nonce:
            self._dpop_nonce = nonce
        if reply.status_code == 200 and empty_ok and not reply.content:
            return {}
        try:
            body = reply.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ServerUnavailable(
                f"{self.url(path)}: HTTP {reply.status_code} without an OAuth JSON reply"
            )
        if reply.status_code == 200:
            return body
        error = str(body.get("error") or f"http_{reply.status_code}")[:100]
        description = redact(str(body.get("error_description") or ""))[:500]
        if reply.status_code == 429:
            wait = reply.headers.get("retry-after")
            description += f" (retry after {wait[:10]} s)" if wait else ""
        if error in REFUSAL_CODES:
            raise TokenRefused(reply.status_code, error, description)
        raise BadRequest(reply.status_code, error, description)

    def _send(
        self,
        path: str,
        form: Mapping[str, str],
        dpop: DpopProof | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if dpop:
            sent["DPoP"] = self._proof(dpop, self.url(path))
        try:
            return self._http.post(path, data=dict(form), headers=sent)
        except httpx.HTTPError as exc:
            raise ServerUnavailable(
                f"{self.server}: cannot reach the server ({_why(exc)})"
            ) from None

    def _proof(self, dpop: DpopProof, url: str) -> str:
        if self._dpop_nonce is None:
            return dpop("POST", url)
        if not _takes_nonce(dpop):
            raise BadRequest(
                400,
                USE_DPOP_NONCE,
                "the server requires DPoP nonces (RFC 9449 section 8): the dpop callable "
                "must accept (method, url, nonce)",
            )
        return dpop("POST", url, self._dpop_nonce)


def _takes_nonce(dpop: DpopProof) -> bool:
    """Does ``dpop`` take a third argument (the server's nonce)?"""
    import inspect

    try:
        inspect.signature(dpop).bind("POST", "https://x", "nonce")
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): let the call decide
        return True
    return True


def _error_code(reply: httpx.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _why(exc: httpx.HTTPError) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return redact(text)[:200]


def _token_response(body: Mapping[str, Any]) -> TokenResponse:
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ServerUnavailable("the /token reply has no access_token")
    expires = body.get("expires_in")
    details = body.get("authorization_details")
    return TokenResponse(
        access_token=token,
        token_type=str(body.get("token_type", "")),
        expires_in=int(expires) if isinstance(expires, int) else None,
        scope=tuple(str(body.get("scope") or "").split()),
        issued_token_type=body.get("issued_token_type"),
        authorization_details=list(details) if isinstance(details, list) else [],
    )


__all__ = [
    "BadRequest",
    "ClientAuth",
    "DpopProof",
    "PrivateKeyJwt",
    "ServerUnavailable",
    "SpiffeAssertion",
    "TokenClient",
    "TokenRefused",
    "TokenResponse",
    "task_details",
]
