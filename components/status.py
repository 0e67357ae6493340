"""Status colours, icons and badges shared by every page.

Colour is never the only signal: a badge always carries the status name and an icon. The same
colours are CSS classes ``status-<NAME>`` in ``assets/app.css`` (text colour ``status-text-<NAME>``)
so that HTML and Plotly figures agree.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

# One palette for both modules. CRITICAL is shared: a red leaning to orange, so that it reads as
# the worst availability level and still sits between ACCEPTABLE (amber) and SEVERE (red) in
# the resilience scale.
STATUS_COLORS: dict[str, str] = {
    "EXCELLENT": "#0b6e3c",
    "GOOD": "#2f9e44",
    "ATTENZIONE": "#f2a900",
    "ACCEPTABLE": "#f2a900",
    "CRITICAL": "#e8590c",
    "SEVERE": "#c92a2a",
    "NO_DATA": "#868e96",
}

STATUS_ICONS: dict[str, str] = {
    "EXCELLENT": "bi-stars",
    "GOOD": "bi-check-circle-fill",
    "ATTENZIONE": "bi-exclamation-triangle-fill",
    "ACCEPTABLE": "bi-dash-circle-fill",
    "CRITICAL": "bi-x-octagon-fill",
    "SEVERE": "bi-x-octagon-fill",
    "NO_DATA": "bi-question-circle",
}

UNKNOWN_STATUS = "UNKNOWN"
UNKNOWN_COLOR = "#495057"


def status_key(status: object) -> str:
    """The status as a known name, or ``UNKNOWN``: reports can be uploaded, so a status string
    may come from anywhere and must never become an arbitrary CSS class."""
    text = str(status) if status is not None else "NO_DATA"
    return text if text in STATUS_COLORS else UNKNOWN_STATUS


def status_label(status: object) -> str:
    """What the user reads: the status name exactly as reports write it."""
    return "NO_DATA" if status is None else str(status)


def status_icon(*, status: str) -> html.I:
    """The status icon alone (decorative: the name is always written next to it)."""
    icon = STATUS_ICONS.get(status_key(status), "bi-circle")
    return html.I(className=f"bi {icon} me-1", **{"aria-hidden": "true"})


def status_badge(*, status: str, count: int | None = None) -> dbc.Badge:
    """A badge with the status colour, icon and name (and an optional count after the name)."""
    key = status_key(status)
    text = status_label(status) if count is None else f"{status_label(status)} {count}"
    return dbc.Badge(
        [status_icon(status=status), text],
        class_name=f"status-badge status-{key}",
        color=STATUS_COLORS.get(key, UNKNOWN_COLOR),
        title=status_label(status),
    )
