"""``nhictl.core.redact``: which shapes count as secrets, and what ``redact`` leaves alone."""

from __future__ import annotations

import base64
import secrets

import pytest

from nhictl.core.errors import InputError
from nhictl.core.redact import REDACTED, looks_like_secret, redact, reject_secret

JWT = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiJ1cm46bmhpY3RsIiwic3ViIjoieCJ9."
    "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtc2lnbmF0dXJl"
)
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIGZha2Uta2V5LWZvci10ZXN0cw==\n"
    "-----END PRIVATE KEY-----"
)

SECRETS = {
    "jws": JWT,
    "unsecured jws": JWT.rsplit(".", 1)[0] + ".",
    "jwe": "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYtaXYtaXY.Y2lwaGVydGV4dA.dGFnLXRhZw",
    "cut-off jws": JWT[:30],
    "pem": PEM,
    "pem header only": "-----BEGIN RSA PRIVATE KEY-----",
    "aws access key id": "AKIAIOSFODNN7EXAMPLE",
    "aws session key id": "ASIAY34FZKBOKMUTVV7A",
    "aws secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github token": "ghp_" + "x1Y2z3A4b5C6d7E8f9G0h1I2j3K4l5M6n7O8",
    "random base64url": "Zq3xT9mK2pL8vN4bR7wY1cF6hJ0sD5gA",
    "random base64": base64.b64encode(bytes(range(7, 37))).decode(),
}

NOT_SECRETS = {
    "agent name": "invoice-reconciler",
    "task id": "INV-42",
    "jti": "NL7gjo_dt3OxMjbf_c8P3Q",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "sha256 hex": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "camel case name": "InvoiceReconcilerProductionAgent2024",
    "long ticket id": "JIRA-PROJ-12345-FixTheThing2024Rollout",
    "path": "/home/Alice/Projects/nhictl2/sampleconfig/agents/x.yaml",
    "spiffe id": "spiffe://prod.example.com/ns/finance/sa/invoice-reconciler",
    "role arn": "arn:aws:iam::123456789012:role/agents/InvoiceReconcilerRole2024",
    "message": "no agent named 'x' is registered; did you mean 'y'?",
}


@pytest.mark.parametrize("value", SECRETS.values(), ids=SECRETS.keys())
def test_secret_shapes_are_recognised_and_redacted(value: str) -> None:
    assert looks_like_secret(value)
    assert looks_like_secret(f"Bearer {value} (from the clipboard)")
    scrubbed = redact(f"cannot use {value!r} here")
    assert REDACTED in scrubbed
    for line in value.splitlines():
        assert line[:20] not in scrubbed


@pytest.mark.parametrize("value", NOT_SECRETS.values(), ids=NOT_SECRETS.keys())
def test_identifiers_are_left_alone(value: str) -> None:
    assert not looks_like_secret(value)
    assert redact(f"about {value}: done") == f"about {value}: done"


def test_random_tokens_are_caught_almost_always() -> None:
    """A heuristic, measured: at most a few in a thousand random 43-character secrets slip."""
    missed = sum(not looks_like_secret(secrets.token_urlsafe(32)) for _ in range(2000))
    assert missed <= 30


def test_reject_secret_never_shows_the_value() -> None:
    reject_secret("invoice-reconciler", "agent name", expected="pass a name")
    with pytest.raises(InputError) as info:
        reject_secret(JWT, "agent name", expected="pass a name")
    assert "looks like a token or key (not shown)" in info.value.message
    assert JWT[:20] not in info.value.message
