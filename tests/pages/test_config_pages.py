"""The two configuration pages and their form components, without a browser.

The pages run on the tiny files source: services web-1 (web_service), db-1 (database) and
lonely (mystery type); targets vm-1 (vm), ct-1 (container) and never (physical_server). Its last
metric is on 2026-01-02T00:00Z and its last backup on 2026-01-01T12:00Z.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
import pytest
from dash import dash_table

from analytics.config import AvailabilityConfig, ResilienceConfig, parse_config
from components import config_forms as forms
from metrics_dashboard.settings import with_overrides
from metrics_dashboard.web.app import create_app
from metrics_dashboard.web.context import set_settings
from tests.pages import find, text_of, tiny_settings, walk

NO_UPDATE = dash.no_update


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    return tiny_settings(tmp_path_factory.mktemp("config_pages"))


@pytest.fixture(scope="module")
def app(settings) -> dash.Dash:
    return create_app(settings)


@pytest.fixture
def availability(app, settings):
    set_settings(settings)
    return sys.modules["pages.availability_config"]


@pytest.fixture
def resilience(app, settings):
    set_settings(settings)
    return sys.modules["pages.resilience_config"]


def table_of(layout) -> dash_table.DataTable:
    return next(c for c in walk(layout) if isinstance(c, dash_table.DataTable))


# --- availability ------------------------------------------------------------------------


def test_availability_lists_every_service_selected_with_defaults_by_type(availability) -> None:
    layout = availability.layout()
    table = table_of(layout)

    budgets = {row["service_id"]: (row["error_budget"], row["weight"]) for row in table.data}
    assert budgets == {"web-1": (5, 5), "db-1": (3, 5), "lonely": (5, 5)}
    assert table.selected_rows == [0, 1, 2]
    assert table.row_selectable == "multi"
    assert find(layout, "availability-config-window-presets").data == {
        "last-day": ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00"],
        "last-7-days": ["2025-12-26T00:00:00+00:00", "2026-01-02T00:00:00+00:00"],
    }
    assert find(layout, "availability-config-window-preset").value == "last-day"


def test_each_page_load_gets_its_own_job_token(availability, resilience) -> None:
    tokens = {
        find(page.layout(), f"{page.PREFIX}-job-token").data
        for page in (availability, availability, resilience)
    }
    assert len(tokens) == 3


def test_an_unreachable_source_shows_a_retry_instead_of_the_form(
    availability, settings, tmp_path
) -> None:
    set_settings(with_overrides(settings, data_source=str(tmp_path / "gone")))

    layout = availability.layout()

    assert "The services cannot be read" in text_of(layout)
    retry = next(c for c in walk(layout) if isinstance(c, dbc.Button) and "Retry" in text_of(c))
    assert retry.href == "/availability/config"
    assert not any(isinstance(c, dash_table.DataTable) for c in walk(layout))


def rows_of(page) -> list[dict]:
    return [dict(row) for row in table_of(page.layout()).data]


def at(rows: list[dict], item_id: str) -> int:
    """The row index of an id (the table lists items in id order)."""
    return next(index for index, row in enumerate(rows) if row["id"] == item_id)


LAST_DAY_FIELDS = ("last-day", None, None, None, None)


def presets_of(page) -> dict:
    return find(page.layout(), "availability-config-window-presets").data


def test_a_valid_form_enables_start_and_shows_the_window(availability) -> None:
    rows = rows_of(availability)

    problems, disabled, summary, custom_open, count = availability.validate_form(
        rows, [0, 1, 2], *LAST_DAY_FIELDS, presets_of(availability)
    )

    assert problems is None and disabled is False and custom_open is False
    assert summary == "Window: 2026-01-01 00:00 UTC → 2026-01-02 00:00 UTC"
    assert count == "3 of 3 services selected"


def test_invalid_values_are_listed_and_block_start(availability) -> None:
    rows = rows_of(availability)
    rows[at(rows, "web-1")]["error_budget"] = 60
    rows[at(rows, "db-1")]["weight"] = "abc"
    rows[at(rows, "lonely")]["weight"] = 2.5

    problems, disabled, *_ = availability.validate_form(
        rows, [], *LAST_DAY_FIELDS, presets_of(availability)
    )

    listed = text_of(problems)
    assert disabled is True
    assert "Select at least one service." in listed
    assert "Web frontend: Error budget 60 is out of range (allowed 1 to 50)" in listed
    assert "Main database: Weight 'abc' is not a number (allowed 1 to 10)" in listed
    assert "No data service: Weight 2.5 is not a whole number" in listed


def test_a_custom_window_must_end_after_it_starts(availability) -> None:
    rows = rows_of(availability)
    fields = ("custom", "2026-01-02", "10:00", "2026-01-02", "09:00")

    problems, disabled, summary, custom_open, _ = availability.validate_form(
        rows, [0], *fields, presets_of(availability)
    )

    assert disabled and custom_open and summary == ""
    assert "Window: the window must end after it starts." in text_of(problems)


def test_the_configuration_holds_the_selected_services_and_window(availability) -> None:
    rows = rows_of(availability)
    rows[at(rows, "db-1")]["error_budget"] = 7
    window = availability.resolve_window(
        preset="custom",
        presets={},
        custom_start=("2026-01-01", "06:00"),
        custom_end=("2026-01-01", "18:30"),
    )

    selected = [at(rows, "web-1"), at(rows, "db-1")]
    config = parse_config(
        availability.config_data(rows=rows, selected_rows=selected, window=window)
    )

    assert isinstance(config, AvailabilityConfig)
    assert config.services == ["db-1", "web-1"]  # table order
    assert config.service_error_budgets == {"web-1": 5, "db-1": 7}
    assert config.service_weights == {"web-1": 5, "db-1": 5}
    assert config.start == datetime(2026, 1, 1, 6, tzinfo=UTC)
    assert config.end == datetime(2026, 1, 1, 18, 30, tzinfo=UTC)


def test_presets_resolve_to_the_data_windows(availability) -> None:
    presets = presets_of(availability)
    resolve = availability.resolve_window
    assert resolve(
        preset="last-day", presets=presets, custom_start=(None, None), custom_end=(None, None)
    ) == (None, None)
    assert resolve(
        preset="last-7-days", presets=presets, custom_start=(None, None), custom_end=(None, None)
    ) == tuple(presets["last-7-days"])
    with pytest.raises(ValueError, match="no metrics: choose a custom range"):
        resolve(preset="last-day", presets={}, custom_start=(None, None), custom_end=(None, None))


def test_save_and_load_a_named_configuration(availability) -> None:
    rows = rows_of(availability)
    edited = [dict(row) for row in rows]
    edited[at(rows, "db-1")]["error_budget"] = 9
    edited[at(rows, "db-1")]["weight"] = 2
    window = ("custom", "2026-01-01", "06:00", "2026-01-01", "18:00")

    selected = sorted([at(rows, "db-1"), at(rows, "lonely")])
    feedback, options = availability.save_config(
        1, " weekly-core ", edited, selected, *window, presets_of(availability)
    )
    assert "Configuration saved" in text_of(feedback)
    assert "weekly-core" in options

    loaded = availability.load_config(1, "weekly-core", rows)
    table_data, reselected, preset, start_date, start_time, end_date, end_time, name, message = (
        loaded
    )
    assert reselected == selected
    assert {r["service_id"]: (r["error_budget"], r["weight"]) for r in table_data}["db-1"] == (9, 2)
    assert (preset, start_date, start_time, end_date, end_time) == window
    assert name == "weekly-core"
    assert "Configuration loaded" in text_of(message)


def test_saving_needs_a_name_and_a_valid_form(availability) -> None:
    rows = rows_of(availability)
    feedback, options = availability.save_config(
        1, "", rows, [0], *LAST_DAY_FIELDS, presets_of(availability)
    )
    assert "Give the configuration a name." in text_of(feedback) and options is NO_UPDATE


def test_loading_nothing_or_the_wrong_kind_says_so(availability, resilience) -> None:
    *unchanged, message = availability.load_config(1, None, rows_of(availability))
    assert unchanged == [NO_UPDATE] * 8
    assert "Choose a saved configuration first." in text_of(message)

    resilience.save_config(
        1, "resilience-only", rows_of(resilience), [0], 0.6, "derived", None, None, 24
    )
    *unchanged, message = availability.load_config(1, "resilience-only", rows_of(availability))
    assert unchanged == [NO_UPDATE] * 8
    assert "is not an availability configuration" in text_of(message)


def test_start_runs_the_job_and_goes_to_the_new_dashboard(availability, settings) -> None:
    seen: list[tuple[int, str]] = []
    token = "job-1"

    alert, href = availability.start_analysis(
        seen.append,
        1,
        rows_of(availability),
        [0, 1],
        token,
        *LAST_DAY_FIELDS,
        presets_of(availability),
    )

    assert href.startswith("/availability/dashboard?report=cumulative_availability_analysis_")
    name = href.split("report=")[1]
    assert (settings.output_dir / name).is_file()
    assert "Analysis complete" in text_of(alert)
    assert [label.split("…")[0] for _, label in seen][:1] == ["Loading data"]


def test_a_failed_job_stays_on_the_form_and_says_why(availability) -> None:
    rows = rows_of(availability)
    rows[at(rows, "web-1")]["error_budget"] = 99  # the page disables Start; the job checks too

    alert, href = availability.start_analysis(
        lambda _value: None,
        1,
        rows,
        [at(rows, "web-1")],
        "job-2",
        *LAST_DAY_FIELDS,
        presets_of(availability),
    )

    assert href is NO_UPDATE
    assert "The analysis did not complete" in text_of(alert)
    assert "Invalid configuration: service_error_budgets.web-1: 99 is out of range" in text_of(
        alert
    )


# --- resilience --------------------------------------------------------------------------


def test_resilience_lists_targets_with_rpo_by_type_and_default_weights(resilience) -> None:
    layout = resilience.layout()
    table = table_of(layout)

    rpo = {row["target_id"]: (row["target_rpo_hours"], row["weight"]) for row in table.data}
    assert rpo == {"vm-1": (24.0, 1), "ct-1": (12.0, 1), "never": (48.0, 1)}
    assert find(layout, "resilience-config-w-rpo").value == 0.6
    assert find(layout, "resilience-config-hours").value == 168
    assert "w_Success = 1 - w_RPO = 0.40" in text_of(find(layout, "resilience-config-w-success"))


def test_w_success_is_one_minus_w_rpo(resilience) -> None:
    assert resilience.weights(0.7) == {"rpo": 0.7, "success": 0.3}
    assert resilience.weights(0.35) == {"rpo": 0.35, "success": 0.65}
    assert resilience.show_success_weight(0.65) == (
        "w_RPO = 0.65   ·   w_Success = 1 - w_RPO = 0.35"
    )


def test_the_default_resilience_window_comes_from_the_data(resilience) -> None:
    rows = rows_of(resilience)
    last = "2026-01-01T12:00:00+00:00"

    problems, disabled, summary, custom_open, count = resilience.validate_form(
        rows, [0, 1, 2], "derived", None, None, 24, last
    )

    assert problems is None and not disabled and not custom_open
    assert summary == "Window: 2025-12-31 12:00 UTC → 2026-01-01 12:00 UTC (24 h)"
    assert count == "3 of 3 targets selected"


def test_resilience_problems_block_start(resilience) -> None:
    rows = rows_of(resilience)
    rows[at(rows, "vm-1")]["target_rpo_hours"] = 200

    problems, disabled, summary, *_ = resilience.validate_form(
        rows, [0], "derived", None, None, 0, "2026-01-01T12:00:00+00:00"
    )

    listed = text_of(problems)
    assert disabled and summary == ""
    assert "App VM: Target RPO (h) 200 is out of range (allowed 1 to 168)" in listed
    assert "Window: Window length (h) 0 is out of range (allowed 1 to 8760)." in listed


def test_the_resilience_configuration_round_trips(resilience) -> None:
    rows = rows_of(resilience)
    rows[at(rows, "ct-1")]["target_rpo_hours"] = 6.5
    selected = [at(rows, "ct-1"), at(rows, "never")]
    window = resilience.resolve_window(
        preset="custom", hours=48, custom_start=("2025-12-30", "00:00")
    )

    config = parse_config(
        resilience.config_data(rows=rows, selected_rows=selected, window=window, w_rpo=0.75)
    )

    assert isinstance(config, ResilienceConfig)
    assert config.targets == ["ct-1", "never"]
    assert config.target_rpo_hours == {"ct-1": 6.5, "never": 48.0}
    assert (config.weights.rpo, config.weights.success) == (0.75, 0.25)
    assert config.start == datetime(2025, 12, 30, tzinfo=UTC) and config.hours == 48

    feedback, _ = resilience.save_config(
        1, "nightly", rows, selected, 0.75, "custom", "2025-12-30", "00:00", 48
    )
    assert "Configuration saved" in text_of(feedback)
    loaded = resilience.load_config(1, "nightly", rows_of(resilience))
    table_data, reselected, w_rpo, preset, start_date, start_time, hours, name, message = loaded
    assert name == "nightly" and "Configuration loaded" in text_of(message)
    assert reselected == sorted(selected) and w_rpo == 0.75 and hours == 48
    assert (preset, start_date, start_time) == ("custom", "2025-12-30", "00:00")
    assert {r["target_id"]: r["target_rpo_hours"] for r in table_data}["ct-1"] == 6.5


def test_resilience_start_writes_a_report_with_the_chosen_weights(resilience, settings) -> None:
    alert, href = resilience.start_analysis(
        lambda _value: None,
        1,
        rows_of(resilience),
        [0, 1, 2],
        "job-3",
        0.5,
        "derived",
        None,
        None,
        24,
    )

    assert href.startswith("/resilience/dashboard?report=resilience_analysis_")
    assert "Analysis complete" in text_of(alert)


# --- form components ---------------------------------------------------------------------


def test_the_table_highlights_out_of_range_values_itself() -> None:
    column = forms.NumberColumn("error_budget", "Error budget", 1, 50)
    table = forms.item_table(
        table_id="t",
        rows=[{"error_budget": 3}],
        text_columns=[("a", "A")],
        number_columns=[column],
        selected_rows=[0],
    )

    queries = [rule["if"].get("filter_query") for rule in table.style_data_conditional]
    assert (
        "{error_budget} < 1 || {error_budget} > 50 || {error_budget} is blank || "
        "{error_budget} is str"
    ) in queries
    editable = {c["id"]: c["editable"] for c in table.columns}
    assert editable == {"a": False, "error_budget": True}


def test_the_filter_query_combines_search_and_type_safely() -> None:
    query = forms.filter_query(
        search=' say "hi" \\ ',
        type_value="database",
        name_columns=("display_name", "service_id"),
        type_column="service_type",
    )
    assert query == (
        '({display_name} icontains "say \\"hi\\" \\\\" || '
        '{service_id} icontains "say \\"hi\\" \\\\") && {service_type} = "database"'
    )
    assert (
        forms.filter_query(
            search="", type_value=forms.ALL_TYPES, name_columns=("n",), type_column="t"
        )
        == ""
    )


def test_selecting_and_clearing_the_shown_rows() -> None:
    assert forms.select_shown(selected=[0, 5], shown=[1, 5, 2]) == [0, 1, 2, 5]
    assert forms.clear_shown(selected=[0, 1, 5], shown=[1, 5]) == [0]
    assert forms.select_shown(selected=None, shown=None) == []


def test_setting_a_value_for_every_item_of_a_type() -> None:
    column = forms.NumberColumn("error_budget", "Error budget", 1, 50)
    rows = [
        {"t": "db", "error_budget": 3},
        {"t": "web", "error_budget": 5},
        {"t": "db", "error_budget": 4},
    ]

    updated, feedback = forms.bulk_update(
        rows=rows,
        type_column="t",
        item_type="db",
        columns=[column],
        column_id="error_budget",
        value="9",
        noun="service",
    )
    assert [r["error_budget"] for r in updated] == [9, 5, 9]
    assert text_of(feedback) == "Error budget set to 9 for 2 service(s) of type db."

    unchanged, feedback = forms.bulk_update(
        rows=rows,
        type_column="t",
        item_type="db",
        columns=[column],
        column_id="error_budget",
        value=0,
        noun="service",
    )
    assert unchanged is NO_UPDATE
    assert "out of range (allowed 1 to 50)" in text_of(feedback)


def test_utc_dates_and_times_round_trip() -> None:
    assert forms.split_utc("2026-01-01T06:30:00+02:00") == ("2026-01-01", "04:30")
    assert forms.combine_utc("2026-01-01", "04:30") == datetime(2026, 1, 1, 4, 30, tzinfo=UTC)
    assert forms.combine_utc("2026-01-01T00:00:00", None) == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="choose a date"):
        forms.combine_utc(None, "01:00")
    with pytest.raises(ValueError, match="is not a time"):
        forms.combine_utc("2026-01-01", "25:99")


def test_saved_ids_missing_from_the_data_are_reported() -> None:
    rows = [{"id": "a"}, {"id": "b"}]
    assert forms.selection_for_ids(rows=rows, id_column="id", ids=["b", "zz"]) == ([1], ["zz"])
    assert forms.selection_for_ids(rows=rows, id_column="id", ids=None) == ([0, 1], [])
