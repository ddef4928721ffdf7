"""Settings: flags > ``NHICTL_*`` environment > config file > defaults.

``NHICTL_HOME`` points config, data and keys at one folder (tests use a temporary one); without
it the XDG directories are used (``~/.config/nhictl``, ``~/.local/share/nhictl``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nhictl.core.durations import format_duration, parse_duration
from nhictl.core.errors import ConfigError, InputError

APP = "nhictl"
ENV_PREFIX = "NHICTL_"
CONFIG_NAME = "config.toml"


@dataclass(frozen=True)
class Paths:
    """Where nhictl keeps its files."""

    config_dir: Path
    data_dir: Path
    cache_root: Path | None = None

    @property
    def cache_dir(self) -> Path:
        """Derived files only (compiled validators): safe to delete at any time."""
        return self.cache_root or self.data_dir / "cache"

    @property
    def config_file(self) -> Path:
        return self.config_dir / CONFIG_NAME

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None) -> Paths:
        env = os.environ if env is None else env
        home = env.get("NHICTL_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(root, root)
        # platformdirs is imported here so commands that never touch files do not pay for it.
        import platformdirs

        return cls(
            Path(platformdirs.user_config_dir(APP, appauthor=False)),
            Path(platformdirs.user_data_dir(APP, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP, appauthor=False)),
        )


def _size(text: str) -> int:
    units = {
        "": 1,
        "b": 1,
        "k": 1024,
        "kb": 1024,
        "kib": 1024,
        "m": 1024**2,
        "mb": 1024**2,
        "mib": 1024**2,
        "g": 1024**3,
        "gib": 1024**3,
    }
    value = text.strip().lower()
    number = value.rstrip("abgikm")
    unit = value[len(number) :]
    if not number.isdigit() or unit not in units:
        raise InputError(f"{text!r} is not a size (use e.g. 1048576, 512KiB, 1MiB)")
    return int(number) * units[unit]


def _size_text(size: int) -> str:
    """Bytes as a user would write them: ``1048576`` -> ``1MiB`` (exact units only)."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise InputError(f"{text!r} is not one of {', '.join(allowed)}")
        return text

    return parse


def _path_list(text: str) -> list[str]:
    return [part for part in text.split(os.pathsep) if part]


def _mapping(text: str) -> dict[str, str]:
    """``key=value`` pairs separated by commas (environment form of a TOML table)."""
    result: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{item!r} is not key=value")
        result[key.strip()] = value.strip()
    return result


def _nonempty(text: str) -> str:
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise InputError(f"{text!r} must be a non-empty value without spaces")
    return value


def _positive_int(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"{text!r} is not a positive whole number")
    return int(value)


def _store_url(text: str) -> str:
    # The URL rules live with the store; the default (empty) is the only case every command
    # parses, so it costs no import.
    if not text.strip():
        return ""
    from nhictl.core.store.url import parse_store_url

    return parse_store_url(text)


def _store_shown(text: str) -> str:
    if not text:
        return text
    from nhictl.core.store.url import redact_url

    return redact_url(text)


def _mapping_to_text(value: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in value.items())


