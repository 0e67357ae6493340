"""New availability analysis: pick services, set error budgets and weights, choose the window,
save/load named configurations, and Start (a background job with progress and Cancel)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html, no_update

from analytics.config import (
    AnalysisConfig,
    AvailabilityConfig,
    default_availability_window,
    resolve_availability,
)
from analytics.config_form import NumberColumn, combine_utc, split_utc
from analytics.dashboard_model import AVAILABILITY
from components import config_forms as forms
from metrics_dashboard.runner import analysis_defaults, data_source_for
from metrics_dashboard.settings import Settings
from pages import _config_page as form_page

PREFIX = f"{AVAILABILITY.kind}-config"
BUDGET = NumberColumn("error_budget", "Error budget", 1, 50, config_key="service_error_budgets")
WEIGHT = NumberColumn("weight", "Weight", 1, 10, config_key="service_weights")

LAST_DAY, LAST_7_DAYS = "last-day", "last-7-days"

FORM_FIELDS = (*form_page.WINDOW_START_FIELDS, ("end-date", "date"), ("end-time", "value"))

TEXTS = form_page.ConfigTexts(
    subtitle="Choose the services, their error budgets and weights, and the window.",
    hint="Tick the services to analyse; click a budget or weight to edit it.",
)


def window_presets(last_metric: pd.Timestamp | None) -> dict[str, list[str]]:
    """``{preset: [start, end]}`` (ISO, UTC) of the windows the data allows; none without data."""
    if last_metric is None:
        return {}
    start, end = default_availability_window(last_metric)
    return {
        LAST_DAY: [start.isoformat(), end.isoformat()],
        LAST_7_DAYS: [(end - timedelta(days=7)).isoformat(), end.isoformat()],
    }


def window_card(presets: Mapping[str, Sequence[str]]) -> dbc.Card:
    last_day = presets.get(LAST_DAY, [None, None])
    day_label = split_utc(last_day[0])[0] or "none: no metrics"
    choice = forms.window_choice(
        prefix=PREFIX,
        options=[
            (LAST_DAY, f"Last day with data ({day_label})"),
            (LAST_7_DAYS, "Last 7 days with data"),
            (form_page.CUSTOM, "Custom range (UTC)"),
        ],
        value=LAST_DAY,
        custom=[
            forms.datetime_inputs(prefix=PREFIX, which="start", label="From", value=last_day[0]),
            forms.datetime_inputs(prefix=PREFIX, which="end", label="Until", value=last_day[1]),
        ],
    )
    return dbc.Card(dbc.CardBody([html.H2("Window", className="h5"), choice]), class_name="mb-3")


def read_source(settings: Settings) -> form_page.ConfigForm:
    """The services with their defaults by type, and the windows the metrics allow."""
    source = data_source_for(settings)
    services = source.services()
    presets = window_presets(source.extent().metrics_last)
    params = resolve_availability(
        AvailabilityConfig(analysis_type="availability"),
        services,
        analysis_defaults(settings),
        default_error_budget=settings.default_error_budget,
    )
    return form_page.ConfigForm(
        rows=form_page.grid_rows(SPEC, params), context=presets, cards=[window_card(presets)]
    )


def resolve_window(
    *,
    preset: str,
    presets: Mapping[str, Sequence[str]],
    custom_start: tuple[str | None, str | None],
    custom_end: tuple[str | None, str | None],
) -> tuple[str | None, str | None]:
    """The configuration's (start, end) as ISO text; (None, None) leaves the default window to
    the engine. ``ValueError`` says what is wrong with a custom range."""
    if preset == form_page.CUSTOM:
        start = combine_utc(*custom_start)
        end = combine_utc(*custom_end)
        if end <= start:
            raise ValueError("the window must end after it starts")
        return start.isoformat(), end.isoformat()
    if preset not in presets:
        raise ValueError("the data source has no metrics: choose a custom range")
    if preset == LAST_7_DAYS:
        start_text, end_text = presets[LAST_7_DAYS]
        return start_text, end_text
    return None, None  # the last day with data: the engine's own default window


def read_form(values: Sequence[Any], presets: Mapping[str, Sequence[str]] | None) -> dict:
    """The window entries of the configuration (none: the engine's default window)."""
    preset, start_date, start_time, end_date, end_time = values
    start, end = resolve_window(
        preset=preset,
        presets=presets or {},
        custom_start=(start_date, start_time),
        custom_end=(end_date, end_time),
    )
    return {} if start is None else {"start": start, "end": end}


def describe(entries: Mapping[str, Any], presets: Mapping[str, Sequence[str]] | None) -> str:
    """The window in words; the default window is the one the data gives."""
    if "start" in entries:
        start, end = entries["start"], entries["end"]
    else:
        start, end = (presets or {}).get(LAST_DAY, [None, None])
    return f"Window: {forms.window_text(start=start, end=end)}"


def fill_form(config: AnalysisConfig) -> tuple[Any, ...]:
    """The window controls showing a saved configuration's window."""
    if config.start is not None and config.end is not None:
        return (form_page.CUSTOM, *split_utc(config.start), *split_utc(config.end))
    return (LAST_DAY, no_update, no_update, no_update, no_update)


SPEC = form_page.ConfigPageSpec(
    shape=AVAILABILITY, texts=TEXTS, number_columns=(BUDGET, WEIGHT), controls=sys.modules[__name__]
)

layout = form_page.config_page(__name__, SPEC)
