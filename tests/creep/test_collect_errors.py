"""``collect aws`` / ``audit-creep --live`` without credentials or without a reachable endpoint:
one error line with a hint, exit 2, no botocore exception name, no traceback.

Nothing here can reach a cloud: every AWS_* variable is cleared, the config and credentials
files point at nothing, instance metadata is disabled (and would fail the test if asked), and
the only endpoint used is a closed port on loopback.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.conftest import CliRunner

pytest.importorskip("boto3")


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import botocore.utils  # type: ignore[import-untyped]

    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def no_imds(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("instance metadata must not be asked")

    monkeypatch.setattr(botocore.utils.InstanceMetadataFetcher, "_get_request", no_imds)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


COMMANDS = (("collect", "aws", "-o", "snapshot.json"), ("audit-creep", "--live"))


def test_no_credentials_is_one_line_with_a_hint(
    cli: CliRunner, no_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in COMMANDS:
        result = cli(*args)
        assert result.code == 2, args
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines[0].startswith("nhictl: error: no AWS credentials found"), lines
        assert lines[1].startswith("hint: set AWS_PROFILE or pass --profile"), lines
        assert len(lines) == 2
        assert "NoCredentialsError" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "snapshot.json").exists()


def test_unknown_profile_names_it(cli: CliRunner, no_aws: None, tmp_path: Path) -> None:
    result = cli("collect", "aws", "--profile", "audit", "-o", str(tmp_path / "s.json"))
    assert result.code == 2
    assert result.stderr.startswith("nhictl: error: AWS session: The config profile (audit)")
    assert "Traceback" not in result.stderr


def test_unreachable_endpoint_is_one_line_exit_2(
    cli: CliRunner, no_aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.chdir(tmp_path)
    for args in COMMANDS:
        result = cli(*args)
        assert result.code == 2, args
        lines = result.stderr.splitlines()
        assert lines[0].startswith("nhictl: error: GetCallerIdentity: cannot reach AWS: "), lines
        assert f"127.0.0.1:{port}" in lines[0]
        assert lines[1].startswith("hint: check the network"), lines
        assert len(lines) == 2
        assert "AKIAIOSFODNN7EXAMPLE" not in result.stderr
