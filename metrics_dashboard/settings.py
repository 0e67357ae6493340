"""Settings: explicit argument > process environment > ``.env`` file > default.

The variable names of the older Flask tool are kept so that existing ``.env`` files keep working.
pydantic-settings layers the sources and runs the validation; every raw value is still parsed by
the project's own small parsers (booleans included), so that an invalid one stops start-up with
one message naming the variable, the value and what is accepted, exactly as before the port.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

PROJECT_ROOT = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FLASK_ENVS = ("development", "production")
AUTH_MODES = ("none", "basic", "header")
# How a status word that is neither a failure nor a success status is treated (analytics).
UNKNOWN_STATUS_POLICIES = ("failure", "unknown", "error")
DEFAULT_AUTH_HEADER = "X-Forwarded-User"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1/32,::1/128"
# An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A host name, an IPv4 address or a bracketed IPv6 address; a leading dot means "and every
# subdomain"; "*" means any host.
_ALLOWED_HOST = re.compile(r"\*|\.?[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")

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


def parse_allowed_hosts(name: str, raw: str) -> tuple[str, ...]:
    """Comma-separated host names (lower-cased; ``.example.com`` also allows its subdomains,
    ``*`` allows any); empty means the default (see :mod:`metrics_dashboard.web.hosts`)."""
    hosts = []
    for item in (part.strip().lower() for part in raw.split(",")):
        if not item:
            continue
        if not _ALLOWED_HOST.fullmatch(item):
            raise SettingsError(
                f"{name}: {item!r} is not a host name (use e.g. dashboard.example.com, "
                "10.0.0.5, [::1], .example.com or *, comma-separated; no ports)"
            )
        hosts.append(item)
    return tuple(hosts)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a bind address or a name) only ever reaches this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "metrics-dashboard"


# Field -> its parser. Every field is read from the environment variable named by its alias.
_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "mongodb_connection_string": _optional_text,
    "mongodb_database_name": _text,
    "data_source": _data_source,
    "flask_env": _choice_parser(_FLASK_ENVS),
    "debug": parse_bool,
    "default_error_budget": _int_parser(1, 50),
    "log_level": _choice_parser(_LOG_LEVELS, upper=True),
    "log_file": _optional_path,
    "max_analysis_timeout": _int_parser(1, 86_400),
    "max_concurrent_analyses": _int_parser(1, 1_000),
    "max_analyses_per_user": _int_parser(1, 1_000),
    "max_queued_analyses": _int_parser(0, 10_000),
    "dashboard_update_interval": _int_parser(1_000, 86_400_000),
    "unknown_status_policy": _choice_parser(UNKNOWN_STATUS_POLICIES),
    "output_dir": _path,
    "cache_dir": _path,
    "secret_key": _text,
    "config_dir": _path,
    "host": _text,
    "port": _int_parser(1, 65_535),
    "allowed_hosts": parse_allowed_hosts,
    "redis_url": _optional_text,
    "auth_mode": _choice_parser(AUTH_MODES),
    "auth_users_file": _optional_path,
    "auth_header": _header_name,
    "auth_trusted_proxies": parse_networks,
}

# The environment of one load_settings call (the process's own unless a test passes another).
_environ: ContextVar[Mapping[str, str]] = ContextVar("settings_environ")


class _GivenEnvironment(EnvSettingsSource):
    """The environment variables of the load_settings call."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(_environ.get(os.environ), True, False, None)


