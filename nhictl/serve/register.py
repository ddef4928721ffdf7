"""``POST /register``: agent-initiated registration (RFC 7591 request and reply shapes).

The agent sends its manifest as the client metadata member ``nhictl_manifest`` (a JSON object,
the manifest as ``nhictl validate`` reads it) and authenticates with its JWT-SVID (or OIDC
token) as ``Authorization: Bearer``. The token must verify against the manifest's own
``workloadIdentity`` (pinned keys, its audience), exactly as ``nhictl register`` verifies it;
then the manifest is validated and the core ``Registry`` decides: active where policy allows,
pending-approval until ``nhictl agents approve``, a changed manifest a new revision whose diff
is in the reply. Refusals store nothing but their audit event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nhictl.core.errors import InputError
from nhictl.core.identity import IdentityError, verify_identity
from nhictl.core.jose import strict_json_loads, to_epoch
from nhictl.core.registry import Registry
from nhictl.core.registry.records import RegistrationResult, find_agent, find_revision
from nhictl.core.replaycache import accept_once, replay_key
from nhictl.core.safeyaml import Document
from nhictl.serve.agentauth import INVALID_TOKEN, bearer_token, refusal
from nhictl.serve.audit import caller_actor, record
from nhictl.serve.clientauth import agent_for_identity, unverified_claims
from nhictl.serve.context import ServiceContext
from nhictl.serve.oauth import NO_STORE, OAuthError

JSON = "application/json"
MANIFEST_MEMBER = "nhictl_manifest"
#: RFC 7591 section 3.2.2.
INVALID_CLIENT_METADATA = "invalid_client_metadata"
#: What an agent may ask for (RFC 7591 section 2); anything else is refused, never ignored,
#: because a silently dropped auth method would be a surprise at the token endpoint.
AUTH_METHODS = ("private_key_jwt", "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe")


async def read_json(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != JSON:
        raise OAuthError("invalid_request", f"Content-Type must be {JSON}", status=415)
    try:
        body = strict_json_loads(await request.body())
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError(INVALID_CLIENT_METADATA, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise OAuthError(INVALID_CLIENT_METADATA, "the body must be a JSON object")
    return body


def _manifest(metadata: Mapping[str, Any]) -> dict[str, Any]:
    manifest = metadata.get(MANIFEST_MEMBER)
    if not isinstance(manifest, dict):
        raise OAuthError(
            INVALID_CLIENT_METADATA,
            f"'{MANIFEST_MEMBER}' (the manifest, a JSON object) is required",
        )
    about = manifest.get("metadata")
    name = about.get("name") if isinstance(about, dict) else None
    client_name = metadata.get("client_name")
    if client_name is not None and client_name != name:
        raise OAuthError(INVALID_CLIENT_METADATA, "'client_name' must be the manifest's name")
    method = metadata.get("token_endpoint_auth_method")
    if method is not None and method not in AUTH_METHODS:
        raise OAuthError(
            INVALID_CLIENT_METADATA,
            f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}",
        )
    return manifest


def _validate(ctx: ServiceContext, manifest: dict[str, Any]) -> None:
    """The CLI's manifest validation; the first errors become the description."""
    from nhictl.core.manifest import ManifestValidator, ValidateOptions

    settings = ctx.runtime.settings
    validator = ManifestValidator(
        ValidateOptions(
            ttl_ceiling_seconds=settings.ttl_ceiling_seconds,
            max_bytes=settings.max_file_size,
            cache_dir=settings.paths.cache_dir,
        )
    )
    result = validator.validate_document(Document(MANIFEST_MEMBER, 0, manifest))
    if not result.is_valid():
        first = "; ".join(f"{i.json_path}: {i.message}" for i in result.errors[:3])
        raise OAuthError(
            INVALID_CLIENT_METADATA,
            f"{MANIFEST_MEMBER} is invalid ({len(result.errors)} error(s)): {first}",
            reason="manifest-invalid",
        )


def _verify_caller(ctx: ServiceContext, token: str, manifest: Mapping[str, Any]) -> str:
    """The bearer must be the identity the manifest declares; returns its subject."""
    spec = manifest.get("spec")
    wi = spec.get("workloadIdentity") if isinstance(spec, dict) else None
    if not isinstance(wi, dict):
        raise OAuthError(INVALID_CLIENT_METADATA, "the manifest has no spec.workloadIdentity")
    claims = unverified_claims(token, "bearer identity token", INVALID_TOKEN)
    declared = wi.get("spiffeId") if wi.get("type") == "spiffe" else wi.get("subject")
    if wi.get("type") == "spiffe" and claims.get("sub") != declared:
        raise OAuthError(
            INVALID_TOKEN,
            "the SVID's SPIFFE ID is not the manifest's workloadIdentity.spiffeId",
            status=401,
            reason="identity-mismatch",
        )
    now = ctx.now()
    try:
        identity = verify_identity(token, wi, ctx.trust, now=now, leeway=ctx.leeway)
    except IdentityError as exc:
        raise OAuthError(
            INVALID_TOKEN,
            f"identity token not verified: {exc.message}",
            status=401,
            reason=exc.reason,
        ) from None
    except InputError as exc:
        raise OAuthError(INVALID_CLIENT_METADATA, f"spec.workloadIdentity: {exc}") from None
    if ctx.single_use_identity_tokens:
        jti = claims.get("jti") if isinstance(claims.get("jti"), str) else None
        key = replay_key(issuer=identity.issuer, jti=jti, token_sha256=identity.token_sha256)
        if not accept_once(ctx.runtime.store, key, identity.expires_at, now):
            raise OAuthError(INVALID_TOKEN, "the identity token was already used", status=401)
    return identity.subject


