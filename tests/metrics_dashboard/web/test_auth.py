"""Authentication: settings parsing, the hashed users file, basic auth and the SSO proxy header."""

from __future__ import annotations

import base64
import io
import ipaddress
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient
from werkzeug.security import check_password_hash, generate_password_hash

from metrics_dashboard.settings import SettingsError, load_settings
from metrics_dashboard.web import auth
from metrics_dashboard.web.auth import (
    AuthSettings,
    BasicAuthenticator,
    add_user,
    hash_password,
    install_authentication,
    load_users,
    prompt_password,
)

# A fast hash for request tests (scrypt costs about 0.1 s per check, by design).
FAST_HASH = generate_password_hash("s3cret", method="pbkdf2:sha256:1000")


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def guarded_app(settings: AuthSettings) -> Flask:
    server = Flask(__name__)
    server.add_url_rule("/", "index", lambda: f"hello {g.get('user', 'anonymous')}")
    server.add_url_rule("/healthz", "healthz", lambda: "ok")
    install_authentication(server, settings, open_paths={"/healthz"})
    return server


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    path = tmp_path / "users"
    path.write_text(f"# operators\nalice:{FAST_HASH}\n\nbob:{FAST_HASH}\n")
    path.chmod(0o600)
    return path


# --- settings ----------------------------------------------------------------------------


def auth_settings_from(environ: dict[str, str], tmp_path: Path) -> AuthSettings:
    settings = load_settings(environ={"CACHE_DIR": str(tmp_path), **environ}, env_file=None)
    return AuthSettings.from_settings(settings)


def test_defaults_are_off_with_loopback_proxies(tmp_path: Path) -> None:
    settings = auth_settings_from({}, tmp_path)
    assert settings.mode == "none"
    assert settings.header == "X-Forwarded-User"
    assert settings.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    anonymous = guarded_app(settings).test_client().get("/")
    assert (anonymous.status_code, anonymous.get_data(as_text=True)) == (200, "hello anonymous")


def test_settings_are_parsed_explicitly(tmp_path: Path) -> None:
    settings = auth_settings_from(
        {
            "AUTH_MODE": " Header ",
            "AUTH_HEADER": "X-Remote-User",
            "AUTH_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5 ,fd00::/8",
        },
        tmp_path,
    )
    assert settings.mode == "header"
    assert settings.header == "X-Remote-User"
    assert [str(network) for network in settings.trusted_proxies] == [
        "10.0.0.0/8",
        "192.168.1.5/32",
        "fd00::/8",
    ]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"AUTH_MODE": "ldap"}, r"AUTH_MODE='ldap' is not one of none, basic, header"),
        ({"AUTH_MODE": "basic"}, r"AUTH_MODE=basic needs AUTH_USERS_FILE"),
        ({"AUTH_HEADER": "X User"}, r"AUTH_HEADER='X User' is not an HTTP header name"),
        ({"AUTH_TRUSTED_PROXIES": "10.0.0.1, proxy.local"}, r"'proxy.local' is not an IP"),
        ({"AUTH_TRUSTED_PROXIES": " , "}, r"AUTH_TRUSTED_PROXIES is empty"),
    ],
)
def test_invalid_settings_say_what_is_accepted(
    environ: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match=message):
        auth_settings_from(environ, tmp_path)


# --- users file --------------------------------------------------------------------------


def test_users_file_is_read_with_comments_and_blank_lines(users_file: Path) -> None:
    assert load_users(users_file) == {"alice": FAST_HASH, "bob": FAST_HASH}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("alice\n", r"line 1: expected user:password-hash"),
        (f"# ok\nal ice:{FAST_HASH}\n", r"line 2: invalid user name 'al ice'"),
        ("alice:hunter2\n", r"line 1: the password of 'alice' is not a password hash"),
        ("alice:pbkdf2:nosuchdigest:1$salt$abcd\n", r"line 1: the password of 'alice'"),
        (f"alice:{FAST_HASH}\nalice:{FAST_HASH}\n", r"line 2: user 'alice' is listed twice"),
    ],
)
def test_malformed_users_files_name_the_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "users"
    path.write_text(content)
    with pytest.raises(SettingsError, match=message) as raised:
        load_users(path)
    assert str(path) in str(raised.value)
    assert "hunter2" not in str(raised.value)  # a plain-text password is never echoed


def test_missing_or_unreadable_users_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"does not exist: create it with"):
        load_users(tmp_path / "absent")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(SettingsError, match=r"is not UTF-8 text"):
        load_users(binary)
    with pytest.raises(SettingsError, match=r"cannot read AUTH_USERS_FILE"):
        load_users(tmp_path)  # a directory


