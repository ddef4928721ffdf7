"""Test helpers that build JWTs by hand, including deliberately broken or hostile ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    header: dict[str, Any] | str,
    claims: dict[str, Any] | str,
    key: Any = None,
    *,
    hmac_secret: bytes | None = None,
) -> str:
    """Compact JWS from a header/claims (dict, or raw JSON text to allow duplicate members).

    ``key`` signs with the header's asymmetric alg through PyJWT's algorithm object;
    ``hmac_secret`` signs HS256 by hand (PyJWT itself refuses PEM-looking HMAC secrets);
    with neither the signature is empty-ish garbage.
    """
    h = header if isinstance(header, str) else json.dumps(header)
    c = claims if isinstance(claims, str) else json.dumps(claims)
    signing_input = f"{b64(h.encode())}.{b64(c.encode())}".encode()
    if hmac_secret is not None:
        sig = hmac.new(hmac_secret, signing_input, hashlib.sha256).digest()
    elif key is not None:
        alg = json.loads(h)["alg"]
        algo = jwt.get_algorithm_by_name(alg)
        sig = algo.sign(signing_input, key)
    else:
        sig = b"\x00" * 32
    return f"{signing_input.decode()}.{b64(sig)}"


def replace_payload(token: str, claims: dict[str, Any]) -> str:
    """Swap the payload segment and keep header and signature."""
    h, _, s = token.split(".")
    return f"{h}.{b64(json.dumps(claims).encode())}.{s}"