class _EnvFile(DotEnvSettingsSource):
    """The ``.env`` file; its unknown variables are ignored with one warning naming them."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        values = super()._load_env_vars()
        unknown = sorted(set(values) - set(ENVIRONMENT_VARIABLES))
        if unknown:
            logging.getLogger(__name__).warning(
                "%s: ignoring unknown variable(s) %s", self.env_file, ", ".join(unknown)
            )
        return values


class Settings(BaseSettings):
    """Resolved configuration of one process. Build it with :func:`load_settings`.

    Fields are validated in the order written: derived defaults read the fields above them.
    """

    model_config = SettingsConfigDict(
        case_sensitive=True,
        frozen=True,
        extra="ignore",
        validate_default=True,  # defaults are raw strings, parsed like any other value
        enable_decoding=False,  # no JSON decoding of lists: our parsers read commas
        validate_by_name=True,  # explicit overrides use field names
        validate_by_alias=True,
        env_file=None,
    )

    mongodb_connection_string: str | None = Field("", alias="MONGODB_CONNECTION_STRING")
    mongodb_database_name: str = Field("pmi_infrastructure", alias="MONGODB_DATABASE_NAME")
    data_source: str = Field(
        default_factory=lambda data: data.get("mongodb_connection_string") or "demo",
        alias="DATA_SOURCE",
    )
    flask_env: str = Field("production", alias="FLASK_ENV")
    debug: bool = Field("false", alias="FLASK_DEBUG")  # type: ignore[assignment]
    default_error_budget: int = Field("5", alias="DEFAULT_ERROR_BUDGET")  # type: ignore[assignment]
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_file: Path | None = Field("", alias="LOG_FILE")  # type: ignore[assignment]
    max_analysis_timeout: int = Field("300", alias="MAX_ANALYSIS_TIMEOUT")  # type: ignore[assignment]
    max_concurrent_analyses: int = Field("2", alias="MAX_CONCURRENT_ANALYSES")  # type: ignore[assignment]
    max_analyses_per_user: int = Field("1", alias="MAX_ANALYSES_PER_USER")  # type: ignore[assignment]
    max_queued_analyses: int = Field("10", alias="MAX_QUEUED_ANALYSES")  # type: ignore[assignment]
    dashboard_update_interval: int = Field("60000", alias="DASHBOARD_UPDATE_INTERVAL")  # type: ignore[assignment]
    unknown_status_policy: str = Field("unknown", alias="UNKNOWN_STATUS_POLICY")
    output_dir: Path = Field("./output", alias="OUTPUT_DIR")  # type: ignore[assignment]
    cache_dir: Path = Field(default_factory=lambda: str(_default_cache_dir()), alias="CACHE_DIR")
    secret_key: str = Field("", alias="FLASK_SECRET_KEY")
    config_dir: Path = Field(str(PROJECT_ROOT / "configs"), alias="CONFIG_DIR")  # type: ignore[assignment]
    host: str = Field("127.0.0.1", alias="HOST")
    port: int = Field("5001", alias="PORT")  # type: ignore[assignment]
    allowed_hosts: tuple[str, ...] = Field("", alias="ALLOWED_HOSTS")  # type: ignore[assignment]
    redis_url: str | None = Field("", alias="REDIS_URL")
    auth_mode: str = Field("none", alias="AUTH_MODE")
    auth_users_file: Path | None = Field("", alias="AUTH_USERS_FILE")  # type: ignore[assignment]
    auth_header: str = Field(DEFAULT_AUTH_HEADER, alias="AUTH_HEADER")
    auth_trusted_proxies: tuple[IpNetwork, ...] = Field(
        DEFAULT_TRUSTED_PROXIES,  # type: ignore[arg-type]
        alias="AUTH_TRUSTED_PROXIES",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_file = getattr(dotenv_settings, "env_file", None)
        return (
            init_settings,
            _GivenEnvironment(settings_cls),
            _EnvFile(settings_cls, env_file=env_file),
        )

    @field_validator("*", mode="before")
    @classmethod
    def _parse_raw(cls, value: Any, info: ValidationInfo) -> Any:
        """Raw text (environment, ``.env``, defaults) goes through the field's parser; typed
        explicit values are used as given."""
        if value is None:  # a ``.env`` line without '='
            value = ""
        if not isinstance(value, str):
            return value
        variable = cls.model_fields[info.field_name].alias  # type: ignore[index]
        return _PARSERS[info.field_name](variable, value)  # type: ignore[index]

    @field_validator("secret_key")
    @classmethod
    def _generated_secret(cls, value: str, info: ValidationInfo) -> str:
        return value or _persistent_secret(info.data["cache_dir"])

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.auth_mode == "basic" and self.auth_users_file is None:
            raise SettingsError(
                "AUTH_MODE=basic needs AUTH_USERS_FILE, the users file written by "
                "'metrics-dashboard add-user'"
            )
        check_debug_allowed(debug=self.debug, host=self.host, flask_env=self.flask_env)
        return self

    @property
    def jobs_cache_dir(self) -> Path:
        """Where the diskcache background-callback manager keeps its state."""
        return self.cache_dir / "jobs"

    @property
    def named_configs_dir(self) -> Path:
        return self.output_dir / "configs"

    def redacted(self) -> dict[str, Any]:
        """Settings as a dict safe to log: secrets and credentials hidden."""
        shown = {name: getattr(self, name) for name in type(self).model_fields}
        shown["secret_key"] = "***"
        for key in ("mongodb_connection_string", "data_source", "redis_url"):
            value = shown[key]
            if isinstance(value, str) and "@" in value:
                scheme, _, rest = value.partition("://")
                shown[key] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return shown


ENVIRONMENT_VARIABLES = tuple(field.alias for field in Settings.model_fields.values())
_FIELDS = frozenset(Settings.model_fields)


def check_debug_allowed(*, debug: bool, host: str, flask_env: str) -> None:
    """Debug mode (Werkzeug's debugger runs code typed into the browser) only for a developer:
    on a loopback address with ``FLASK_ENV=development``. Raises SettingsError otherwise."""
    if debug and not (is_loopback_host(host) and flask_env == "development"):
        raise SettingsError(
            f"FLASK_DEBUG (--debug) is refused with HOST={host} and FLASK_ENV={flask_env}: "
            "debug mode runs code typed into the browser, so it needs a loopback HOST "
            "(127.0.0.1, ::1, localhost) and FLASK_ENV=development"
        )


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
    explicit = {key: value for key, value in (overrides or {}).items() if value is not None}
    unknown = sorted(set(explicit) - _FIELDS)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    env_path = env_file if env_file is not None and env_file.is_file() else None
    with _given_environment(os.environ if environ is None else environ):
        try:
            return Settings(_env_file=env_path, **explicit)  # type: ignore[call-arg]
        except ValidationError as error:
            raise _settings_error(error) from None


@contextmanager
def _given_environment(environ: Mapping[str, str]) -> Iterator[None]:
    token = _environ.set(environ)
    try:
        yield
    finally:
        _environ.reset(token)


def _settings_error(error: ValidationError) -> SettingsError:
    """The first problem as one line: our parsers' own message when they raised it."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return SettingsError(f"{where}: {first['msg']}")


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with some fields replaced (None values ignored)."""
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    return settings.model_copy(update={k: v for k, v in changes.items() if v is not None})


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