def _plain_text(value: Any) -> str:
    if isinstance(value, dict):
        return _mapping_to_text(value)
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its parser (from text) and its default (as text, shown by `config show`).

    ``text`` turns a parsed value back into the form a user writes (``3600`` -> ``1h``); it is
    only needed for flags, which arrive parsed: every other layer keeps the text it was given.
    ``shown`` makes any layer's text safe to print (the store URL loses its password).
    """

    name: str
    parse: Callable[[str], Any]
    default: str
    help: str
    text: Callable[[Any], str] = _plain_text
    shown: Callable[[str], str] = str

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SPECS: dict[str, SettingSpec] = {
    spec.name: spec
    for spec in (
        SettingSpec(
            "ttl_ceiling",
            parse_duration,
            "1h",
            "Longest credential TTL any manifest may declare.",
            format_duration,
        ),
        SettingSpec(
            "max_file_size", _size, "1MiB", "Largest input file nhictl will read.", _size_text
        ),
        SettingSpec("color", _choice("auto", "always", "never"), "auto", "Colour on the terminal."),
        SettingSpec("policy_dir", _path_list, "", "Extra policy folders (os.pathsep-separated)."),
        SettingSpec(
            "store",
            _store_url,
            "",
            "Store URL: empty (SQLite in the data folder), sqlite:///PATH or postgresql://...",
            shown=_store_shown,
        ),
        SettingSpec(
            "trust_bundle", str, "", "JWKS or SPIFFE bundle that verifies identity tokens."
        ),
        SettingSpec("trust_domains", _mapping, "", "SPIFFE trust domain = bundle file, ..."),
        SettingSpec("oidc_issuers", _mapping, "", "OIDC issuer URL = JWKS file, ..."),
        SettingSpec(
            "oidc_discovery",
            lambda text: [p.strip() for p in text.split(",") if p.strip()],
            "",
            "OIDC issuers whose JWKS may be fetched via discovery (comma-separated).",
        ),
        SettingSpec("issuer", _nonempty, "urn:nhictl:registry", "The 'iss' of issued credentials."),
        SettingSpec(
            "token_audience", _nonempty, "urn:nhictl:api", "Default 'aud' of issued credentials."
        ),
        SettingSpec(
            "status_list_uri",
            _nonempty,
            "urn:nhictl:status-list:1",
            "URI of the token status list (where verifiers fetch it; its 'sub').",
        ),
        SettingSpec(
            "max_concurrent_credentials",
            _positive_int,
            "5",
            "Live credentials per agent when its manifest sets no maxConcurrentCredentials.",
        ),
        SettingSpec(
            "client_keys",
            _mapping,
            "",
            "nhictl serve: agent name = JWKS file, for private_key_jwt client authentication.",
        ),
        SettingSpec(
            "introspection_clients",
            _mapping,
            "",
            "nhictl serve: resource server client id = JWKS file (may call /introspect).",
        ),
        SettingSpec(
            "single_use_identity_tokens",
            _choice("false", "true"),
            "false",
            "nhictl serve: accept each subject_token (JWT-SVID / OIDC token) only once.",
        ),
        SettingSpec(
            "dpop_nonce",
            _choice("false", "true"),
            "false",
            "nhictl serve: DPoP proofs at /token must carry a nonce the service handed out "
            "(RFC 9449 section 8).",
        ),
        SettingSpec(
            "clock_leeway",
            parse_duration,
            "60s",
            "Clock skew allowed when checking exp/nbf/iat.",
            format_duration,
        ),
    )
}


@dataclass(frozen=True)
class Settings:
    """The merged settings and where each came from (``flag``, ``env``, ``file``, ``default``).

    ``texts`` holds each value as the user wrote it (``1h``, ``1MiB``), for display;
    ``config_file`` is the config file actually read (None when there is none) and
    ``config_path`` the file nhictl looked for (``NHICTL_CONFIG``, else the default place).
    """

    values: dict[str, Any]
    sources: dict[str, str]
    paths: Paths
    config_file: Path | None = field(default=None)
    texts: dict[str, str] = field(default_factory=dict)
    config_path: Path | None = None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def shown(self, name: str) -> Any:
        """The parsed value, safe to print (the store URL without its password)."""
        value = self.values[name]
        return SPECS[name].shown(value) if isinstance(value, str) else value

    @property
    def ttl_ceiling_seconds(self) -> int:
        return int(self.values["ttl_ceiling"])

    @property
    def max_file_size(self) -> int:
        return int(self.values["max_file_size"])


def load_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Merge the four layers. ``flags`` values are already parsed; ``None`` means not given."""
    env = os.environ if env is None else env
    paths = Paths.resolve(env)
    named = env.get("NHICTL_CONFIG")
    config_path = Path(named).expanduser() if named else paths.config_file
    if named and not config_path.exists():
        raise ConfigError(
            f"NHICTL_CONFIG names {config_path}, which does not exist",
            hint=f"create it, or unset NHICTL_CONFIG to use {paths.config_file} (if it exists)",
        )
    file_values = _read_config(config_path)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    texts: dict[str, str] = {}
    for name, spec in SPECS.items():
        flag_value = (flags or {}).get(name)
        if flag_value is not None:
            values[name], sources[name] = flag_value, "flag"
            texts[name] = spec.text(flag_value)
        elif spec.env in env:
            text = env[spec.env]
            values[name] = _parse(spec, text, f"environment variable {spec.env}")
            sources[name] = f"env {spec.env}"
            texts[name] = text.strip()
        elif name in file_values:
            raw = file_values[name]
            if isinstance(raw, dict):
                text = _mapping_to_text(raw)
            elif isinstance(raw, list):
                text = os.pathsep.join(str(item) for item in raw)
            else:
                text = str(raw)
            values[name] = _parse(spec, text, f"{config_path}: {name}")
            sources[name] = f"file {config_path}"
            texts[name] = text
        else:
            values[name], sources[name] = spec.parse(spec.default), "default"
            texts[name] = spec.default
        texts[name] = spec.shown(texts[name])
    read = config_path if config_path.is_file() else None
    return Settings(values, sources, paths, read, texts, config_path)


def _parse(spec: SettingSpec, text: str, where: str) -> Any:
    try:
        return spec.parse(text)
    except InputError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    unknown = sorted(set(data) - set(SPECS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            hint=f"known settings: {', '.join(SPECS)}",
        )
    for name, value in data.items():
        if not isinstance(value, str | int | list | dict):
            raise ConfigError(f"{path}: {name}: expected a string, number, list or table")
        if isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{path}: {name}: table values must be strings")
    return data
