"""``nhictl verify --offline``: a resource server with only the published JWKS and status list.

Every verifier call runs with NHICTL_HOME pointing at an empty folder (nothing initialised):
offline verification must never read, or create, a store.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from nhictl.core.credentials import CredentialService
from nhictl.core.keys import KeyStore
from nhictl.core.tokens import build_status_list, sign_status_list
from tests.conftest import SAMPLES, CliResult, CliRunner
from tests.credentials.support import INVOICE, SUPPORT, SUPPORT_ID, Clock

VERIFY_JSON_KEYS = ["valid", "reason", "jti", "agent", "task", "scopes", "expires_at"]


class Verifier:
    """Runs ``verify --offline`` from an empty NHICTL_HOME, then switches back."""

    def __init__(
        self, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, registry_home: Path, tmp: Path
    ) -> None:
        self.cli, self.monkeypatch, self.registry_home = cli, monkeypatch, registry_home
        self.empty = tmp / "resource-server"
        self.empty.mkdir()
        self.jwks = tmp / "jwks.json"
        self.status = tmp / "status.jwt"

    def publish(self, status: Path | None = None) -> Path:
        """What the registry publishes: its JWKS and a fresh status list."""
        jwks = self.cli("keys", "jwks")
        assert jwks.code == 0, jwks.stderr
        self.jwks.write_text(jwks.stdout)
        status = status or self.status
        published = self.cli("status-list", "publish", "--out", str(status))
        assert published.code == 0, published.stderr
        return status

    def verify(
        self, token: str, *extra: str, status: Path | None = None, stdin: bytes | None = None
    ) -> CliResult:
        self.monkeypatch.setenv("NHICTL_HOME", str(self.empty))
        try:
            args = ("--jwks", str(self.jwks), "--status-list", str(status or self.status))
            return self.cli("verify", "--offline", *args, token, *extra, stdin=stdin)
        finally:
            self.monkeypatch.setenv("NHICTL_HOME", str(self.registry_home))
            assert list(self.empty.iterdir()) == []  # no store, no key, no cache created


def _tamper(token: str) -> str:
    """The token with one more scope in its payload: the signature no longer matches."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] += " invoices:delete"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_offline_verify_end_to_end(
    cli: CliRunner, isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The registry: init, register an agent with a (demo) SPIFFE identity, issue a credential.
    assert cli("init").code == 0
    bundle = cli("demo", "idp-bundle", "--trust-domain", "prod.example.com").stdout.strip()
    svid = tmp_path / "summarizer.svid"
    svid.write_text(cli("demo", "svid", SUPPORT_ID).stdout)
    manifest = SAMPLES / "agents" / "support-summarizer.yaml"
    registered = cli(
        "register", str(manifest), "--identity-token", str(svid), "--trust-bundle", bundle
    )
    assert registered.code == 0, registered.stderr
    token_file = tmp_path / "s-1.jwt"
    issue = ("issue", SUPPORT, "--task", "S-1", "--intent", "summarize-ticket", "--env", "dev")
    issued = cli(*issue, "--out", str(token_file))
    assert issued.code == 0, issued.stderr
    token = token_file.read_text().strip()
    server = Verifier(cli, monkeypatch, isolated_env, tmp_path)
    server.publish()

    # The resource server: valid, in each output format, the token from a file or stdin.
    ok = server.verify(str(token_file), "-f", "json")
    assert ok.code == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert list(doc) == VERIFY_JSON_KEYS
    assert (doc["valid"], doc["reason"], doc["agent"], doc["task"]) == (True, None, SUPPORT, "S-1")
    assert doc["scopes"] == ["tickets:read"] and doc["expires_at"].endswith("Z")
    online = json.loads(cli("verify", str(token_file), "-f", "json").stdout)
    assert doc == online  # the same facts as the store's
    line = server.verify("-", stdin=token.encode() + b"\n")
    assert line.code == 0
    assert line.stdout == (
        f"valid: {doc['jti']} agent={SUPPORT} task=S-1 scopes=tickets:read "
        f"expires_at={doc['expires_at']}\n"
    )
    yaml_out = server.verify(str(token_file), "-f", "yaml")
    assert yaml_out.code == 0 and f"jti: {doc['jti']}" in yaml_out.stdout
    assert token not in ok.stderr + line.stderr

    # Revoked, and the list re-published: invalid offline too.
    assert cli("revoke", "--task", "S-1", "--reason", "leaked").code == 0
    stale = server.verify(str(token_file))
    assert stale.code == 0  # the old list cannot know (documented staleness)
    fresh = server.publish(tmp_path / "status-2.jwt")
    revoked = server.verify(str(token_file), "-f", "json", status=fresh)
    assert revoked.code == 1
    revoked_doc = json.loads(revoked.stdout)
    assert (revoked_doc["valid"], revoked_doc["reason"]) == (False, "revoked")
    assert revoked_doc["jti"] == doc["jti"]  # which credential it was, from its claims
    assert "revoked" in revoked.stderr
    assert server.verify(str(token_file), status=fresh).stdout == "invalid: revoked\n"

    # A tampered token: invalid, whatever the status list says.
    forged = server.verify(_tamper(token), "-f", "json", status=fresh)
    assert forged.code == 1 and json.loads(forged.stdout)["reason"] == "bad-signature"
    assert json.loads(forged.stdout)["jti"] is None


