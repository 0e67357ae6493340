"""Who may use the web app: nobody checked (a local single user), HTTP basic auth, or an identity
header set by a single sign-on reverse proxy. One setting, ``AUTH_MODE``, chooses.

- ``none`` (default): no check; the app binds 127.0.0.1 unless told otherwise.
- ``basic``: HTTP basic auth against ``AUTH_USERS_FILE``, lines ``user:hash`` where ``hash`` is a
  :func:`werkzeug.security.generate_password_hash` value (plain-text passwords are refused when
  the file is read). Write it with :func:`add_user` (``metrics-dashboard add-user``).
- ``header``: the user named by ``AUTH_HEADER`` (default ``X-Forwarded-User``), trusted only on
  requests whose peer address is in ``AUTH_TRUSTED_PROXIES`` (default loopback), so that nobody
  can bypass the proxy and name themselves. The value is decoded as UTF-8 (strictly), and a
  request carrying the header twice (WSGI servers join the copies with a comma) is refused.

Every path needs an identity except the ones passed as ``open_paths`` (the liveness probe).
Settings problems raise :class:`~metrics_dashboard.settings.SettingsError` at start-up, with a
message naming the variable or the users file and line.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import ipaddress
import logging
import math
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from flask import Flask, Request, Response, g, request
from werkzeug.security import check_password_hash, generate_password_hash

from metrics_dashboard.settings import (
    AUTH_MODES,
    DEFAULT_AUTH_HEADER,
    DEFAULT_TRUSTED_PROXIES,
    IpNetwork,
    Settings,
    SettingsError,
    parse_networks,
)

log = logging.getLogger(__name__)

REALM = "Metrics Dashboard"
# Failed basic-auth logins, counted per client address and per user name: the first
# FREE_FAILURES are free; each further one locks that client or name for BACKOFF_BASE_S, doubled
# at every failure, up to BACKOFF_MAX_S. A count with no failure for FORGET_AFTER_S starts over.
FREE_FAILURES = 5
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 900.0
FORGET_AFTER_S = 3600.0
# The counts live in a diskcache shared by every web worker; least recently stored go first.
THROTTLE_SIZE_LIMIT_BYTES = 16 * 1024 * 1024
# A successful basic-auth check is remembered this long: password hashing is deliberately slow
# (about 0.1 s with scrypt) and a browser sends the credentials with every request.
VERIFIED_CREDENTIALS_TTL_S = 600.0
VERIFIED_CREDENTIALS_MAX = 1024
MAX_IDENTITY_LENGTH = 256

# RFC 7617 forbids ':' in a basic-auth user id; the rest keeps names readable in logs.
_USER_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_USER_NAME_RULE = "1 to 64 letters, digits or . _ @ + -"
# What werkzeug.security.generate_password_hash writes: method$salt$hex digest, where method is
# scrypt[:n:r:p] or pbkdf2[:hash name[:iterations]].
_PASSWORD_HASH = re.compile(
    r"(?P<method>scrypt(:[0-9]+){0,3}|pbkdf2(:(?P<digest>[a-z0-9_]+)(:[0-9]+)?)?)"
    r"\$[^$\s]+\$[0-9a-f]+"
)


# --- settings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthSettings:
    """The authentication settings; ``users_file`` is required in ``basic`` mode."""

    mode: str = "none"
    users_file: Path | None = None
    header: str = DEFAULT_AUTH_HEADER
    trusted_proxies: tuple[IpNetwork, ...] = parse_networks(
        "AUTH_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES
    )
    # Where failed logins are counted (shared by the web workers); None: a temporary directory.
    state_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.mode not in AUTH_MODES:
            raise SettingsError(f"AUTH_MODE={self.mode!r} is not one of {', '.join(AUTH_MODES)}")
        if self.mode == "basic" and self.users_file is None:
            raise SettingsError(
                "AUTH_MODE=basic needs AUTH_USERS_FILE, the users file written by "
                "'metrics-dashboard add-user'"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthSettings:
        return cls(
            mode=settings.auth_mode,
            users_file=settings.auth_users_file,
            header=settings.auth_header,
            trusted_proxies=settings.auth_trusted_proxies,
            state_dir=settings.cache_dir / "auth",
        )


# --- the users file ----------------------------------------------------------------------


def hash_password(password: str) -> str:
    """A salted, deliberately slow hash of ``password`` (werkzeug's default method, scrypt)."""
    if not password:
        raise ValueError("the password is empty")
    return generate_password_hash(password)


def check_user_name(user: str) -> str:
    if not _USER_NAME.fullmatch(user):
        raise SettingsError(f"invalid user name {user!r}: use {_USER_NAME_RULE}")
    return user


def load_users(path: Path) -> dict[str, str]:
    """``{user: password hash}`` from a users file; SettingsError naming the file and line.

    Blank lines and lines starting with ``#`` are ignored.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(
            f"AUTH_USERS_FILE {path} does not exist: create it with 'metrics-dashboard add-user'"
        ) from None
    except UnicodeDecodeError as error:
        raise SettingsError(
            f"AUTH_USERS_FILE {path} is not UTF-8 text (byte {error.start})"
        ) from None
    except OSError as error:
        raise SettingsError(
            f"cannot read AUTH_USERS_FILE {path}: {error.strerror or error}"
        ) from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        user, separator, password_hash = entry.partition(":")
        where = f"{path} line {number}"
        if not separator:
            raise SettingsError(f"{where}: expected user:password-hash")
        if not _USER_NAME.fullmatch(user):
            raise SettingsError(f"{where}: invalid user name {user!r} ({_USER_NAME_RULE})")
        if not _is_password_hash(password_hash):
            # Never echo the value: it may be a plain-text password.
            raise SettingsError(
                f"{where}: the password of {user!r} is not a password hash (plain-text passwords "
                "are refused); set it with 'metrics-dashboard add-user'"
            )
        if user in users:
            raise SettingsError(f"{where}: user {user!r} is listed twice")
        users[user] = password_hash
    _warn_if_readable_by_others(path)
    return users


def _is_password_hash(text: str) -> bool:
    match = _PASSWORD_HASH.fullmatch(text)
    # An unknown digest name would only fail at the first login: refuse it now.
    return match is not None and match["digest"] in (None, *hashlib.algorithms_available)


def add_user(users_file: Path, user: str, password: str) -> bool:
    """Add ``user`` with ``password`` (hashed) to the users file, or replace their password.

    The file is created readable by its owner only and rewritten atomically; its other lines,
    comments included, are kept. Returns True when the user was new. Raises SettingsError for
    an invalid user name, an empty password or a malformed existing file, OSError when the file
    cannot be written.
    """
    check_user_name(user)
    if not password:
        raise SettingsError("the password is empty")
    users_file = Path(users_file)
    lines: list[str] = []
    if users_file.exists():
        load_users(users_file)  # refuse to rewrite a file that is already malformed
        lines = users_file.read_text(encoding="utf-8").splitlines()
    entry = f"{user}:{hash_password(password)}"
    position = next(
        (
            index
            for index, line in enumerate(lines)
            if line.strip().partition(":")[0] == user and not line.strip().startswith("#")
        ),
        None,
    )
    if position is None:
        lines.append(entry)
    else:
        lines[position] = entry
    _write_private(users_file, "\n".join(lines) + "\n")
    return position is None


def prompt_password(stdin: TextIO | None = None, stderr: TextIO | None = None) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input.

    Never from the command line, where other local users could read it in the process list.
    """
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("New password: ", stream=stderr)
        if first != getpass.getpass("Repeat it: ", stream=stderr):
            raise SettingsError("the two passwords differ")
        password = first
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise SettingsError("the password is empty")
    return password


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600; the rename keeps it.
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def _warn_if_readable_by_others(path: Path) -> None:
    with suppress(OSError):
        if path.stat().st_mode & 0o077:
            log.warning("%s is readable by other users: chmod 600 it", path)


# --- checking requests -------------------------------------------------------------------


@dataclass(frozen=True)
class Denied:
    """Why a request is refused, as the response will say it."""

    status: int
    message: str
    challenge: str | None = None  # the WWW-Authenticate header value, for 401
    retry_after_s: int | None = None  # the Retry-After header value, for 429


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> str | Denied:
        """The user's name, or why the request is refused."""
        ...


class LoginThrottle:
    """Failed logins per key (``client:ADDRESS``, ``user:NAME``) with exponential backoff.

    Kept in a diskcache (SQLite) so that every thread and every web worker sharing ``directory``
    sees the same counts; each update is one transaction. The cache is bounded in size (least
    recently stored entries go first) and entries expire after they stop mattering. ``clock``
    gives wall-clock seconds (shared by processes); tests pass their own.
    """

    def __init__(
        self, directory: Path | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        import diskcache

        self._cache = diskcache.Cache(
            None if directory is None else str(directory),
            size_limit=THROTTLE_SIZE_LIMIT_BYTES,
            eviction_policy="least-recently-stored",
        )
        self._clock = clock

    def locked_for(self, keys: Collection[str]) -> float:
        """Seconds until every key may try again (0: now)."""
        now = self._clock()
        return max([0.0, *(self._entry(key)[2] - now for key in keys)])

    def failed(self, keys: Collection[str]) -> None:
        now = self._clock()
        for key in keys:
            with self._cache.transact():
                count, last, _ = self._entry(key)
                count = 1 if now - last > FORGET_AFTER_S else count + 1
                locked_until = now + backoff_s(count) if count >= FREE_FAILURES else 0.0
                self._cache.set(
                    key, (count, now, locked_until), expire=FORGET_AFTER_S + BACKOFF_MAX_S
                )

    def succeeded(self, keys: Collection[str]) -> None:
        for key in keys:
            self._cache.delete(key)

    def _entry(self, key: str) -> tuple[int, float, float]:
        """(failures, time of the last one, locked until)."""
        return self._cache.get(key, (0, 0.0, 0.0))


def backoff_s(failures: int) -> float:
    """How long the ``failures``-th failure in a row locks its client or user name."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(BACKOFF_BASE_S * 2.0 ** (failures - FREE_FAILURES), BACKOFF_MAX_S)


class BasicAuthenticator:
    """HTTP basic auth against a users mapping, in constant time per check.

    An unknown user costs the same hash computation as a wrong password, so response times do
    not reveal which user names exist. Successful checks are remembered for a while, keyed by
    a keyed hash of the credentials (never the password itself). Failed checks are throttled
    per client address and per user name (:class:`LoginThrottle`): while either is locked,
    requests get 429 with Retry-After and no password is checked; remembered credentials still
    pass, so an attacker cannot lock out a user who is already signed in.
    """

    def __init__(
        self,
        users: Mapping[str, str],
        *,
        ttl_s: float = VERIFIED_CREDENTIALS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._users = dict(users)
        self._throttle = throttle if throttle is not None else LoginThrottle()
        self._decoy_hash = hash_password(secrets.token_urlsafe(16))
        self._cache_key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        self._ttl_s = ttl_s
        self._clock = clock
        self._challenge = f'Basic realm="{REALM}", charset="UTF-8"'

    def authenticate(self, request: Request) -> str | Denied:
        credentials = request.authorization
        if credentials is None or credentials.type != "basic":
            return Denied(401, "authentication required", self._challenge)
        user, password = credentials.username or "", credentials.password or ""
        if self._recently_verified(user, password):
            return user
        keys = (f"client:{request.remote_addr or '-'}", f"user:{user[:MAX_IDENTITY_LENGTH]}")
        wait_s = self._throttle.locked_for(keys)
        if wait_s > 0:
            retry_after = math.ceil(wait_s)
            return Denied(
                429, f"too many failed logins: try again in {retry_after} s", None, retry_after
            )
        if self._verify(user, password):
            self._throttle.succeeded(keys)
            return user
        self._throttle.failed(keys)
        log.warning(
            "basic auth refused for user %r from %s", user[:MAX_IDENTITY_LENGTH], keys[0][7:]
        )
        return Denied(401, "wrong user name or password", self._challenge)

    def _verify(self, user: str, password: str) -> bool:
        stored = self._users.get(user)
        matches = check_password_hash(stored or self._decoy_hash, password)
        if stored is None or not matches:
            return False
        with self._lock:
            self._verified[self._digest(user, password)] = self._clock() + self._ttl_s
            while len(self._verified) > VERIFIED_CREDENTIALS_MAX:
                self._verified.popitem(last=False)
        return True

    def _recently_verified(self, user: str, password: str) -> bool:
        digest = self._digest(user, password)
        with self._lock:
            expires = self._verified.get(digest)
            if expires is None:
                return False
            if expires < self._clock():
                del self._verified[digest]
                return False
            return True

    def _digest(self, user: str, password: str) -> bytes:
        material = user.encode("utf-8", "surrogateescape") + b"\0"
        material += password.encode("utf-8", "surrogateescape")
        return hmac.new(self._cache_key, material, hashlib.sha256).digest()


class ProxyHeaderAuthenticator:
    """The identity a trusted reverse proxy put in ``header``.

    Only the direct peer's address counts (a proxy chain is the proxy's business): behind a
    ``ProxyFix``-style middleware, the address it replaced is used, because the forwarded one is
    chosen by the client.
    """

    def __init__(self, header: str, trusted_proxies: Collection[IpNetwork]) -> None:
        self._header = header
        self._trusted = tuple(trusted_proxies)

    def authenticate(self, request: Request) -> str | Denied:
        peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get(
            "REMOTE_ADDR", request.environ.get("REMOTE_ADDR")
        )
        if not self._is_trusted(peer):
            log.warning("request from %s refused: not a trusted proxy", peer)
            return Denied(403, "forbidden: requests must come through the single sign-on proxy")
        raw = request.headers.get(self._header) or ""
        # WSGI servers join a repeated header's values with commas: a comma means the header
        # came more than once (a client's copy beside the proxy's), so no value can be trusted.
        if "," in raw:
            return Denied(400, f"bad request: {self._header} was sent more than once")
        try:
            # WSGI hands header bytes over as latin-1 text; the proxy sends UTF-8.
            identity = raw.encode("latin-1").decode("utf-8").strip()
        except UnicodeError:
            return Denied(400, f"bad request: {self._header} is not UTF-8")
        if not identity or len(identity) > MAX_IDENTITY_LENGTH or not identity.isprintable():
            return Denied(401, f"authentication required: the proxy sent no valid {self._header}")
        return identity

    def _is_trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address((peer or "").split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._trusted)


def build_authenticator(settings: AuthSettings) -> Authenticator | None:
    """The checker for ``settings`` (None in ``none`` mode); reads the users file now, so a
    problem with it stops start-up."""
    if settings.mode == "basic":
        assert settings.users_file is not None  # guaranteed by AuthSettings
        users = load_users(settings.users_file)
        if not users:
            raise SettingsError(
                f"AUTH_USERS_FILE {settings.users_file} has no users: "
                "add one with 'metrics-dashboard add-user'"
            )
        return BasicAuthenticator(users, throttle=LoginThrottle(settings.state_dir))
    if settings.mode == "header":
        return ProxyHeaderAuthenticator(settings.header, settings.trusted_proxies)
    return None


def install_authentication(
    server: Flask, settings: AuthSettings, *, open_paths: Collection[str]
) -> None:
    """Refuse requests without an identity (except to ``open_paths``); put the user's name in
    ``flask.g.user`` for the access log."""
    authenticator = build_authenticator(settings)
    if authenticator is None:
        return
    log.info("authentication: %s", settings.mode)
    exempt = frozenset(open_paths)

    def require_identity() -> Response | None:
        if request.path in exempt:
            return None
        outcome = authenticator.authenticate(request)
        if isinstance(outcome, Denied):
            return denial_response(outcome)
        g.user = outcome
        return None

    server.before_request(require_identity)


def denial_response(denied: Denied) -> Response:
    response = Response(denied.message + "\n", status=denied.status, mimetype="text/plain")
    if denied.challenge:
        response.headers["WWW-Authenticate"] = denied.challenge
    if denied.retry_after_s is not None:
        response.headers["Retry-After"] = str(denied.retry_after_s)
    return response
