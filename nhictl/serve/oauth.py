"""RFC 6749 section 5.2 error replies, token replies, and strict form parsing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from nhictl.core.redact import redact

FORM = "application/x-www-form-urlencoded"
#: RFC 6749 section 5.1: every reply that carries (or might carry) a token.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """A refusal with its RFC 6749 ``error`` code; ``status`` 401 for invalid_client."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, reason: str | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = redact(description)[:500]
        self.status = status
        self.reason = reason or error
        self.audited = False  # True when the core already wrote this refusal's audit event

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 401:
            # RFC 6750 section 3: invalid_client, or invalid_token for a refused bearer token.
            error = self.error if self.error == "invalid_token" else "invalid_client"
            headers["WWW-Authenticate"] = f'Bearer error="{error}"'
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status, headers=headers)


def token_reply(body: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse(dict(body), headers=dict(NO_STORE))


async def read_form(request: Request) -> dict[str, str]:
    """The form body: the exact Content-Type, UTF-8, and every parameter at most once
    (RFC 6749 section 3.2: parameters MUST NOT be included more than once)."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != FORM:
        raise OAuthError("invalid_request", f"Content-Type must be {FORM}", status=415)
    body = await request.body()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form and name in ("resource", "audience"):
            raise OAuthError("invalid_target", "a token is minted for one resource or audience")
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name!r} is repeated")
        if value != "":
            form[name] = value
    return form


def require(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"missing parameter {name!r}")
    return value
