"""New resilience analysis: pick backup targets, set target RPO and weights, balance RPO
compliance against success rate, choose the window, save/load, and Start (background job)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html, no_update

from analytics.config import (
    AnalysisConfig,
    ResilienceConfig,
    default_resilience_window,
    resolve_resilience,
)
from analytics.config_form import NumberColumn, combine_utc, split_utc
from analytics.dashboard_model import RESILIENCE
from components import config_forms as forms
from metrics_dashboard.runner import analysis_defaults, data_source_for
from metrics_dashboard.settings import Settings
from pages import _config_page as form_page

PREFIX = f"{RESILIENCE.kind}-config"
RPO = NumberColumn(
    "target_rpo_hours", "Target RPO (h)", 1, 168, integer=False, config_key="target_rpo_hours"
)
WEIGHT = NumberColumn("weight", "Weight", 1, 10, config_key="target_weights")
HOURS = NumberColumn("hours", "Window length (h)", 1, 8760)

DERIVED = "derived"

FORM_FIELDS = (*form_page.WINDOW_START_FIELDS, ("hours", "value"), ("w-rpo", "value"))

TEXTS = form_page.ConfigTexts(
    subtitle="Choose the backup targets, their target RPO, the score weights and the window.",
    hint="Tick the targets to analyse; click a target RPO or weight to edit it.",
)


def derived_window_start(*, last_backup: str | None, hours: Any) -> str | None:
    """The default start for ``hours`` (ISO, UTC): None without backups or with bad hours."""
    if last_backup is None or HOURS.problem(hours):
        return None
    return default_resilience_window(pd.Timestamp(last_backup), int(hours)).isoformat()


def window_card(*, hours: int, last_backup: str | None) -> dbc.Card:
    derived_start = derived_window_start(last_backup=last_backup, hours=hours)
    controls = html.Div(
        [
            dbc.Row(
                [
                    dbc.Label(HOURS.name, html_for=f"{PREFIX}-hours", width=5),
                    dbc.Col(
                        dbc.Input(
                            id=f"{PREFIX}-hours",
                            type="number",
                            min=HOURS.low,
                            max=HOURS.high,
                            step=1,
                            value=hours,
                        ),
                        width=7,
                    ),
                ],
                class_name="g-2 mb-2 align-items-center",
            ),
            forms.window_choice(
                prefix=PREFIX,
                options=[
                    (DERIVED, "Ending at the last full hour with backup data"),
                    (form_page.CUSTOM, "Custom start (UTC)"),
                ],
                value=DERIVED,
                custom=[
                    forms.datetime_inputs(
                        prefix=PREFIX, which="start", label="Start", value=derived_start
                    )
                ],
            ),
        ]
    )
    return dbc.Card(dbc.CardBody([html.H2("Window", className="h5"), controls]), class_name="mb-3")


def read_source(settings: Settings) -> form_page.ConfigForm:
    """The backup targets with their RPO by type, the last backup, and the weights and window
    cards."""
    source = data_source_for(settings)
    targets = source.backup_targets()
    last_backup = source.extent().backups_last
    defaults = analysis_defaults(settings)
    params = resolve_resilience(ResilienceConfig(analysis_type="resilience"), targets, defaults)
    last_backup_text = None if last_backup is None else pd.Timestamp(last_backup).isoformat()
    weights_card = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Score weights", className="h5"),
                forms.weights_control(prefix=PREFIX, w_rpo=defaults.resilience.weights.rpo),
            ]
        ),
        class_name="mb-3",
    )
    return form_page.ConfigForm(
        rows=form_page.grid_rows(SPEC, params),
        context=last_backup_text,
        cards=[
            weights_card,
            window_card(hours=defaults.resilience.default_hours, last_backup=last_backup_text),
        ],
    )


def resolve_window(
    *, preset: str, hours: Any, custom_start: tuple[str | None, str | None]
) -> tuple[str | None, int]:
    """The configuration's (start as ISO or None for the default, hours); ``ValueError`` says
    what is wrong."""
    problem = HOURS.problem(hours)
    if problem:
        raise ValueError(problem)
    if preset == form_page.CUSTOM:
        return combine_utc(*custom_start).isoformat(), int(HOURS.coerce(hours))
    return None, int(HOURS.coerce(hours))


def weights(w_rpo: float) -> dict[str, float]:
    """``{"rpo", "success"}`` summing to 1 (the slider moves in steps of 0.05)."""
    rpo = round(float(w_rpo), 4)
    return {"rpo": rpo, "success": round(1.0 - rpo, 4)}


def read_form(values: Sequence[Any], last_backup: str | None) -> dict:
    """The window (hours, and the start unless derived from the data) and the score weights."""
    preset, start_date, start_time, hours, w_rpo = values
    start, hours = resolve_window(preset=preset, hours=hours, custom_start=(start_date, start_time))
    if start is None and last_backup is None:
        raise ValueError("the data source has no backups: choose a custom start")
    return {
        "hours": hours,
        "weights": weights(w_rpo),
        **({} if start is None else {"start": start}),
    }


def describe(entries: Mapping[str, Any], last_backup: str | None) -> str:
    hours = entries["hours"]
    start = entries.get("start") or derived_window_start(last_backup=last_backup, hours=hours)
    end = pd.Timestamp(start) + pd.Timedelta(hours=hours)
    return f"Window: {forms.window_text(start=start, end=end)} ({hours} h)"


def fill_form(config: AnalysisConfig) -> tuple[Any, ...]:
    """The window and weight controls showing a saved (resilience) configuration."""
    if config.start is not None:
        start_fields = (form_page.CUSTOM, *split_utc(config.start))
    else:
        start_fields = (DERIVED, no_update, no_update)
    return (*start_fields, config.hours, config.weights.rpo)


SPEC = form_page.ConfigPageSpec(
    shape=RESILIENCE, texts=TEXTS, number_columns=(RPO, WEIGHT), controls=sys.modules[__name__]
)

layout = form_page.config_page(__name__, SPEC)


@callback(Output(f"{PREFIX}-w-success", "children"), Input(f"{PREFIX}-w-rpo", "value"))
def show_success_weight(w_rpo: float) -> str:
    return forms.success_weight_text(weights(w_rpo))
