"""Which ``Host`` header values the app answers (``ALLOWED_HOSTS``): a defence against DNS
rebinding, where a web page on an attacker's domain, once its name resolves to 127.0.0.1, reads a
loopback install that has no authentication.

Default (``ALLOWED_HOSTS`` unset): the loopback names ``localhost``, ``127.0.0.1`` and ``[::1]``
plus the bound ``HOST``; bound to a non-loopback address, also the machine's host names, and when
bound to every interface (``0.0.0.0`` or ``::``) their addresses too. A name of an attacker's
domain is never among them. ``*`` allows any host (for a reverse proxy that checks it itself).

Requests with another host get 400, except the liveness probe (load balancers and orchestrators
call it with the bare address of the instance; it says only "ok").
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Collection

from flask import Flask, Response, request

from metrics_dashboard.settings import Settings, is_loopback_host

log = logging.getLogger(__name__)

ANY_HOST = "*"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def host_name(address: str) -> str:
    """``address`` as it appears in a Host header (an IPv6 address in brackets, lower case)."""
    name = address.strip().lower()
    if ":" in name and not name.startswith("["):
        return f"[{name}]"
    return name


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """The host names the app answers for ``settings`` (``("*",)``: any)."""
    if settings.allowed_hosts:
        return settings.allowed_hosts
    names = [*LOOPBACK_NAMES, host_name(settings.host)]
    if not is_loopback_host(settings.host):
        names += [host_name(socket.gethostname()), host_name(socket.getfqdn())]
        if _is_wildcard(settings.host):
            names += [host_name(address) for address in _interface_addresses()]
    return tuple(dict.fromkeys(name for name in names if name))


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _interface_addresses() -> list[str]:
    import psutil  # a dependency of Dash's diskcache manager

    return [
        address.address.split("%", 1)[0]
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family in (socket.AF_INET, socket.AF_INET6)
    ]


def host_allowed(host: str, allowed: Collection[str]) -> bool:
    """Whether a Host header value (``name[:port]``) names one of ``allowed`` (see
    :func:`allowed_hosts`; ``.example.com`` also matches its subdomains). Werkzeug's
    ``host_is_trusted`` would do, but it cuts bracketed IPv6 entries at their first colon."""
    host = host.strip().lower()
    name = host[: host.index("]") + 1] if host.startswith("[") and "]" in host else host
    if not name.startswith("["):
        name = name.partition(":")[0]
    return any(
        name == entry or (entry.startswith(".") and (name == entry[1:] or name.endswith(entry)))
        for entry in allowed
    )


def install_host_check(
    server: Flask, hosts: Collection[str], *, open_paths: Collection[str]
) -> None:
    """Answer 400 to requests whose Host is not one of ``hosts`` (except ``open_paths``)."""
    if ANY_HOST in hosts:
        log.info("allowed hosts: any")
        return
    trusted = tuple(hosts)
    exempt = frozenset(open_paths)
    log.info("allowed hosts: %s", ", ".join(trusted))

    def check_host() -> Response | None:
        if request.path in exempt or host_allowed(request.host, trusted):
            return None
        return Response(
            "bad request: this host name is not served here (see ALLOWED_HOSTS)\n",
            status=400,
            mimetype="text/plain",
        )

    server.before_request(check_host)
