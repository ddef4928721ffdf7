"""Unsafe or unusable ``nhictl serve`` configurations are refused at start: one line, exit 2."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from nhictl.core.identity.demo_idp import DemoSpiffeIdp
from tests.conftest import CliRunner
from tests.providers.tlsca import make_ca


def test_no_tls_on_a_public_address(cli: CliRunner) -> None:
    result = cli("serve", "--host", "0.0.0.0", "--insecure-http")
    assert result.code == 2 and "only allowed on a loopback address" in result.stderr


def test_tls_required_without_insecure_http(cli: CliRunner) -> None:
    result = cli("serve")
    assert result.code == 2 and "TLS is required" in result.stderr


def test_key_readable_by_others(cli: CliRunner, tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    ca.key_pem.chmod(0o644)
    result = cli("serve", "--tls-cert", str(ca.cert_pem), "--tls-key", str(ca.key_pem))
    assert result.code == 2 and "readable by group/others" in result.stderr


def test_missing_cert(cli: CliRunner, tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    ca.key_pem.chmod(0o600)
    result = cli("serve", "--tls-cert", str(tmp_path / "nope.pem"), "--tls-key", str(ca.key_pem))
    assert result.code == 2 and "missing or unreadable" in result.stderr


def test_uninitialised_store(cli: CliRunner, tmp_path: Path) -> None:
    ca = make_ca(tmp_path)
    ca.key_pem.chmod(0o600)
    result = cli("serve", "--tls-cert", str(ca.cert_pem), "--tls-key", str(ca.key_pem))
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "init" in result.stderr


def test_a_rate_limit_of_zero(cli: CliRunner) -> None:
    for flag in ("--rate-per-address", "--rate-per-identity"):
        result = cli("serve", "--insecure-http", flag, "0")
        assert result.code == 2 and "Traceback" not in result.stderr
        assert flag in result.stderr and "1" in result.stderr


def test_no_writable_folder_for_the_workers(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init").code == 0
    idp = DemoSpiffeIdp(tmp_path / "idp", "example.org")
    monkeypatch.setenv("NHICTL_TRUST_BUNDLE", str(idp.bundle_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    result = cli("serve", "--insecure-http", "--port", "1")
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "cannot create the workers' shared folder" in result.stderr
    assert str(tmp_path / "missing") in result.stderr and "TMPDIR" in result.stderr
