from __future__ import annotations

import stat
from pathlib import Path

import pytest

from metrics_dashboard.settings import (
    ENVIRONMENT_VARIABLES,
    PROJECT_ROOT,
    SettingsError,
    load_settings,
    parse_bool,
)


def settings(tmp_path: Path, environ: dict[str, str] | None = None, env_file: str = "", **kw):
    path = tmp_path / ".env"
    path.write_text(env_file)
    base = {"CACHE_DIR": str(tmp_path / "cache")}
    return load_settings(kw or None, environ={**base, **(environ or {})}, env_file=path)


def test_defaults_match_the_older_tool(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.mongodb_database_name == "pmi_infrastructure"
    assert s.default_error_budget == 5
    assert s.max_analysis_timeout == 300
    assert s.dashboard_update_interval == 60000
    assert (s.host, s.port) == ("127.0.0.1", 5001)
    assert s.data_source == "demo"
    assert s.output_dir == Path("output")
    assert s.debug is False
    assert s.redis_url is None


def test_precedence_argument_over_environment_over_file(tmp_path: Path) -> None:
    file = "PORT=6000\nLOG_LEVEL=debug\nOUTPUT_DIR=/from/file\n"
    s = settings(tmp_path, {"PORT": "7000"}, file)
    assert s.port == 7000  # environment beats .env
    assert s.log_level == "DEBUG"  # .env beats default
    assert s.output_dir == Path("/from/file")
    s = settings(tmp_path, {"PORT": "7000"}, file, port=8000)
    assert s.port == 8000  # explicit argument beats everything


def test_none_overrides_are_ignored(tmp_path: Path) -> None:
    assert settings(tmp_path, {"PORT": "7000"}, port=None).port == 7000


def test_data_source_defaults_to_the_connection_string(tmp_path: Path) -> None:
    uri = "mongodb://db.example:27017"
    s = settings(tmp_path, {"MONGODB_CONNECTION_STRING": uri})
    assert s.data_source == uri
    assert (
        settings(tmp_path, {"MONGODB_CONNECTION_STRING": uri, "DATA_SOURCE": "demo"}).data_source
        == "demo"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("1", True),
        ("YES", True),
        (" on ", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("off", False),
        ("", False),
    ],
)
def test_booleans_are_parsed_explicitly(raw: str, expected: bool) -> None:
    assert parse_bool("FLASK_DEBUG", raw) is expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FLASK_DEBUG", "maybe", "FLASK_DEBUG='maybe' is not a boolean"),
        ("PORT", "http", "PORT='http' is not an integer (1 to 65535)"),
        ("PORT", "70000", "PORT=70000 is out of range (allowed 1 to 65535)"),
        ("DEFAULT_ERROR_BUDGET", "0", "DEFAULT_ERROR_BUDGET=0 is out of range (allowed 1 to 50)"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL='loud' is not one of DEBUG, INFO"),
        ("FLASK_ENV", "staging", "FLASK_ENV='staging' is not one of development, production"),
        ("DATA_SOURCE", " ", "DATA_SOURCE is empty"),
    ],
)
def test_invalid_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings(tmp_path, {variable: value})


def test_unknown_override_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="unknown setting"):
        settings(tmp_path, colour="blue")


def test_unknown_env_file_variable_is_ignored_with_a_warning(tmp_path: Path, caplog) -> None:
    s = settings(tmp_path, env_file="FLASK_APP=app.py\nPORT=5050\n")
    assert s.port == 5050
    assert "FLASK_APP" in caplog.text


def test_generated_secret_is_kept_owner_only_and_reused(tmp_path: Path) -> None:
    first = settings(tmp_path).secret_key
    secret_file = tmp_path / "cache" / "secret_key"
    assert len(first) == 64
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert settings(tmp_path).secret_key == first
    assert settings(tmp_path, {"FLASK_SECRET_KEY": "from-env"}).secret_key == "from-env"


def test_redacted_hides_credentials(tmp_path: Path) -> None:
    s = settings(tmp_path, {"MONGODB_CONNECTION_STRING": "mongodb://admin:hunter2@db:27017/x"})
    shown = s.redacted()
    assert "hunter2" not in str(shown)
    assert shown["secret_key"] == "***"
    assert shown["data_source"] == "mongodb://***@db:27017/x"


@pytest.mark.parametrize("document", [".env.example", "README.md"])
def test_every_variable_is_documented(document: str) -> None:
    text = (PROJECT_ROOT / document).read_text()
    missing = [name for name in ENVIRONMENT_VARIABLES if name not in text]
    assert missing == [], f"{document} does not document {missing}"


