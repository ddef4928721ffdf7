"""``init --key-alg`` on an existing store, and ``policy validate`` on a path it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CliRunner


def test_init_with_another_alg_keeps_the_key_and_says_how_to_rotate(cli: CliRunner) -> None:
    first = cli("init")
    assert first.code == 0 and "EdDSA (created)" in first.stderr
    again = cli("init", "--key-alg", "ES256")
    assert again.code == 0
    assert "EdDSA (already there)" in again.stderr
    assert (
        "kept the existing EdDSA signing key: --key-alg ES256 only applies when init creates a "
        "key; to switch, run `nhictl keys rotate --alg ES256`"
    ) in again.stderr
    keys = json.loads(cli("keys", "list", "-f", "json").stdout)
    assert [k["alg"] for k in keys] == ["EdDSA"]
    for same in (("init",), ("init", "--key-alg", "EdDSA")):
        assert "kept the existing" not in cli(*same).stderr
    assert cli("init", "--key-alg", "RS256").code == 2


def test_init_es256_on_a_new_store_creates_an_es256_key(cli: CliRunner) -> None:
    result = cli("init", "--key-alg", "ES256")
    assert result.code == 0 and "ES256 (created)" in result.stderr
    assert "kept the existing" not in result.stderr


def test_policy_validate_missing_or_unreadable_is_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    missing = cli("policy", "validate", "nope.cedar")
    assert missing.code == 2
    assert missing.stderr == "nhictl: error: nope.cedar: no such file or directory\n"
    assert missing.stdout == ""
    binary = tmp_path / "bin.cedar"
    binary.write_bytes(b"\xff\xfe permit")
    unreadable = cli("policy", "validate", str(binary))
    assert unreadable.code == 2
    assert unreadable.stderr.startswith(f"nhictl: error: {binary}: cannot read policy file")
    broken = tmp_path / "broken.cedar"
    broken.write_text('@id("x")\npermit (principal, action, resource')
    assert cli("policy", "validate", str(broken)).code == 1  # invalid policy: still 1
