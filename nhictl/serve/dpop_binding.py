"""RFC 9449 at the token endpoint: a ``DPoP`` header binds the minted token to its key."""

from __future__ import annotations

from starlette.datastructures import Headers

from nhictl.core.dpop import DpopError, verify_proof
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import OAuthError

#: RFC 9449 section 5: the error for a missing, malformed, stale or replayed proof.
INVALID_DPOP_PROOF = "invalid_dpop_proof"


def dpop_headers(headers: Headers) -> list[str]:
    return headers.getlist("dpop")


def token_request_jkt(ctx: ServiceContext, proofs: list[str]) -> str | None:
    """The thumbprint to bind the token to, from the request's DPoP proof (None: no proof).

    The proof must be for ``POST`` to the token endpoint's public URL, fresh, and seen for the
    first time (the shared replay table). Runs on the thread that owns the store."""
    if not proofs:
        return None
    if len(proofs) > 1:
        raise OAuthError(INVALID_DPOP_PROOF, "a request carries at most one DPoP header")
    try:
        proof = verify_proof(
            proofs[0],
            htm="POST",
            htu=f"{ctx.options.public_url}/token",
            now=ctx.now(),
            store=ctx.runtime.store,
            leeway=ctx.leeway,
        )
    except DpopError as exc:
        raise OAuthError(INVALID_DPOP_PROOF, exc.message, reason=exc.reason) from None
    return proof.jkt