def test_new_settings_have_documented_defaults(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert (s.max_concurrent_analyses, s.max_analyses_per_user, s.max_queued_analyses) == (2, 1, 10)
    assert s.unknown_status_policy == "unknown"
    assert s.allowed_hosts == ()  # the default depends on HOST: see metrics_dashboard.web.hosts


@pytest.mark.parametrize(
    ("environ", "field", "expected"),
    [
        ({"UNKNOWN_STATUS_POLICY": " Failure "}, "unknown_status_policy", "failure"),
        ({"UNKNOWN_STATUS_POLICY": "error"}, "unknown_status_policy", "error"),
        ({"MAX_CONCURRENT_ANALYSES": "4"}, "max_concurrent_analyses", 4),
        ({"MAX_ANALYSES_PER_USER": "3"}, "max_analyses_per_user", 3),
        ({"MAX_QUEUED_ANALYSES": "0"}, "max_queued_analyses", 0),
        (
            {"ALLOWED_HOSTS": "Dash.Example.com, .corp.example,10.0.0.5,[::1],"},
            "allowed_hosts",
            ("dash.example.com", ".corp.example", "10.0.0.5", "[::1]"),
        ),
        ({"ALLOWED_HOSTS": "*"}, "allowed_hosts", ("*",)),
    ],
)
def test_new_settings_are_parsed(tmp_path: Path, environ: dict, field: str, expected) -> None:
    assert getattr(settings(tmp_path, environ), field) == expected


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "UNKNOWN_STATUS_POLICY",
            "ignore",
            "UNKNOWN_STATUS_POLICY='ignore' is not one of failure, unknown, error",
        ),
        (
            "MAX_CONCURRENT_ANALYSES",
            "0",
            "MAX_CONCURRENT_ANALYSES=0 is out of range (allowed 1 to 1000)",
        ),
        (
            "MAX_ANALYSES_PER_USER",
            "one",
            "MAX_ANALYSES_PER_USER='one' is not an integer (1 to 1000)",
        ),
        (
            "MAX_QUEUED_ANALYSES",
            "-1",
            "MAX_QUEUED_ANALYSES=-1 is out of range (allowed 0 to 10000)",
        ),
        ("ALLOWED_HOSTS", "evil.example:80", "ALLOWED_HOSTS: 'evil.example:80' is not a host name"),
        ("ALLOWED_HOSTS", "a b", "ALLOWED_HOSTS: 'a b' is not a host name"),
    ],
)
def test_invalid_new_values_name_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        settings(tmp_path, {variable: value})
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("environ", "overrides"),
    [
        ({"FLASK_DEBUG": "true"}, {}),  # production by default
        ({"FLASK_DEBUG": "true", "FLASK_ENV": "development", "HOST": "0.0.0.0"}, {}),
        ({"FLASK_DEBUG": "true", "FLASK_ENV": "development", "HOST": "10.1.2.3"}, {}),
        ({"FLASK_ENV": "development"}, {"debug": True, "host": "::"}),
        ({"FLASK_DEBUG": "true", "FLASK_ENV": "production", "HOST": "127.0.0.1"}, {}),
    ],
)
def test_debug_is_refused_outside_loopback_development(
    tmp_path: Path, environ: dict, overrides: dict
) -> None:
    with pytest.raises(SettingsError, match=r"FLASK_DEBUG \(--debug\) is refused with HOST="):
        settings(tmp_path, environ, **overrides)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_debug_is_allowed_on_loopback_in_development(tmp_path: Path, host: str) -> None:
    s = settings(tmp_path, {"FLASK_DEBUG": "1", "FLASK_ENV": "development", "HOST": host})
    assert s.debug is True


def test_with_overrides_replaces_fields_and_refuses_unknown_ones(tmp_path: Path) -> None:
    from metrics_dashboard.settings import with_overrides

    base = settings(tmp_path)
    changed = with_overrides(base, port=6001, redis_url=None)
    assert (changed.port, changed.redis_url, base.port) == (6001, None, 5001)
    assert hash(changed) != hash(base)  # frozen and hashable (celery_app caches per settings)
    with pytest.raises(SettingsError, match="unknown setting"):
        with_overrides(base, colour="blue")


def test_a_dotenv_line_without_value_reads_as_empty(tmp_path: Path) -> None:
    s = settings(tmp_path, env_file="REDIS_URL\nLOG_FILE=\n")
    assert (s.redis_url, s.log_file) == (None, None)
