from __future__ import annotations

from pathlib import Path

import pytest

from nhictl.core.errors import ConfigError
from nhictl.core.settings import Paths, load_settings


def test_defaults(isolated_env: Path) -> None:
    settings = load_settings()
    assert settings.ttl_ceiling_seconds == 3600
    assert settings.max_file_size == 1024 * 1024
    assert settings.sources["ttl_ceiling"] == "default"
    assert settings.paths == Paths(isolated_env, isolated_env)


def test_precedence_flag_env_file_default(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / "config.toml").write_text('ttl_ceiling = "20m"\nmax_file_size = "2MiB"\n')
    settings = load_settings()
    assert settings.ttl_ceiling_seconds == 1200
    assert settings.sources["ttl_ceiling"].startswith("file ")
    assert settings.max_file_size == 2 * 1024 * 1024
    monkeypatch.setenv("NHICTL_TTL_CEILING", "30m")
    settings = load_settings()
    assert settings.ttl_ceiling_seconds == 1800
    assert settings.sources["ttl_ceiling"] == "env NHICTL_TTL_CEILING"
    settings = load_settings({"ttl_ceiling": 60})
    assert settings.ttl_ceiling_seconds == 60
    assert settings.sources["ttl_ceiling"] == "flag"


def test_xdg_dirs_without_nhictl_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NHICTL_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    paths = Paths.resolve()
    assert paths.config_file == tmp_path / "cfg" / "nhictl" / "config.toml"
    assert paths.data_dir == tmp_path / "data" / "nhictl"


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("ttl_ceiling = ", "invalid TOML"),
        ('ttl_celing = "1h"', "unknown setting"),
        ('ttl_ceiling = "forever"', "invalid duration"),
        ('color = "sometimes"', "not one of"),
        ("ttl_ceiling = 1.5", "expected a string"),
        ("[oidc_issuers]\n'https://x' = 1", "table values must be strings"),
    ],
)
def test_bad_config_file(isolated_env: Path, content: str, match: str) -> None:
    (isolated_env / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=match) as info:
        load_settings()
    assert "config.toml" in str(info.value)


def test_bad_env_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NHICTL_MAX_FILE_SIZE", "huge")
    with pytest.raises(ConfigError, match="NHICTL_MAX_FILE_SIZE"):
        load_settings()


def test_explicit_config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('ttl_ceiling = "2h"\n')
    monkeypatch.setenv("NHICTL_CONFIG", str(config))
    assert load_settings().ttl_ceiling_seconds == 7200


def test_mapping_settings_from_file_and_env(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / "config.toml").write_text(
        "[trust_domains]\n'prod.example.com' = '/etc/nhictl/prod.json'\n"
    )
    assert load_settings()["trust_domains"] == {"prod.example.com": "/etc/nhictl/prod.json"}
    monkeypatch.setenv(
        "NHICTL_OIDC_ISSUERS", "https://a.example=/a.json, https://b.example=/b.json"
    )
    assert load_settings()["oidc_issuers"] == {
        "https://a.example": "/a.json",
        "https://b.example": "/b.json",
    }
    monkeypatch.setenv("NHICTL_TRUST_DOMAINS", "broken")
    with pytest.raises(ConfigError, match="NHICTL_TRUST_DOMAINS: 'broken' is not key=value"):
        load_settings()


def test_values_keep_the_text_the_user_wrote(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / "config.toml").write_text('max_file_size = "2MiB"\npolicy_dir = ["/a", "/b"]\n')
    monkeypatch.setenv("NHICTL_CLOCK_LEEWAY", " 90s ")
    settings = load_settings({"ttl_ceiling": 5400})
    assert settings.texts["ttl_ceiling"] == "1h30m"  # a flag arrives parsed: shown compactly
    assert (settings.texts["max_file_size"], settings.max_file_size) == ("2MiB", 2 * 1024**2)
    assert settings.texts["clock_leeway"] == "90s"
    assert settings.texts["issuer"] == "urn:nhictl:registry"
    assert settings.values["policy_dir"] == ["/a", "/b"]
    assert settings.config_file == settings.config_path == isolated_env / "config.toml"
    assert load_settings({"max_file_size": 3 * 1024}).texts["max_file_size"] == "3KiB"
    assert load_settings({"max_file_size": 1000}).texts["max_file_size"] == "1000"


def test_config_file_is_none_when_there_is_none(isolated_env: Path) -> None:
    settings = load_settings()
    assert settings.config_file is None
    assert settings.config_path == isolated_env / "config.toml"


def test_nhictl_config_naming_a_missing_file_is_an_error(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NHICTL_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"NHICTL_CONFIG names .*nope\.toml, which does not"):
        load_settings()
    monkeypatch.setenv("NHICTL_CONFIG", "")  # empty means unset
    assert load_settings().config_path == isolated_env / "config.toml"
