"""Just-in-time credentials: issue, verify, authorize, revoke, rebind, and the status list.

An agent never holds a standing secret. ``issue`` mints an RFC 9068 access token for one task,
decided at request time by the Cedar ``issue`` policy with the full task context, and bound to
the agent's verified workload identity (``sub``, or ``act.sub`` when acting on behalf of a
human). The store keeps the credential's facts and the SHA-256 of the token, never the token.

Two layers decide an issuance, in this order:

1. the policy engine (operators edit these policies; a denial names their ``@id``s), then
2. built-in guards (ids ``builtin.*``) that hold whatever the policies say: scopes inside the
   intent, TTL within ``maxTtl`` and the registry ceiling, sensitivity and environment within the
   manifest, tools within the tool reach, a declared audience and delegation subject, and the
   ``maxConcurrentCredentials`` cap (counted inside the write transaction).

Every check and the insert run in one write transaction (``BEGIN IMMEDIATE`` on SQLite), so an
agent disabled by another process cannot receive a credential after its disable committed, and
the concurrency cap cannot be overshot by racing issuers. Every issue, revoke and denial
(issue, verify, authorize) appends its audit event in the same transaction as the state change.

Revocation is online (``verify`` / ``authorize`` read the store) and offline (the signed Token
Status List from ``status_list_token``, checked by ``verify_offline`` with only the JWKS).

The modules, one job each (``CredentialService`` in ``service`` is the facade over them):

* ``records``: stored credentials, results and errors;
* ``checks``: what callers pass in (task ids, scopes, reasons);
* ``context``: the state every operation shares; ``keycache``: the signing key and JWKS;
* ``issue``: resolve, decide and mint; ``verify``: online verify/authorize, offline checks;
* ``revoke``: revoke, task lifecycle, rebind; ``statuslist``: status indexes and the signed list.
"""

from __future__ import annotations

from nhictl.core.credentials.records import (
    AuthorizeResult,
    CredentialError,
    CredentialRecord,
    IssuedCredential,
    IssueDenied,
    RevokeResult,
    VerifyResult,
)
from nhictl.core.credentials.service import CredentialService
from nhictl.core.credentials.statuslist import (
    DEFAULT_STATUS_LIST_LIFETIME,
    DEFAULT_STATUS_LIST_TTL,
    STATUS_LIST_HEADROOM,
)
from nhictl.core.credentials.verify import verify_token_offline
from nhictl.core.revocation import (
    STATUS_ACTIVE,
    STATUS_EXPIRED,
    STATUS_REVOKED,
    revoke_agent_credentials,
)
from nhictl.core.tokens import TokenError, verify_offline

__all__ = [
    "DEFAULT_STATUS_LIST_LIFETIME",
    "DEFAULT_STATUS_LIST_TTL",
    "STATUS_ACTIVE",
    "STATUS_EXPIRED",
    "STATUS_LIST_HEADROOM",
    "STATUS_REVOKED",
    "AuthorizeResult",
    "CredentialError",
    "CredentialRecord",
    "CredentialService",
    "IssueDenied",
    "IssuedCredential",
    "RevokeResult",
    "TokenError",
    "VerifyResult",
    "revoke_agent_credentials",
    "verify_offline",
    "verify_token_offline",
]
