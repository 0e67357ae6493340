"""Production features of the Flask server under Dash, installed by one call at the end of
``metrics_dashboard.web.app.create_app``: security headers, allowed hosts, authentication,
probes, metrics and logs.

The Content-Security-Policy was checked in headless Chromium against Dash 4.4 and plotly.js
(graphs, gauges, pies, heatmaps, clientside and server callbacks, debug mode):

- ``script-src 'self'`` plus the hashes of Dash's inline scripts (``app.csp_hashes()``); no
  ``'unsafe-eval'``: the plotly.js bundle Dash serves renders these traces without it.
- ``style-src 'self' 'unsafe-inline'``: plotly.js adds ``<style>`` rules and style attributes
  at run time; without it the charts lose their layout (modebar, hover labels, drag layers).
  Scripts stay locked down, which is what stops injected markup from running.
- ``img-src`` allows ``data:`` and ``blob:`` for Bootstrap's inline SVG icons and plotly's
  "download as PNG".
"""

from __future__ import annotations

from collections.abc import Iterable

import dash
from flask import Response

from data_access.report_store import MAX_UPLOAD_BYTES
from metrics_dashboard.settings import Settings, check_debug_allowed
from metrics_dashboard.web.auth import AuthSettings, install_authentication
from metrics_dashboard.web.callback_guard import install_callback_guard
from metrics_dashboard.web.hosts import allowed_hosts, install_host_check
from metrics_dashboard.web.observability import install_observability

# Uploads travel base64-encoded inside the callback's JSON (4/3 of the file): this leaves room
# for a file somewhat over MAX_UPLOAD_BYTES to get the store's clear "too large" message,
# while anything far bigger is refused (413) before it is read into memory.
MAX_REQUEST_BYTES = 2 * MAX_UPLOAD_BYTES

STATIC_SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(script_hashes: Iterable[str]) -> str:
    """The policy for the app's pages, allowing the inline scripts with these hashes."""
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def install_security_headers(app: dash.Dash) -> None:
    """Security headers on every response; JSON responses (callback results, which may carry
    report data and downloads) are never stored by browsers or proxies."""

    def add_headers(response: Response) -> Response:
        # Computed per response (a few microseconds): Dash registers some inline scripts, such
        # as the pages router's, only when the first request arrives, and may list one twice.
        hashes = dict.fromkeys(app.csp_hashes())
        response.headers["Content-Security-Policy"] = content_security_policy(hashes)
        for name, value in STATIC_SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "application/json":
            response.headers["Cache-Control"] = "no-store"
        return response

    app.server.after_request(add_headers)


def install_server_features(
    app: dash.Dash, settings: Settings, *, auth: AuthSettings | None = None
) -> None:
    """Install everything on ``app``'s server; call it once pages and callbacks are registered.

    ``auth`` defaults to the ``AUTH_*`` settings. Raises
    :class:`~metrics_dashboard.settings.SettingsError` for invalid authentication settings or
    users file, so a misconfigured server never starts.
    """
    # load_settings refuses it already; this also covers settings changed with with_overrides.
    check_debug_allowed(debug=settings.debug, host=settings.host, flask_env=settings.flask_env)
    server = app.server
    if server.config.get("MAX_CONTENT_LENGTH") is None:
        server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    auth_settings = auth if auth is not None else AuthSettings.from_settings(settings)
    # Order matters: the request id and timer start before the host and identity checks run,
    # so refused requests are logged too; the headers are added to every response, refusals
    # included.
    open_paths = install_observability(app, settings)
    install_host_check(server, allowed_hosts(settings), open_paths=open_paths)
    install_authentication(server, auth_settings, open_paths=open_paths)
    install_callback_guard(app)
    install_security_headers(app)