def _check_takeover(ctx: ServiceContext, manifest: Mapping[str, Any], token: str) -> None:
    """An agent re-registers only itself: the name's current identity must be the caller's,
    and no other agent may already claim the caller's identity. Moving a name to another
    identity is an engineer's change (``nhictl register``), never a self-service one."""
    name = manifest["metadata"]["name"]
    wanted = manifest["spec"]["workloadIdentity"]
    with ctx.runtime.store.read() as tx:
        current = find_agent(tx, name)
        revision = find_revision(tx, name, current.revision) if current else None
    if revision is not None and revision.manifest["spec"]["workloadIdentity"] != wanted:
        raise OAuthError(
            INVALID_CLIENT_METADATA,
            f"agent {name!r} is registered with another workload identity: an engineer "
            "changes it (`nhictl register`)",
            reason="identity-change",
        )
    claims = unverified_claims(token, "bearer identity token", INVALID_TOKEN)
    try:
        holder, _ = agent_for_identity(ctx.runtime.store, claims.get("iss"), claims.get("sub"))
    except OAuthError:  # nobody has it yet, or several do (then the token endpoint refuses)
        return
    if holder != name:
        raise OAuthError(
            INVALID_CLIENT_METADATA,
            f"this workload identity is already registered as agent {holder!r}",
            reason="identity-claimed",
        )


def reply_body(result: RegistrationResult, issued_at: int) -> dict[str, Any]:
    """RFC 7591 section 3.2.1, plus what the registry decided."""
    return {
        "client_id": result.agent,
        "client_id_issued_at": issued_at,
        "client_name": result.agent,
        "grant_types": [
            "urn:ietf:params:oauth:grant-type:token-exchange",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "client_credentials",
        ],
        "token_endpoint_auth_method": AUTH_METHODS[1],
        "status": result.status,
        "outcome": result.outcome,
        "revision": result.revision,
        "previous_revision": result.previous_revision,
        "changes": [c.to_dict() for c in result.changes],
        "policy_ids": result.policy_ids,
        "reasons": result.reasons,
    }


def register(
    ctx: ServiceContext, bearer: str | None, metadata: dict[str, Any], address: str
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for one registration, on the store's thread; audits refusals."""
    caller: str | None = None
    try:
        if bearer is None:
            raise OAuthError(
                INVALID_TOKEN, "authenticate with 'Authorization: Bearer <JWT-SVID>'", status=401
            )
        manifest = _manifest(metadata)
        caller = _verify_caller(ctx, bearer, manifest)
        _validate(ctx, manifest)
        _check_takeover(ctx, manifest, bearer)
        registry = Registry(
            ctx.runtime.store, lambda: ctx.runtime.policies, actor=caller_actor(caller, address)
        )
        # Verified again inside, in the same call that stores the revision (one code path
        # with `nhictl register`).
        result = registry.register(manifest, token=bearer, trust=ctx.trust, leeway=ctx.leeway)
    except OAuthError as exc:
        ctx.metrics.decision("register", "refused")
        record(
            ctx.runtime.store,
            endpoint="register",
            caller=caller,
            address=address,
            outcome="denied",
            details={"error": exc.error, "reason": exc.reason, "description": exc.description},
        )
        raise
    ctx.metrics.decision("register", result.outcome)
    if result.denied:  # the registry audited it
        ids = ", ".join(result.policy_ids) or "none"
        error = OAuthError(
            INVALID_CLIENT_METADATA,
            f"registration denied: {'; '.join(result.reasons)} [policy: {ids}]",
            reason="policy-denied",
        )
        error.audited = True
        raise error
    status = 200 if result.outcome == "unchanged" else 201
    return status, reply_body(result, int(to_epoch(ctx.now())))


async def endpoint(request: Request) -> Response:
    ctx: ServiceContext = request.app.state.ctx
    address = request.client.host if request.client else "unknown"
    try:
        bearer = bearer_token(request.headers)
        metadata = await read_json(request)
        status, body = await ctx.core(lambda: register(ctx, bearer, metadata, address))
    except OAuthError as exc:
        return refusal(exc)
    return JSONResponse(body, status_code=status, headers=dict(NO_STORE))
