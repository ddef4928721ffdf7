"""The registry commands end to end: init, register, agents, log, keys, policy, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliRunner
from tests.registry_fixtures import INVOICE, SUMMARIZER, Home, load_manifest
from tests.registry_fixtures import home as home


@pytest.fixture
def tokens(home: Home, tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, path in (("invoice", INVOICE), ("summarizer", SUMMARIZER)):
        file = tmp_path / f"{name}.jwt"
        file.write_text(home.svid(load_manifest(path)))
        out[name] = file
    return out


def register(cli: CliRunner, home: Home, manifest: Path, token: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    result = cli(
        "register",
        str(manifest),
        "--identity-token",
        str(token),
        "--trust-bundle",
        str(home.bundle),
        "-f",
        "json",
        *extra,
    )
    data: dict = json.loads(result.stdout)  # type: ignore[type-arg]
    data["_code"] = result.code
    return data


def test_register_approve_and_list(cli: CliRunner, home: Home, tokens: dict[str, Path]) -> None:
    first = register(cli, home, INVOICE, tokens["invoice"])
    assert (first["_code"], first["outcome"], first["revision"]) == (0, "pending-approval", 1)
    assert set(first) - {"_code"} == {
        "agent",
        "outcome",
        "status",
        "revision",
        "previous_revision",
        "changes",
        "reasons",
        "policy_ids",
        "identity",
        "dry_run",
    }
    assert "token" not in json.dumps(first["identity"]).lower() or first["identity"]["token_sha256"]
    denied = cli("agents", "approve", "invoice-reconciler", "--by", "alice@example.com")
    assert denied.code == 1 and "own sponsor cannot approve" in denied.stderr
    assert cli("agents", "approve", "invoice-reconciler", "--by", "sec@example.com").code == 0
    listed = json.loads(cli("agents", "list", "-f", "json").stdout)
    assert [(a["name"], a["status"]) for a in listed] == [("invoice-reconciler", "active")]
    shown = json.loads(cli("agents", "show", "invoice-reconciler", "-f", "json").stdout)
    assert shown["agent"]["approved_by"] == "sec@example.com"
    assert shown["revision"]["manifest"]["metadata"]["name"] == "invoice-reconciler"
    table = cli("agents", "list")
    assert "invoice-reconciler" in table.stdout and "active" in table.stdout


def test_register_outcomes_and_exit_codes(
    cli: CliRunner, home: Home, tokens: dict[str, Path], tmp_path: Path
) -> None:
    assert register(cli, home, SUMMARIZER, tokens["summarizer"], "--dry-run")["dry_run"] is True
    assert json.loads(cli("agents", "list", "-f", "json").stdout) == []
    assert register(cli, home, SUMMARIZER, tokens["summarizer"])["outcome"] == "active"
    assert register(cli, home, SUMMARIZER, tokens["summarizer"])["outcome"] == "unchanged"
    # A token for another agent is a denial (exit 1).
    wrong = register(cli, home, SUMMARIZER, tokens["invoice"])
    assert wrong["_code"] == 1 and wrong["outcome"] == "denied"
    # A manifest that fails validation: exit 1, errors with positions on stderr.
    broken = tmp_path / "broken.yaml"
    broken.write_text(SUMMARIZER.read_text().replace("maxTtl: 10m", "maxTtl: 3h"))
    result = cli(
        "register",
        str(broken),
        "--identity-token",
        str(tokens["summarizer"]),
        "--trust-bundle",
        str(home.bundle),
    )
    assert result.code == 1
    assert f"{broken}:" in result.stderr and "[ttl-ceiling]" in result.stderr
    events = json.loads(cli("log", "list", "-f", "json", "--action", "agent").stdout)
    assert [e["outcome"] for e in events] == ["active", "denied", "denied"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--identity-token", "/nope/token"], "cannot read the identity token"),
        (["--identity-token", "-"], "identity token is empty"),
        (["--identity-token", "TOKEN", "--trust-bundle", "/nope/bundle.json"], "bundle"),
        (["--identity-token", "TOKEN", "--trust-bundle", "NOTJSON"], "JSON"),
    ],
)
def test_register_input_errors_exit_2(
    cli: CliRunner,
    home: Home,
    tokens: dict[str, Path],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    not_json = tmp_path / "bundle.txt"
    not_json.write_text("this is not json")
    args = [
        str(tokens["summarizer"]) if a == "TOKEN" else str(not_json) if a == "NOTJSON" else a
        for a in args
    ]
    if "--trust-bundle" not in args:
        args += ["--trust-bundle", str(home.bundle)]
    result = cli("register", str(SUMMARIZER), *args, stdin=b"")
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    token_text = tokens["summarizer"].read_text()
    assert token_text not in result.stderr + result.stdout


def test_no_trust_configured(cli: CliRunner, home: Home, tokens: dict[str, Path]) -> None:
    result = cli("register", str(SUMMARIZER), "--identity-token", str(tokens["summarizer"]))
    assert result.code == 2 and "no trust configured" in result.stderr


def test_trust_from_settings(
    cli: CliRunner, home: Home, tokens: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NHICTL_TRUST_DOMAINS", f"prod.example.com={home.bundle}")
    result = cli("register", str(SUMMARIZER), "--identity-token", str(tokens["summarizer"]))
    assert result.code == 0, result.stderr


def test_not_initialised_says_so(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("agents", "list")
    assert result.code == 2
    assert "not" in result.stderr and "nhictl init" in result.stderr


def test_disable_enable_and_log(
    cli: CliRunner, home: Home, tokens: dict[str, Path], tmp_path: Path
) -> None:
    register(cli, home, SUMMARIZER, tokens["summarizer"])
    assert cli("agents", "disable", "support-summarizer", "--reason", "incident 7").code == 0
    assert json.loads(cli("agents", "list", "-f", "json").stdout)[0]["status"] == "disabled"
    assert cli("agents", "enable", "support-summarizer").code == 0
    assert cli("agents", "enable", "support-summarizer").code == 1
    ghost = cli("agents", "show", "ghost")  # an unknown name is an input error
    assert ghost.code == 2 and "no agent named 'ghost'" in ghost.stderr
    export = tmp_path / "audit.jsonl"
    assert cli("log", "export", "-o", str(export)).code == 0
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    assert [e["action"] for e in lines] == [
        "registry.init",
        "agent.register",
        "agent.disable",
        "agent.enable",
    ]
    assert lines[2]["details"]["reason"] == "incident 7"
    assert lines[2]["prev_hash"] == lines[1]["hash"]
    verified = cli("log", "verify")
    assert verified.code == 0 and "intact: 4 event(s)" in verified.stderr


def test_log_verify_names_the_edited_event(
    cli: CliRunner, home: Home, tokens: dict[str, Path]
) -> None:
    from tests.test_registry import tamper

    register(cli, home, SUMMARIZER, tokens["summarizer"])
    cli("agents", "disable", "support-summarizer", "--reason", "x")
    tamper("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 1")
    result = cli("log", "verify")
    assert result.code == 1
    assert "event 1: content does not match its hash (edited)" in result.stdout


def test_keys_commands(cli: CliRunner, home: Home) -> None:
    before = json.loads(cli("keys", "list", "-f", "json").stdout)
    assert [k["status"] for k in before] == ["current"]
    assert cli("keys", "rotate", "--alg", "ES256").code == 0
    rotated = json.loads(cli("log", "list", "--action", "key.rotate", "-f", "json").stdout)
    assert len(rotated) == 1 and rotated[0]["details"]["alg"] == "ES256"
    after = json.loads(cli("keys", "list", "-f", "json").stdout)
    assert sorted(k["status"] for k in after) == ["current", "retired"]
    jwks = json.loads(cli("keys", "jwks").stdout)
    assert len(jwks["keys"]) == 2
    assert all("d" not in key for key in jwks["keys"])  # public members only
    assert cli("keys", "rotate", "--alg", "HS256").code == 2


def test_policy_validate(cli: CliRunner, home: Home, tmp_path: Path) -> None:
    assert cli("policy", "validate").code == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.cedar").write_text(
        '@id("x")\npermit (principal, action == Action::"fly", resource);\n'
    )
    result = cli("policy", "validate", str(bad), "-f", "json")
    assert result.code == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems and problems[0]["file"].endswith("x.cedar")


def test_demo_idp_commands(cli: CliRunner, home: Home) -> None:
    bundle = cli("demo", "idp-bundle", "--trust-domain", "demo.example.com")
    assert bundle.code == 0 and Path(bundle.stdout.strip()).is_file()
    token = cli("demo", "svid", "spiffe://demo.example.com/agent")
    assert token.code == 0 and token.stdout.count(".") == 2
    assert cli("demo", "svid", "not-a-spiffe-id").code == 2


def test_concurrent_registrations_lose_nothing(home: Home, tmp_path: Path) -> None:
    """Four processes register the same agent at once: two identical, two changed."""
    manifests = []
    base = SUMMARIZER.read_text()
    for i, ttl in enumerate(["10m", "10m", "9m", "8m"]):
        path = tmp_path / f"m{i}.yaml"
        path.write_text(base.replace("maxTtl: 10m", f"maxTtl: {ttl}"))
        manifests.append(path)
    token = tmp_path / "t.jwt"
    token.write_text(home.svid(load_manifest(SUMMARIZER)))
    env = {**os.environ, "NHICTL_HOME": str(home.runtime.data_dir)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nhictl",
                "register",
                str(m),
                "--identity-token",
                str(token),
                "--trust-bundle",
                str(home.bundle),
                "-f",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for m in manifests
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err
        results.append(json.loads(out))
    revisions = sorted(r["revision"] for r in results if r["outcome"] != "unchanged")
    stored = home.runtime.registry.revisions("support-summarizer")
    assert [r.revision for r in stored] == list(range(1, len(stored) + 1))
    assert revisions == [r.revision for r in stored]
    # Every distinct manifest that was new when it ran became exactly one revision.
    assert {r.manifest["spec"]["credentials"]["maxTtl"] for r in stored} == {"10m", "9m", "8m"}
    from nhictl.core import auditlog

    with home.runtime.store.read() as tx:
        assert auditlog.verify(tx).ok


def test_oidc_registration_through_configured_discovery(
    cli: CliRunner, home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OIDC agent (GitHub Actions style) whose issuer's JWKS comes from discovery on loopback."""
    import datetime as dt

    from cryptography.hazmat.primitives.asymmetric import ec

    from nhictl.core.keys import jwk_thumbprint, public_jwk
    from tests.jwt_forge import forge
    from tests.test_identity_discovery import Server

    server = Server()
    try:
        issuer = server.base
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = public_jwk(key.public_key())
        kid = jwk_thumbprint(jwk)
        server.json(
            "/.well-known/openid-configuration", {"issuer": issuer, "jwks_uri": f"{issuer}/jwks"}
        )
        server.json("/jwks", {"keys": [{**jwk, "kid": kid, "use": "sig"}]})
        manifest = tmp_path / "deployer.yaml"
        manifest.write_text(
            (ROOT / "sample-configs/agents/payments-deployer.yaml")
            .read_text()
            .replace("https://token.actions.githubusercontent.com", issuer)
        )
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "iss": issuer,
            "sub": "repo:acme/payments:ref:refs/heads/main",
            "aud": "nhictl",
            "iat": now,
            "exp": now + 300,
            "repository_id": "700123456",
            "job_workflow_ref": "acme/payments/.github/workflows/deploy.yml@refs/heads/main",
        }
        token = tmp_path / "oidc.jwt"
        token.write_text(forge({"alg": "ES256", "kid": kid, "typ": "JWT"}, claims, key))
        # Not configured: the issuer is never contacted, the registration is refused.
        monkeypatch.setenv("NHICTL_TRUST_BUNDLE", str(home.bundle))
        refused = cli("register", str(manifest), "--identity-token", str(token), "-f", "json")
        assert refused.code == 1 and server.hits == {}
        monkeypatch.setenv("NHICTL_OIDC_DISCOVERY", issuer)
        result = cli("register", str(manifest), "--identity-token", str(token), "-f", "json")
        assert result.code == 0, result.stdout + result.stderr
        data = json.loads(result.stdout)
        assert (data["outcome"], data["identity"]["issuer"]) == ("active", issuer)
        # A bound claim that does not match is a denial.
        claims["repository_id"] = "999"
        token.write_text(forge({"alg": "ES256", "kid": kid, "typ": "JWT"}, claims, key))
        changed = manifest.read_text().replace("tier: ci", "tier: cd")
        manifest.write_text(changed)
        denied = cli("register", str(manifest), "--identity-token", str(token), "-f", "json")
        assert denied.code == 1 and "repository_id" in json.loads(denied.stdout)["reasons"][0]
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def test_register_reads_the_manifest_from_stdin(
    cli: CliRunner, home: Home, tokens: dict[str, Path]
) -> None:
    args = ["register", "-", "--identity-token", str(tokens["summarizer"])]
    args += ["--trust-bundle", str(home.bundle), "-f", "json"]
    result = cli(*args, stdin=SUMMARIZER.read_bytes())
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["outcome"] == "active"
    both = cli("register", "-", "--identity-token", "-", stdin=SUMMARIZER.read_bytes())
    assert both.code == 2
    assert "only one input can be read from stdin, but MANIFEST and --identity-token" in (
        both.stderr
    )