def test_basic_mode_needs_at_least_one_user(tmp_path: Path) -> None:
    empty = tmp_path / "users"
    empty.write_text("# nobody yet\n")
    with pytest.raises(SettingsError, match=r"has no users"):
        guarded_app(AuthSettings(mode="basic", users_file=empty))


def test_a_users_file_readable_by_others_is_reported(
    users_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    users_file.chmod(0o644)
    load_users(users_file)
    assert "readable by other users" in caplog.text


def test_add_user_writes_an_owner_only_file_of_hashes(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "users"
    assert add_user(path, "alice", "correct horse") is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = load_users(path)
    assert users["alice"].startswith("scrypt:")
    assert "correct horse" not in path.read_text()
    assert check_password_hash(users["alice"], "correct horse")


def test_add_user_replaces_a_password_and_keeps_the_other_lines(users_file: Path) -> None:
    assert add_user(users_file, "bob", "new password") is False
    lines = users_file.read_text().splitlines()
    assert lines[0] == "# operators"
    assert lines[1] == f"alice:{FAST_HASH}"
    assert check_password_hash(load_users(users_file)["bob"], "new password")
    assert add_user(users_file, "carol", "another one") is True
    assert list(load_users(users_file)) == ["alice", "bob", "carol"]


def test_add_user_refuses_bad_input(tmp_path: Path, users_file: Path) -> None:
    with pytest.raises(SettingsError, match=r"invalid user name 'a:b'"):
        add_user(users_file, "a:b", "pw")
    with pytest.raises(SettingsError, match=r"the password is empty"):
        add_user(users_file, "carol", "")
    broken = tmp_path / "broken"
    broken.write_text("alice:plain\n")
    with pytest.raises(SettingsError, match=r"broken line 1"):
        add_user(broken, "carol", "pw")
    assert broken.read_text() == "alice:plain\n"  # left as it was


def test_hash_password_salts_every_hash() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert check_password_hash(first, "same") and check_password_hash(second, "same")
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_prompt_password_reads_one_line_from_a_pipe() -> None:
    assert prompt_password(io.StringIO("pass word\nignored\n")) == "pass word"
    with pytest.raises(SettingsError, match="empty"):
        prompt_password(io.StringIO("\n"))


# --- basic auth --------------------------------------------------------------------------


def test_basic_auth_challenges_and_admits(users_file: Path) -> None:
    client = guarded_app(AuthSettings(mode="basic", users_file=users_file)).test_client()
    anonymous = client.get("/")
    assert anonymous.status_code == 401
    assert (
        anonymous.headers["WWW-Authenticate"] == 'Basic realm="Metrics Dashboard", charset="UTF-8"'
    )
    assert client.get("/", headers=basic("alice", "wrong")).status_code == 401
    assert client.get("/", headers=basic("mallory", "s3cret")).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer abc"}).status_code == 401
    admitted = client.get("/", headers=basic("alice", "s3cret"))
    assert (admitted.status_code, admitted.get_data(as_text=True)) == (200, "hello alice")
    assert client.get("/healthz").status_code == 200


@pytest.fixture
def hash_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes that password checks were run against, in order."""
    checked: list[str] = []

    def counting(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return check_password_hash(password_hash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    return checked


def test_unknown_users_cost_a_hash_check_like_known_ones(
    users_file: Path, hash_checks: list[str]
) -> None:
    client = guarded_app(AuthSettings(mode="basic", users_file=users_file)).test_client()
    client.get("/", headers=basic("mallory", "s3cret"))
    client.get("/", headers=basic("alice", "wrong"))
    assert len(hash_checks) == 2
    assert hash_checks[0] != FAST_HASH  # the decoy, not a real user's hash
    assert hash_checks[1] == FAST_HASH


def test_verified_credentials_are_remembered_for_a_while(hash_checks: list[str]) -> None:
    now = [1000.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    authenticator = BasicAuthenticator({"alice": FAST_HASH}, ttl_s=60, clock=clock)
    server = Flask(__name__)

    def check(headers: dict[str, str]) -> object:
        with server.test_request_context("/", headers=headers):
            return authenticator.authenticate(request)

    assert check(basic("alice", "s3cret")) == "alice"
    assert check(basic("alice", "s3cret")) == "alice"
    assert len(hash_checks) == 1  # the second request was answered from memory
    assert check(basic("alice", "wrong")) != "alice"
    assert len(hash_checks) == 2  # a different password is checked again
    now[0] += 61
    assert check(basic("alice", "s3cret")) == "alice"
    assert len(hash_checks) == 3  # expired: checked again


# --- proxy header ------------------------------------------------------------------------


def header_client(**settings: object) -> FlaskClient:
    return guarded_app(AuthSettings(mode="header", **settings)).test_client()  # type: ignore[arg-type]


def test_identity_header_from_a_trusted_proxy_is_the_user() -> None:
    client = header_client()
    response = client.get("/", headers={"X-Forwarded-User": "alice@example.org"})
    assert (response.status_code, response.get_data(as_text=True)) == (
        200,
        "hello alice@example.org",
    )
    ipv6 = client.get("/", headers={"X-Forwarded-User": "bob"}, environ_base={"REMOTE_ADDR": "::1"})
    assert ipv6.status_code == 200
    mapped = client.get(
        "/", headers={"X-Forwarded-User": "bob"}, environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}
    )
    assert mapped.status_code == 200


def test_requests_not_from_a_trusted_proxy_are_forbidden() -> None:
    client = header_client()
    response = client.get(
        "/", headers={"X-Forwarded-User": "admin"}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert response.status_code == 403
    assert "single sign-on proxy" in response.get_data(as_text=True)
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_a_trusted_proxy_without_a_valid_identity_gets_401() -> None:
    client = header_client()
    assert client.get("/").status_code == 401
    assert client.get("/", headers={"X-Forwarded-User": "  "}).status_code == 401
    assert client.get("/", headers={"X-Forwarded-User": "a" * 300}).status_code == 401
    assert client.get("/", headers={"X-Forwarded-User": "eve\x7f"}).status_code == 401


def test_configured_header_and_networks() -> None:
    client = header_client(
        header="X-Remote-User",
        trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),),
    )
    inside = {"REMOTE_ADDR": "10.9.8.7"}
    assert (
        client.get("/", headers={"X-Remote-User": "carol"}, environ_base=inside).status_code == 200
    )
    assert (
        client.get("/", headers={"X-Forwarded-User": "carol"}, environ_base=inside).status_code
        == 401
    )
    assert client.get("/", headers={"X-Remote-User": "carol"}).status_code == 403  # 127.0.0.1


def test_a_forwarded_for_rewrite_does_not_make_a_client_trusted() -> None:
    """Behind werkzeug's ProxyFix, the peer address that counts is the one it replaced."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    server = guarded_app(AuthSettings(mode="header"))
    server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1)  # type: ignore[method-assign]
    client = server.test_client()
    spoofed = client.get(
        "/",
        headers={"X-Forwarded-User": "admin", "X-Forwarded-For": "127.0.0.1"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert spoofed.status_code == 403


def test_the_identity_is_decoded_as_utf8() -> None:
    client = header_client()
    # WSGI passes header bytes as latin-1 text: these are the UTF-8 bytes of "josé".
    utf8 = client.get("/", environ_base={"HTTP_X_FORWARDED_USER": "jos\xc3\xa9"})
    assert (utf8.status_code, utf8.get_data(as_text=True)) == (200, "hello josé")
    latin1 = client.get("/", environ_base={"HTTP_X_FORWARDED_USER": "jos\xe9"})
    assert latin1.status_code == 400
    assert "X-Forwarded-User is not UTF-8" in latin1.get_data(as_text=True)


def test_an_identity_header_sent_twice_is_refused() -> None:
    """WSGI servers (gunicorn, werkzeug) join a repeated header's values with a comma."""
    client = header_client()
    twice = client.get("/", environ_base={"HTTP_X_FORWARDED_USER": "mallory,alice"})
    assert twice.status_code == 400
    assert "X-Forwarded-User was sent more than once" in twice.get_data(as_text=True)


# --- brute force ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttled_app(users_file: Path, state_dir: Path, clock: FakeClock) -> FlaskClient:
    server = Flask(__name__)
    server.add_url_rule("/", "index", lambda: f"hello {g.get('user', 'anonymous')}")
    throttle = auth.LoginThrottle(state_dir, clock=clock)
    authenticator = BasicAuthenticator(load_users(users_file), throttle=throttle)

    @server.before_request
    def check() -> object:
        outcome = authenticator.authenticate(request)
        return auth.denial_response(outcome) if isinstance(outcome, auth.Denied) else None

    return server.test_client()


def from_client(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": address}


def test_wrong_passwords_from_one_client_back_off_exponentially(
    users_file: Path, tmp_path: Path, hash_checks: list[str]
) -> None:
    clock = FakeClock()
    client = throttled_app(users_file, tmp_path / "throttle", clock)
    attacker = from_client("203.0.113.7")
    statuses = [
        client.get("/", headers=basic(f"user{n}", "guess"), environ_base=attacker).status_code
        for n in range(120)
    ]
    assert statuses[: auth.FREE_FAILURES] == [401] * auth.FREE_FAILURES
    assert statuses[auth.FREE_FAILURES :] == [429] * (120 - auth.FREE_FAILURES)
    assert len(hash_checks) == auth.FREE_FAILURES  # locked requests check no password

    locked = client.get("/", headers=basic("alice", "s3cret"), environ_base=attacker)
    assert locked.status_code == 429  # even the right password waits
    assert locked.headers["Retry-After"] == "1"
    assert "WWW-Authenticate" not in locked.headers
    for expected_wait in (2, 4, 8):
        clock.now += float(locked.headers["Retry-After"])
        assert (
            client.get("/", headers=basic("x", "guess"), environ_base=attacker).status_code == 401
        )
        locked = client.get("/", headers=basic("alice", "s3cret"), environ_base=attacker)
        assert (locked.status_code, locked.headers["Retry-After"]) == (429, str(expected_wait))
    # Another client is not held up by this one.
    other = client.get("/", headers=basic("alice", "s3cret"), environ_base=from_client("10.0.0.2"))
    assert other.status_code == 200


def test_wrong_passwords_for_one_user_lock_that_user_from_every_client(
    users_file: Path, tmp_path: Path
) -> None:
    clock = FakeClock()
    client = throttled_app(users_file, tmp_path / "throttle", clock)
    for n in range(auth.FREE_FAILURES):
        wrong = client.get(
            "/", headers=basic("alice", "guess"), environ_base=from_client(f"10.0.1.{n}")
        )
        assert wrong.status_code == 401
    elsewhere = from_client("10.0.2.1")
    assert (
        client.get("/", headers=basic("alice", "s3cret"), environ_base=elsewhere).status_code == 429
    )
    assert (
        client.get("/", headers=basic("bob", "s3cret"), environ_base=elsewhere).status_code == 200
    )
    clock.now += 1
    assert (
        client.get("/", headers=basic("alice", "s3cret"), environ_base=elsewhere).status_code == 200
    )
    # Success starts the count over: one new mistake does not lock.
    assert (
        client.get("/", headers=basic("alice", "oops"), environ_base=elsewhere).status_code == 401
    )
    assert (
        client.get("/", headers=basic("alice", "s3cret"), environ_base=elsewhere).status_code == 200
    )


def test_failures_are_forgotten_after_a_quiet_hour(users_file: Path, tmp_path: Path) -> None:
    clock = FakeClock()
    client = throttled_app(users_file, tmp_path / "throttle", clock)
    for _ in range(auth.FREE_FAILURES - 1):
        assert client.get("/", headers=basic("alice", "guess")).status_code == 401
    clock.now += auth.FORGET_AFTER_S + 1
    assert client.get("/", headers=basic("alice", "guess")).status_code == 401
    assert client.get("/", headers=basic("alice", "s3cret")).status_code == 200  # not locked


def test_the_lockout_is_shared_by_workers_using_the_same_directory(
    users_file: Path, tmp_path: Path
) -> None:
    clock = FakeClock()
    first = throttled_app(users_file, tmp_path / "throttle", clock)
    second = throttled_app(users_file, tmp_path / "throttle", clock)
    for _ in range(auth.FREE_FAILURES):
        first.get("/", headers=basic("alice", "guess"))
    assert second.get("/", headers=basic("bob", "s3cret")).status_code == 429  # same client


def test_signed_in_users_are_not_locked_out_by_an_attacker(
    users_file: Path, tmp_path: Path
) -> None:
    clock = FakeClock()
    client = throttled_app(users_file, tmp_path / "throttle", clock)
    signed_in = from_client("10.0.3.3")
    assert (
        client.get("/", headers=basic("alice", "s3cret"), environ_base=signed_in).status_code == 200
    )
    for n in range(auth.FREE_FAILURES + 3):
        client.get("/", headers=basic("alice", "guess"), environ_base=from_client(f"10.9.0.{n}"))
    assert (
        client.get("/", headers=basic("alice", "s3cret"), environ_base=signed_in).status_code == 200
    )


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(1, 0.0), (4, 0.0), (5, 1.0), (6, 2.0), (10, 32.0), (14, 512.0), (15, 900.0), (60, 900.0)],
)
def test_backoff_doubles_from_the_free_failures_up_to_the_cap(
    failures: int, seconds: float
) -> None:
    assert auth.backoff_s(failures) == seconds


def test_basic_auth_from_settings_counts_failures_in_the_cache_dir(
    tmp_path: Path, users_file: Path
) -> None:
    settings = load_settings(
        {"auth_mode": "basic", "auth_users_file": users_file, "cache_dir": tmp_path / "cache"},
        environ={},
        env_file=None,
    )
    assert AuthSettings.from_settings(settings).state_dir == tmp_path / "cache" / "auth"