@pytest.fixture
def server(cli: CliRunner, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Verifier:
    verifier = Verifier(cli, monkeypatch, home, tmp_path)
    return verifier


def _issue(cli: CliRunner, tmp_path: Path, task: str = "INV-42") -> Path:
    out = tmp_path / f"{task}.jwt"
    result = cli(
        "issue", INVOICE, "--task", task, "--intent", "reconcile-invoices", "--out", str(out)
    )
    assert result.code == 0, result.stderr
    return out


def test_claims_are_checked_offline(cli: CliRunner, server: Verifier, tmp_path: Path) -> None:
    token = _issue(cli, tmp_path)
    server.publish()
    assert server.verify(str(token), "--task", "INV-42").code == 0
    cases = {
        ("--task", "OTHER"): "task-mismatch",
        ("--audience", "https://other.example"): "wrong-audience",
        ("--issuer", "urn:someone-else"): "wrong-issuer",
    }
    for extra, reason in cases.items():
        result = server.verify(str(token), *extra, "-f", "json")
        assert result.code == 1, extra
        assert json.loads(result.stdout)["reason"] == reason


def test_settings_still_apply_offline(
    cli: CliRunner, server: Verifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _issue(cli, tmp_path)
    server.publish()
    monkeypatch.setenv("NHICTL_TOKEN_AUDIENCE", "urn:another-api")
    result = server.verify(str(token), "-f", "json")
    assert result.code == 1 and json.loads(result.stdout)["reason"] == "wrong-audience"


def test_an_expired_status_list_is_refused(
    cli: CliRunner, server: Verifier, tmp_path: Path, service: CredentialService, clock: Clock
) -> None:
    token = _issue(cli, tmp_path)
    server.publish()
    clock.advance(hours=-2)  # a list published two hours ago, for 15 minutes
    server.status.write_text(service.status_list_token() + "\n")
    result = server.verify(str(token), "-f", "json")
    assert result.code == 1
    assert json.loads(result.stdout)["reason"] == "status-list-invalid"
    assert "the status list has expired" in result.stderr


def test_a_status_list_signed_by_another_key_is_refused(
    cli: CliRunner, server: Verifier, tmp_path: Path
) -> None:
    token = _issue(cli, tmp_path)
    server.publish()
    other = KeyStore(tmp_path / "other-keys")
    other.create("EdDSA")
    forged = sign_status_list(
        other.current(),
        build_status_list({}, size=8192),
        uri="urn:nhictl:status-list:1",
        issuer="urn:nhictl:registry",
    )
    server.status.write_text(forged)
    result = server.verify(str(token), "-f", "json")
    assert result.code == 1
    assert json.loads(result.stdout)["reason"] == "status-list-invalid"
    assert "signed by a key that is not in" in result.stderr and str(server.jwks) in result.stderr


def test_a_status_list_for_another_uri_is_refused(
    cli: CliRunner, server: Verifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _issue(cli, tmp_path)
    monkeypatch.setenv("NHICTL_STATUS_LIST_URI", "urn:nhictl:status-list:2")
    server.publish()  # a genuine list of ours, but not the one the token names
    monkeypatch.delenv("NHICTL_STATUS_LIST_URI")
    result = server.verify(str(token), "-f", "json")
    assert result.code == 1
    assert json.loads(result.stdout)["reason"] == "status-list-mismatch"
    assert "'urn:nhictl:status-list:2'" in result.stderr
    assert "'urn:nhictl:status-list:1'" in result.stderr


def test_unreadable_or_malformed_files_are_input_errors(
    cli: CliRunner, server: Verifier, tmp_path: Path
) -> None:
    token = str(_issue(cli, tmp_path))
    server.publish()
    good_jwks, good_status = server.jwks.read_bytes(), server.status.read_bytes()
    bad = {
        "jwks": [
            (None, "cannot read the JWKS: No such file"),
            (b"{not json", "the JWKS is not valid JSON"),
            (b'{"kty": "OKP"}', "not a JWKS (no 'keys' list)"),
            (b'{"keys": []}', "the JWKS holds no signing keys"),
            (b"", "the JWKS file is empty"),
        ],
        "status": [
            (None, "cannot read the status list: No such file"),
            (good_jwks, "not a status list token"),
            (b"\xff\xfe", "not a status list token"),
            (b"\n", "the status list file is empty"),
        ],
    }
    for which, cases in bad.items():
        target = server.jwks if which == "jwks" else server.status
        for content, text in cases:
            if content is None:
                target.unlink()
            else:
                target.write_bytes(content)
            result = server.verify(token)
            assert result.code == 2, (which, content, result.stderr)
            assert text in result.stderr and str(target) in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
        target.write_bytes(good_jwks if which == "jwks" else good_status)
    assert server.verify(token).code == 0


def test_offline_flags_go_together(cli: CliRunner, server: Verifier, tmp_path: Path) -> None:
    token = str(_issue(cli, tmp_path))
    server.publish()
    alone = cli("verify", "--offline", token)
    assert alone.code == 2 and "--offline needs --jwks FILE and --status-list FILE" in alone.stderr
    assert cli("verify", "--offline", "--jwks", str(server.jwks), token).code == 2
    online = cli("verify", "--jwks", str(server.jwks), "--status-list", str(server.status), token)
    assert online.code == 2 and "--jwks and --status-list need --offline" in online.stderr
    issuer = cli("verify", "--issuer", "urn:x", token)
    assert issuer.code == 2 and "--issuer needs --offline" in issuer.stderr
    two = cli("verify", "--offline", "--jwks", "-", "--status-list", str(server.status), "-")
    assert two.code == 2 and "can be - (stdin)" in two.stderr


def test_jwks_from_stdin(cli: CliRunner, server: Verifier, tmp_path: Path, home: Path) -> None:
    token = str(_issue(cli, tmp_path))
    server.publish()
    jwks = server.jwks.read_bytes()
    result = cli(
        "verify", "--offline", "--jwks", "-", "--status-list", str(server.status), token,
        stdin=jwks,
    )  # fmt: skip
    assert result.code == 0, result.stderr
