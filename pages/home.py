"""Home: one card per module with the latest report's headline and the way in, and a banner
when the data source cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from components.layout import icon, page_header
from components.reports import KIND_TITLES, dashboard_href, latest_report_summary
from data_access.base import DataSourceError
from data_access.report_store import ReportStore, ReportStoreError
from metrics_dashboard.runner import data_source_for
from metrics_dashboard.web.context import get_settings

dash.register_page(__name__, path="/", name="Home", title="Metrics Dashboard", order=0)

MODULE_QUESTIONS: dict[str, tuple[str, str]] = {
    "availability": ("bi-activity", "Are our services available within their error budgets?"),
    "resilience": ("bi-shield-check", "Are our backups resilient enough to meet their RPO?"),
}


def layout(**_query: str) -> html.Div:
    store = ReportStore(get_settings().output_dir)
    cards = [dbc.Col(_module_card(kind=kind, store=store), lg=6) for kind in MODULE_QUESTIONS]
    return html.Div(
        [
            page_header(
                title="Metrics Dashboard",
                subtitle="Service availability against error budgets, backup resilience against RPO.",
            ),
            dbc.Alert(
                [
                    html.Div(
                        [icon(name="bi-plug"), html.Strong("The data source cannot be reached")]
                    ),
                    html.Div(id="home-source-message", className="alert-message"),
                    html.Div(
                        "Reports already written stay available; new analyses need the data.",
                        className="small mt-1",
                    ),
                    dbc.Button(
                        [icon(name="bi-arrow-clockwise"), "Retry"],
                        id="home-source-retry",
                        color="danger",
                        outline=True,
                        size="sm",
                        class_name="mt-2",
                        n_clicks=0,
                    ),
                ],
                id="home-source-alert",
                color="danger",
                is_open=False,
                class_name="app-alert",
            ),
            dbc.Row(cards, class_name="g-4"),
            html.P(id="home-source-description", className="small text-body-secondary mt-4"),
        ]
    )


def _module_card(*, kind: str, store: ReportStore) -> dbc.Card:
    card_icon, question = MODULE_QUESTIONS[kind]
    try:
        entry = store.latest(kind)
    except ReportStoreError as error:
        entry = None
        latest = html.P(f"Reports cannot be listed: {error}", className="text-danger")
    else:
        latest = latest_report_summary(entry=entry, kind=kind)
    return dbc.Card(
        [
            dbc.CardHeader(
                html.H2(
                    [icon(name=card_icon, class_name="me-2"), KIND_TITLES[kind]],
                    className="h4 mb-0",
                )
            ),
            dbc.CardBody(
                [html.P(question, className="lead fs-6 mb-3"), latest],
            ),
            dbc.CardFooter(
                html.Div(
                    [
                        dbc.Button(
                            [icon(name="bi-speedometer"), "Open dashboard"],
                            id=f"home-{kind}-open",
                            href=dashboard_href(kind=kind),
                            color="primary",
                            disabled=entry is None,
                        ),
                        dbc.Button(
                            [icon(name="bi-sliders"), "New configuration"],
                            id=f"home-{kind}-configure",
                            href=f"/{kind}/config",
                            color="primary",
                            outline=True,
                        ),
                        dbc.Button(
                            [icon(name="bi-list-ul"), "Reports"],
                            id=f"home-{kind}-reports",
                            href=f"/{kind}",
                            color="secondary",
                            outline=True,
                        ),
                    ],
                    className="d-flex flex-wrap gap-2",
                )
            ),
        ],
        id=f"home-{kind}-card",
        class_name="h-100 module-card",
    )


@callback(
    Output("home-source-alert", "is_open"),
    Output("home-source-message", "children"),
    Output("home-source-description", "children"),
    Input("home-source-retry", "n_clicks"),
)
def check_data_source(_n_clicks: int) -> tuple[bool, str, str]:
    """Ping the data source on load and on Retry."""
    try:
        source = data_source_for(get_settings())
        source.ping()
    except DataSourceError as error:
        # The time shows that Retry did check again, even when the answer is the same.
        checked = datetime.now(UTC).strftime("%H:%M:%S")
        return True, f"{error} (checked at {checked} UTC)", ""
    return False, "", f"Data source: {source.description}"
