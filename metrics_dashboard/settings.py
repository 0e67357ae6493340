"""Settings: explicit argument > process environment > ``.env`` file > default.

The variable names of the older Flask tool are kept so that existing ``.env`` files keep working.
Every value is parsed explicitly (booleans included) and an invalid one stops start-up with a
message naming the variable, the value and what is accepted.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FLASK_ENVS = ("development", "production")
AUTH_MODES = ("none", "basic", "header")
UNKNOWN_STATUS_POLICIES = ("failure", "unknown", "error")
DEFAULT_AUTH_HEADER = "X-Forwarded-User"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1/32,::1/128"
# An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """An invalid setting; the message names the variable and the accepted values."""


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def _int_parser(low: int, high: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise SettingsError(f"{name}={raw!r} is not an integer ({low} to {high})") from None
        if not low <= value <= high:
            raise SettingsError(f"{name}={value} is out of range (allowed {low} to {high})")
        return value

    return parse


def _choice_parser(choices: tuple[str, ...], *, upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise SettingsError(f"{name}={raw!r} is not one of {', '.join(choices)}")
        return value

    return parse


def _text(_name: str, raw: str) -> str:
    return raw.strip()


def _optional_text(_name: str, raw: str) -> str | None:
    return raw.strip() or None


def _path(_name: str, raw: str) -> Path:
    return Path(raw.strip()).expanduser()


def _optional_path(_name: str, raw: str) -> Path | None:
    return Path(raw.strip()).expanduser() if raw.strip() else None


def _data_source(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        raise SettingsError(
            f"{name} is empty: use 'demo', a directory of CSV/Parquet files, or a mongodb:// URI"
        )
    return value


def _header_name(name: str, raw: str) -> str:
    value = raw.strip()
    if not _HEADER_NAME.fullmatch(value):
        raise SettingsError(f"{name}={raw!r} is not an HTTP header name (e.g. X-Forwarded-User)")
    return value


def parse_networks(name: str, raw: str) -> tuple[IpNetwork, ...]:
    """Comma-separated IP addresses or CIDR networks (a bare address means just that host)."""
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name}: {item!r} is not an IP address or network "
                "(use e.g. 127.0.0.1, 10.0.0.0/8, ::1/128, comma-separated)"
            ) from None
    if not networks:
        raise SettingsError(f"{name} is empty: name the reverse proxy's address(es)")
    return tuple(networks)


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "metrics-dashboard"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one process. Build it with :func:`load_settings`."""

    mongodb_connection_string: str | None
    mongodb_database_name: str
    data_source: str
    secret_key: str
    flask_env: str
    debug: bool
    default_error_budget: int
    log_level: str
    log_file: Path | None
    max_analysis_timeout: int
    dashboard_update_interval: int
    output_dir: Path
    cache_dir: Path
    config_dir: Path
    host: str
    port: int
    redis_url: str | None
    auth_mode: str
    auth_users_file: Path | None
    auth_header: str
    auth_trusted_proxies: tuple[IpNetwork, ...]
    unknown_status_policy: str

    @property
    def jobs_cache_dir(self) -> Path:
        """Where the diskcache background-callback manager keeps its state."""
        return self.cache_dir / "jobs"

    @property
    def named_configs_dir(self) -> Path:
        return self.output_dir / "configs"

    def redacted(self) -> dict[str, Any]:
        """Settings as a dict safe to log: secrets and credentials hidden."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["secret_key"] = "***"
        for key in ("mongodb_connection_string", "data_source", "redis_url"):
            value = shown[key]
            if isinstance(value, str) and "@" in value:
                scheme, _, rest = value.partition("://")
                shown[key] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return shown


# Environment variable -> (field, parser, default). The default is a raw string parsed like
# any other value, or None when the field is derived (see load_settings).
_VARIABLES: dict[str, tuple[str, Callable[[str, str], Any], str | None]] = {
    "MONGODB_CONNECTION_STRING": ("mongodb_connection_string", _optional_text, ""),
    "MONGODB_DATABASE_NAME": ("mongodb_database_name", _text, "pmi_infrastructure"),
    "DATA_SOURCE": ("data_source", _data_source, None),
    "FLASK_SECRET_KEY": ("secret_key", _optional_text, ""),
    "FLASK_ENV": ("flask_env", _choice_parser(_FLASK_ENVS), "production"),
    "FLASK_DEBUG": ("debug", parse_bool, "false"),
    "DEFAULT_ERROR_BUDGET": ("default_error_budget", _int_parser(1, 50), "5"),
    "LOG_LEVEL": ("log_level", _choice_parser(_LOG_LEVELS, upper=True), "INFO"),
    "LOG_FILE": ("log_file", _optional_path, ""),
    "MAX_ANALYSIS_TIMEOUT": ("max_analysis_timeout", _int_parser(1, 86_400), "300"),
    "DASHBOARD_UPDATE_INTERVAL": (
        "dashboard_update_interval",
        _int_parser(1_000, 86_400_000),
        "60000",
    ),
    "OUTPUT_DIR": ("output_dir", _path, "./output"),
    "CACHE_DIR": ("cache_dir", _path, None),
    "CONFIG_DIR": ("config_dir", _path, str(PROJECT_ROOT / "configs")),
    "HOST": ("host", _text, "127.0.0.1"),
    "PORT": ("port", _int_parser(1, 65_535), "5001"),
    "REDIS_URL": ("redis_url", _optional_text, ""),
    "AUTH_MODE": ("auth_mode", _choice_parser(AUTH_MODES), "none"),
    "AUTH_USERS_FILE": ("auth_users_file", _optional_path, ""),
    "AUTH_HEADER": ("auth_header", _header_name, DEFAULT_AUTH_HEADER),
    "AUTH_TRUSTED_PROXIES": ("auth_trusted_proxies", parse_networks, DEFAULT_TRUSTED_PROXIES),
    "UNKNOWN_STATUS_POLICY": (
        "unknown_status_policy",
        _choice_parser(UNKNOWN_STATUS_POLICIES),
        "unknown",
    ),
}

ENVIRONMENT_VARIABLES = tuple(_VARIABLES)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = Path(".env"),
) -> Settings:
    """Resolve every setting: ``overrides`` (field names) > ``environ`` > ``env_file`` > default.

    ``overrides`` values are used as given (already typed); values whose key is None are ignored,
    which lets a command line pass its unset flags straight through.
    """
    environ = os.environ if environ is None else environ
    from_file = _read_env_file(env_file)
    explicit = {key: value for key, value in (overrides or {}).items() if value is not None}
    known_fields = {field for field, _, _ in _VARIABLES.values()}
    unknown = sorted(set(explicit) - known_fields)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")

    values: dict[str, Any] = {}
    for variable, (field, parser, default) in _VARIABLES.items():
        if field in explicit:
            values[field] = explicit[field]
            continue
        raw = environ.get(variable, from_file.get(variable))
        if raw is None:
            raw = default
        values[field] = None if raw is None else parser(variable, raw)

    if values["data_source"] is None:
        values["data_source"] = values["mongodb_connection_string"] or "demo"
    if values["cache_dir"] is None:
        values["cache_dir"] = _default_cache_dir()
    if values["auth_mode"] == "basic" and values["auth_users_file"] is None:
        raise SettingsError(
            "AUTH_MODE=basic needs AUTH_USERS_FILE, the users file written by "
            "'metrics-dashboard add-user'"
        )
    if not values["secret_key"]:
        values["secret_key"] = _persistent_secret(values["cache_dir"])
    return Settings(**values)


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with some fields replaced (None values ignored)."""
    return replace(settings, **{k: v for k, v in changes.items() if v is not None})


def _read_env_file(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    values = {key: value or "" for key, value in dotenv_values(path).items()}
    unknown = sorted(set(values) - set(_VARIABLES))
    if unknown:
        logging.getLogger(__name__).warning(
            "%s: ignoring unknown variable(s) %s", path, ", ".join(unknown)
        )
    return values


def _persistent_secret(cache_dir: Path) -> str:
    """A random secret generated once and kept in a file only its owner can read."""
    path = cache_dir / "secret_key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    cache_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret)
    return secret
