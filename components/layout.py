"""The app's frame and the recurring pieces of every page: navbar, page header, empty states and
alerts."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import html
from dash.development.base_component import Component

# (label, href, icon, how the link is matched against the current path)
NAV_LINKS: tuple[tuple[str, str, str, str], ...] = (
    ("Home", "/", "bi-house", "exact"),
    ("Availability", "/availability", "bi-activity", "partial"),
    ("Resilience", "/resilience", "bi-shield-check", "partial"),
)


def icon(*, name: str, class_name: str = "me-1") -> html.I:
    """A Bootstrap icon (decorative: hidden from screen readers, always next to a text)."""
    return html.I(className=f"bi {name} {class_name}".strip(), **{"aria-hidden": "true"})


def navbar(*, theme_toggle_id: str) -> dbc.Navbar:
    """The top bar: brand, one link per module and the light/dark toggle."""
    links = [
        dbc.NavItem(
            dbc.NavLink([icon(name=link_icon), label], href=href, active=match, class_name="px-3")
        )
        for label, href, link_icon, match in NAV_LINKS
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [icon(name="bi-speedometer2", class_name="me-2"), "Metrics Dashboard"],
                    href="/",
                    class_name="fw-semibold",
                ),
                dbc.Nav(links, navbar=True, class_name="me-auto"),
                dbc.Button(
                    [
                        icon(name="bi-circle-half", class_name="me-1"),
                        html.Span("Theme", className="d-none d-md-inline"),
                    ],
                    id=theme_toggle_id,
                    color="secondary",
                    outline=True,
                    size="sm",
                    title="Switch between light and dark theme",
                    n_clicks=0,
                ),
            ],
            fluid=True,
        ),
        color="body-tertiary",
        dark=False,
        class_name="app-navbar border-bottom mb-4",
    )


def page_header(
    *,
    title: str,
    subtitle: str | None = None,
    actions: Sequence[Component] = (),
    title_icon: str | None = None,
) -> html.Div:
    """A page title with an optional one-line explanation and buttons on the right."""
    heading: list[Component | str] = [title]
    if title_icon:
        heading.insert(0, icon(name=title_icon, class_name="me-2"))
    text = [html.H1(heading, className="h3 mb-1")]
    if subtitle:
        text.append(html.P(subtitle, className="text-body-secondary mb-0"))
    return html.Div(
        [html.Div(text), html.Div(list(actions), className="d-flex flex-wrap gap-2")],
        className="page-header d-flex flex-wrap justify-content-between align-items-end gap-3 mb-4",
    )


def empty_state(
    *,
    title: str,
    message: str,
    actions: Sequence[Component] = (),
    component_id: str | None = None,
) -> html.Div:
    """What a page shows when there is nothing yet, with the way forward."""
    props = {"id": component_id} if component_id else {}
    return html.Div(
        [
            icon(name="bi-inbox", class_name="empty-state-icon d-block mb-2"),
            html.H2(title, className="h5"),
            html.P(message, className="text-body-secondary"),
            html.Div(list(actions), className="d-flex justify-content-center flex-wrap gap-2"),
        ],
        className="empty-state text-center border rounded-3 p-5",
        **props,
    )


def error_alert(
    *,
    message: str,
    title: str = "Something went wrong",
    retry_href: str | None = None,
    component_id: str | None = None,
) -> dbc.Alert:
    """A red alert saying what failed, in words the user can act on, with an optional retry."""
    body: list[Component | str] = [
        html.Div([icon(name="bi-exclamation-octagon-fill"), html.Strong(title)]),
        html.Div(message, className="alert-message"),
    ]
    if retry_href is not None:
        body.append(
            dbc.Button(
                [icon(name="bi-arrow-clockwise"), "Retry"],
                href=retry_href,
                external_link=True,
                color="danger",
                outline=True,
                size="sm",
                class_name="mt-2",
            )
        )
    props = {"id": component_id} if component_id else {}
    return dbc.Alert(body, color="danger", class_name="app-alert", **props)


def success_alert(
    *, message: str | Sequence[Component | str], title: str, component_id: str | None = None
) -> dbc.Alert:
    """A green alert confirming what happened (and, in ``message``, what to do next)."""
    props = {"id": component_id} if component_id else {}
    return dbc.Alert(
        [
            html.Div([icon(name="bi-check-circle-fill"), html.Strong(title)]),
            html.Div(message, className="alert-message"),
        ],
        color="success",
        class_name="app-alert",
        **props,
    )
