"""The Dash app: ``create_app(settings)`` builds it (the WSGI server, the CLI's ``serve`` and
``worker`` and the tests all start here).

The shell holds what every page shares: the navbar, the ``app-url`` location that callbacks use
to navigate, the ``app-theme`` store (localStorage) and the background-callback manager. Pages
live in ``pages/`` and register themselves; every asset is served locally (no CDN).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, dcc, html

from components.layout import navbar
from metrics_dashboard.settings import PROJECT_ROOT, Settings
from metrics_dashboard.web import jobs
from metrics_dashboard.web.callback_guard import callback_error_handler
from metrics_dashboard.web.context import set_settings
from metrics_dashboard.web.server import install_server_features

PAGES_PACKAGE = "pages"
THEME_SCRIPT = "theme.js"
VENDOR_STYLESHEETS = (
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap-icons/bootstrap-icons.min.css",
)

# theme.js runs in <head>, before the body renders, so a saved dark theme never flashes light.
_INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        <script src="THEME_SCRIPT_URL"></script>
        {%css%}
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def create_app(settings: Settings) -> dash.Dash:
    """The app for ``settings`` (also made available to pages through ``get_settings()``)."""
    set_settings(settings)
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder="",  # imported by _import_pages()
        assets_folder=str(PROJECT_ROOT / "assets"),
        # Loaded explicitly: Bootstrap before app.css, theme.js in <head>.
        assets_ignore="^" + re.escape(THEME_SCRIPT) + "$",
        assets_path_ignore=["vendor"],
        # Page components exist only while their page is shown.
        suppress_callback_exceptions=True,
        background_callback_manager=jobs.background_manager(settings),
        # A callback that raises answers a no-op, or its analysis page says why (not a 500).
        on_error=callback_error_handler,
        # gzip/brotli responses (flask-compress): callback and layout JSON shrink several-fold.
        compress=True,
        title="Metrics Dashboard",
        update_title=None,
        include_pages_meta=False,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.config.external_stylesheets = [app.get_asset_url(path) for path in VENDOR_STYLESHEETS]
    app.index_string = _INDEX_TEMPLATE.replace("THEME_SCRIPT_URL", app.get_asset_url(THEME_SCRIPT))
    app.server.secret_key = settings.secret_key
    _import_pages()
    app.layout = shell_layout()
    _register_theme_callbacks(app)
    install_server_features(app, settings)
    return app


def _import_pages() -> None:
    """Import every module of ``pages/`` (each one calls ``dash.register_page``).

    Dash's own discovery would name the modules after the folder of the module that builds the
    app, which is not the project root, so they are imported here under their package names
    (``pages.home``). As with Dash's discovery, each app gets fresh page modules: every app built
    in one process (the tests build several) registers its own callbacks.
    """
    package = importlib.import_module(PAGES_PACKAGE)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        name = f"{PAGES_PACKAGE}.{info.name}"
        module = sys.modules.get(name)
        module = importlib.reload(module) if module else importlib.import_module(name)
        page = dash.page_registry[name]
        if not page["supplied_layout"]:
            page["layout"] = module.layout


def shell_layout() -> html.Div:
    """Navbar, shared stores and the page container."""
    return html.Div(
        [
            dcc.Location(id="app-url", refresh="callback-nav"),
            dcc.Store(id="app-theme", storage_type="local", data="light"),
            navbar(theme_toggle_id="app-theme-toggle"),
            dbc.Container(dash.page_container, fluid="xxl", class_name="app-main pb-5"),
        ],
        className="app-shell",
    )


def _register_theme_callbacks(app: dash.Dash) -> None:
    # Clientside (functions in assets/theme.js): switching theme needs no server round trip.
    app.clientside_callback(
        ClientsideFunction(namespace="theme", function_name="toggle"),
        Output("app-theme", "data"),
        Input("app-theme-toggle", "n_clicks"),
        State("app-theme", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="theme", function_name="apply"),
        Output("app-theme-toggle", "title"),
        Input("app-theme", "data"),
    )
