"""RFC 9449 at the token endpoint: a ``DPoP`` header binds the minted token to its key."""

from __future__ import annotations

from starlette.datastructures import Headers

from nhictl.core.dpop import DpopError, verify_proof
from nhictl.serve.context import ServiceContext
from nhictl.serve.dpop_nonce import USE_DPOP_NONCE, issue_nonce, nonce_accepted
from nhictl.serve.oauth import OAuthError

#: RFC 9449 section 5: the error for a missing, malformed, stale or replayed proof.
INVALID_DPOP_PROOF = "invalid_dpop_proof"


def dpop_headers(headers: Headers) -> list[str]:
    return headers.getlist("dpop")


def token_request_jkt(ctx: ServiceContext, proofs: list[str]) -> str | None:
    """The thumbprint to bind the token to, from the request's DPoP proof (None: no proof).

    The proof must be for ``POST`` to the token endpoint's public URL, fresh, seen for the
    first time (the shared replay table) and, with the ``dpop_nonce`` setting, carry a nonce
    we handed out (else ``use_dpop_nonce``, RFC 9449 section 8). Runs on the thread that owns
    the store."""
    if not proofs:
        return None
    if len(proofs) > 1:
        raise OAuthError(INVALID_DPOP_PROOF, "a request carries at most one DPoP header")
    now = ctx.now()
    secret = ctx.dpop_nonce_secret() if ctx.dpop_nonce_required else None

    def nonce_ok(nonce: object) -> bool:
        return secret is not None and nonce_accepted(secret, nonce, now.timestamp())

    try:
        proof = verify_proof(
            proofs[0],
            htm="POST",
            htu=f"{ctx.options.public_url}/token",
            now=now,
            store=ctx.runtime.store,
            leeway=ctx.leeway,
            nonce_ok=nonce_ok if secret is not None else None,
        )
    except DpopError as exc:
        error = USE_DPOP_NONCE if exc.reason == "dpop-nonce" else INVALID_DPOP_PROOF
        raise OAuthError(error, exc.message, reason=exc.reason) from None
    return proof.jkt


def fresh_nonce(ctx: ServiceContext) -> str | None:
    """The ``DPoP-Nonce`` header value for a /token reply (None: nonces are not in use)."""
    if not ctx.dpop_nonce_required:
        return None
    return issue_nonce(ctx.dpop_nonce_secret(), ctx.now().timestamp())
