"""Status colours, icons and badges shared by every page.

Colour is never the only signal: a badge always carries the status name and an icon. The same
colours are CSS classes ``status-<NAME>`` in ``assets/app.css`` (``status-availability`` narrows
them to that module's map) so that HTML and Plotly figures agree.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

# One colour map per module. Availability's CRITICAL is red, as in the older tool and as its
# meaning (the worst level) asks; resilience's CRITICAL is a red leaning to orange, between
# ACCEPTABLE (amber) and SEVERE (red).
AVAILABILITY_COLORS: dict[str, str] = {
    "GOOD": "#2f9e44",
    "ATTENZIONE": "#f2a900",
    "CRITICAL": "#c92a2a",
    "NO_DATA": "#868e96",
}
RESILIENCE_COLORS: dict[str, str] = {
    "EXCELLENT": "#0b6e3c",
    "GOOD": "#2f9e44",
    "ACCEPTABLE": "#f2a900",
    "CRITICAL": "#e8590c",
    "SEVERE": "#c92a2a",
    "NO_DATA": "#868e96",
}
STATUS_COLORS: dict[str, dict[str, str]] = {
    "availability": AVAILABILITY_COLORS,
    "resilience": RESILIENCE_COLORS,
}
NO_DATA_COLOR = AVAILABILITY_COLORS["NO_DATA"]


def status_colors(kind: str) -> dict[str, str]:
    """The colour of each status of one module (``availability`` or ``resilience``)."""
    return STATUS_COLORS[kind]


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
    return text if text in STATUS_ICONS else UNKNOWN_STATUS


def status_label(status: object) -> str:
    """What the user reads: the status name exactly as reports write it."""
    return "NO_DATA" if status is None else str(status)


def status_icon_class(*, status: object) -> str:
    """The classes of the status icon (a known icon, whatever the status string)."""
    return f"bi {STATUS_ICONS.get(status_key(status), 'bi-circle')} me-1"


def status_icon(*, status: str) -> html.I:
    """The status icon alone (decorative: the name is always written next to it)."""
    return html.I(className=status_icon_class(status=status), **{"aria-hidden": "true"})


def status_badge(*, kind: str, status: str, count: int | None = None) -> dbc.Badge:
    """A badge with the status colour of the ``kind`` module, its icon and name (and an
    optional count after the name)."""
    key = status_key(status)
    text = status_label(status) if count is None else f"{status_label(status)} {count}"
    return dbc.Badge(
        [status_icon(status=status), text],
        class_name=f"status-badge status-{kind} status-{key}",
        color=STATUS_COLORS.get(kind, {}).get(key, UNKNOWN_COLOR),
        title=status_label(status),
    )
