"""Server features: security headers and CSP (checked in headless Chromium), request limits,
and the order in which authentication, probes and headers apply."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import dash
import plotly.graph_objects as go
import pytest
from dash import Input, Output, dcc, html
from playwright.sync_api import Browser
from werkzeug.serving import make_server

from metrics_dashboard.settings import Settings, SettingsError, load_settings, with_overrides
from metrics_dashboard.web.auth import AuthSettings, add_user
from metrics_dashboard.web.server import (
    MAX_REQUEST_BYTES,
    content_security_policy,
    install_server_features,
)

CLIENTSIDE_SCRIPT = "function(n) { return 'client ' + (n || 0); }"


@pytest.fixture
def settings(tmp_path: Path, tiny_source_dir: Path) -> Settings:
    return load_settings(
        environ={
            "DATA_SOURCE": str(tiny_source_dir),
            "OUTPUT_DIR": str(tmp_path / "output"),
            "CACHE_DIR": str(tmp_path / "cache"),
            "FLASK_SECRET_KEY": "test-secret",
        },
        env_file=None,
    )


def make_app(settings: Settings, *, auth: AuthSettings | None = None) -> dash.Dash:
    """A small app with what the real one uses: graphs of several trace types, an inline
    clientside callback and a server callback."""
    app = dash.Dash(__name__)
    app.layout = html.Div(
        [
            html.Button("go", id="go"),
            html.Div(id="client-out"),
            html.Div(id="server-out"),
            dcc.Graph(id="line", figure=go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2]))),
            dcc.Graph(id="gauge", figure=go.Figure(go.Indicator(mode="gauge+number", value=70))),
            dcc.Graph(id="donut", figure=go.Figure(go.Pie(values=[1, 2, 3], hole=0.5))),
            dcc.Graph(id="heatmap", figure=go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))),
        ]
    )
    app.clientside_callback(
        CLIENTSIDE_SCRIPT, Output("client-out", "children"), Input("go", "n_clicks")
    )

    @app.callback(Output("server-out", "children"), Input("go", "n_clicks"))
    def server_side(n_clicks: int | None) -> str:
        return f"server {n_clicks or 0}"

    install_server_features(app, settings, auth=auth or AuthSettings())
    return app


def callback_body(n_clicks: int) -> dict[str, object]:
    return {
        "output": "server-out.children",
        "outputs": {"id": "server-out", "property": "children"},
        "inputs": [{"id": "go", "property": "n_clicks", "value": n_clicks}],
        "changedPropIds": ["go.n_clicks"],
    }


# --- headers -----------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(settings: Settings) -> None:
    client = make_app(settings).server.test_client()
    for response in (client.get("/"), client.get("/_dash-layout"), client.get("/healthz")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert "object-src 'none'" in policy
        assert "unsafe-eval" not in policy


def test_the_policy_allows_exactly_the_inline_scripts_of_the_app(settings: Settings) -> None:
    app = make_app(settings)
    page = app.server.test_client().get("/")
    policy = page.headers["Content-Security-Policy"]
    script_sources = next(
        part for part in policy.split("; ") if part.startswith("script-src ")
    ).split()[1:]
    assert script_sources == ["'self'", *app.csp_hashes()]
    assert CLIENTSIDE_SCRIPT in page.get_data(as_text=True)  # inline, hence hashed
    assert len(app.csp_hashes()) == 2  # the clientside callback and Dash's renderer


def test_content_security_policy_directives() -> None:
    policy = content_security_policy(["'sha256-abc='"])
    assert policy.startswith("default-src 'self'; script-src 'self' 'sha256-abc='; ")
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "img-src 'self' data: blob:" in policy
    assert "connect-src 'self'" in policy
    assert "base-uri 'self'" in policy


def test_callback_responses_are_not_stored(settings: Settings) -> None:
    client = make_app(settings).server.test_client()
    client.get("/")
    response = client.post("/_dash-update-component", json=callback_body(3))
    assert response.status_code == 200
    assert response.json["response"]["server-out"]["children"] == "server 3"
    assert response.headers["Cache-Control"] == "no-store"
    asset = client.get("/_favicon.ico")
    assert "no-store" not in asset.headers.get("Cache-Control", "")


def test_oversized_request_bodies_are_refused_before_parsing(settings: Settings) -> None:
    app = make_app(settings)
    assert app.server.config["MAX_CONTENT_LENGTH"] == MAX_REQUEST_BYTES
    client = app.server.test_client()
    response = client.post(
        "/_dash-update-component",
        data=b"{" + b" " * MAX_REQUEST_BYTES + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413


# --- allowed hosts (DNS rebinding) -------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "localhost:5001", "127.0.0.1:5001", "[::1]:5001"])
def test_loopback_names_are_served_by_default(settings: Settings, host: str) -> None:
    client = make_app(settings).server.test_client()
    assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["rebind.attacker.example", "rebind.attacker.example:5001", "10.0.0.1"]
)
def test_another_host_gets_400_but_the_liveness_probe_answers(
    settings: Settings, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(settings).server.test_client()
    with caplog.at_level(logging.INFO, logger="metrics_dashboard.access"):
        for path in ("/", "/_dash-layout", "/readyz", "/metrics"):
            refused = client.get(path, headers={"Host": host})
            assert refused.status_code == 400, path
            assert "ALLOWED_HOSTS" in refused.get_data(as_text=True)
    assert "Content-Security-Policy" in refused.headers
    assert any("status=400" in record.getMessage() for record in caplog.records)  # logged
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_allowed_hosts_names_hosts_and_domains(settings: Settings) -> None:
    configured = with_overrides(settings, allowed_hosts=("dash.example.com", ".corp.example"))
    client = make_app(configured).server.test_client()
    for host, status in [
        ("dash.example.com", 200),
        ("DASH.example.com:443", 200),
        ("corp.example", 200),
        ("team.corp.example", 200),
        ("evilcorp.example", 400),
        ("localhost", 400),  # the setting replaces the default
    ]:
        assert client.get("/", headers={"Host": host}).status_code == status, host


def test_a_star_allows_any_host(settings: Settings) -> None:
    client = make_app(with_overrides(settings, allowed_hosts=("*",))).server.test_client()
    assert client.get("/", headers={"Host": "anything.example"}).status_code == 200


def test_bound_to_another_address_the_default_adds_it_and_the_machine_names(
    settings: Settings,
) -> None:
    import socket

    from metrics_dashboard.web.hosts import allowed_hosts

    bound = allowed_hosts(with_overrides(settings, host="10.1.2.3"))
    assert bound[:4] == ("localhost", "127.0.0.1", "[::1]", "10.1.2.3")
    assert socket.gethostname().lower() in bound
    assert "rebind.attacker.example" not in bound
    everywhere = allowed_hosts(with_overrides(settings, host="0.0.0.0"))
    assert "127.0.0.1" in everywhere and "0.0.0.0" in everywhere
    assert allowed_hosts(with_overrides(settings, host="::1")) == (
        "localhost",
        "127.0.0.1",
        "[::1]",
    )


# --- authentication wiring ---------------------------------------------------------------


def test_basic_auth_guards_everything_but_the_liveness_probe(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    users = tmp_path / "users"
    add_user(users, "alice", "correct horse")
    app = make_app(settings, auth=AuthSettings(mode="basic", users_file=users))
    client = app.server.test_client()

    with caplog.at_level(logging.INFO, logger="metrics_dashboard.access"):
        refused = client.get("/", headers={"X-Request-ID": "abc-123"})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic ")
    assert "Content-Security-Policy" in refused.headers  # refusals get the headers too
    assert refused.headers["X-Request-ID"] == "abc-123"
    assert any("status=401" in record.getMessage() for record in caplog.records)

    for path in ("/readyz", "/metrics", "/_dash-layout"):
        assert client.get(path).status_code == 401, path
    assert client.get("/healthz").status_code == 200

    token = base64.b64encode(b"alice:correct horse").decode()
    assert client.get("/", headers={"Authorization": f"Basic {token}"}).status_code == 200


def test_invalid_authentication_settings_stop_start_up(settings: Settings, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("alice:plain-text-password\n")
    with pytest.raises(SettingsError, match=r"users line 1: the password of 'alice'"):
        make_app(settings, auth=AuthSettings(mode="basic", users_file=users))


# --- in a real browser -------------------------------------------------------------------


@pytest.fixture
def served_app(settings: Settings) -> Iterator[str]:
    """The test app on a free loopback port, in a thread of this process."""
    server = make_server("127.0.0.1", 0, make_app(settings).server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


# Collects CSP violations as the page reports them; added before any page script runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@pytest.mark.browser
def test_pages_render_under_the_policy_without_violations(
    served_app: str, browser: Browser
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.add_init_script(RECORD_VIOLATIONS)
        response = page.goto(served_app + "/")
        assert response is not None
        assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]

        for graph in ("line", "gauge", "donut", "heatmap"):
            expect(page.locator(f"#{graph} .main-svg").first).to_be_visible(timeout=30_000)
        expect(page.locator("#client-out")).to_have_text("client 0")
        expect(page.locator("#server-out")).to_have_text("server 0")
        page.click("#go")
        expect(page.locator("#client-out")).to_have_text("client 1")
        expect(page.locator("#server-out")).to_have_text("server 1")
        page.locator("#line .nsewdrag").first.hover()  # hover labels use injected styles

        violations = page.evaluate("window.__cspViolations")
    finally:
        context.close()
    assert violations == []
    problems = [line for line in console if line.startswith(("error", "pageerror", "warning"))]
    assert problems == [], json.dumps(problems, indent=1)
