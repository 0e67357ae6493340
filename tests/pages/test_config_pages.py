"""The two configuration pages and their form components, without a browser.

The pages run on the tiny files source: services web-1 (web_service), db-1 (database) and
lonely (mystery type); targets vm-1 (vm), ct-1 (container) and never (physical_server). Its last
metric is on 2026-01-02T00:00Z and its last backup on 2026-01-01T12:00Z.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pytest

from analytics.config import AvailabilityConfig, ResilienceConfig, parse_config
from analytics.config_form import NumberColumn, combine_utc, split_utc
from components import config_forms as forms
from metrics_dashboard.settings import with_overrides
from metrics_dashboard.web.app import create_app
from metrics_dashboard.web.context import set_settings
from pages import _config_page as factory
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


def grid_of(layout) -> dag.AgGrid:
    return next(c for c in walk(layout) if isinstance(c, dag.AgGrid))


# --- availability ------------------------------------------------------------------------


def test_availability_lists_every_service_selected_with_defaults_by_type(availability) -> None:
    layout = availability.layout()
    grid = grid_of(layout)

    budgets = {row["service_id"]: (row["error_budget"], row["weight"]) for row in grid.rowData}
    assert budgets == {"web-1": (5, 5), "db-1": (3, 5), "lonely": (5, 5)}
    assert set(grid.selectedRows["ids"]) == {"web-1", "db-1", "lonely"}
    assert grid.dashGridOptions["rowSelection"]["mode"] == "multiRow"
    assert grid.dashGridOptions["rowSelection"]["selectAll"] == "filtered"
    assert find(layout, "availability-config-context").data == {
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
    assert not any(isinstance(c, dag.AgGrid) for c in walk(layout))


def rows_of(page) -> list[dict]:
    return [dict(row) for row in grid_of(page.layout()).rowData]


ALL_SERVICES = ["web-1", "db-1", "lonely"]
LAST_DAY_FIELDS = ("last-day", None, None, None, None)


def presets_of(page) -> dict:
    return find(page.layout(), "availability-config-context").data


def at(rows: list[dict], item_id: str) -> dict:
    return next(row for row in rows if row["id"] == item_id)


def test_a_valid_form_enables_start_and_shows_the_window(availability) -> None:
    rows = rows_of(availability)

    problems, disabled, summary, custom_open, count = factory.validate_form(
        availability.SPEC, rows, [{"id": i} for i in ALL_SERVICES], *LAST_DAY_FIELDS,
        presets_of(availability),
    )  # fmt: skip

    assert problems is None and disabled is False and custom_open is False
    assert summary == "Window: 2026-01-01 00:00 UTC → 2026-01-02 00:00 UTC"
    assert count == "3 of 3 services selected"


def test_invalid_values_are_listed_and_block_start(availability) -> None:
    rows = rows_of(availability)
    at(rows, "web-1")["error_budget"] = 60
    at(rows, "db-1")["weight"] = "abc"
    at(rows, "lonely")["weight"] = 2.5

    problems, disabled, *_ = factory.validate_form(
        availability.SPEC, rows, [], *LAST_DAY_FIELDS, presets_of(availability)
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

    problems, disabled, summary, custom_open, _ = factory.validate_form(
        availability.SPEC, rows, ["web-1"], *fields, presets_of(availability)
    )

    assert disabled and custom_open and summary == ""
    assert "Window: the window must end after it starts." in text_of(problems)


def test_the_configuration_holds_the_selected_services_and_window(availability) -> None:
    rows = rows_of(availability)
    at(rows, "db-1")["error_budget"] = 7
    entries = availability.read_form(
        ("custom", "2026-01-01", "06:00", "2026-01-01", "18:30"), presets_of(availability)
    )

    config = parse_config(
        factory.config_data(
            availability.SPEC, rows=rows, selected={"web-1", "db-1"}, entries=entries
        )
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
    at(edited, "db-1")["error_budget"] = 9
    at(edited, "db-1")["weight"] = 2
    window = ("custom", "2026-01-01", "06:00", "2026-01-01", "18:00")

    feedback, options = factory.save_config(
        availability.SPEC, 1, " weekly-core ", edited, ["db-1", "lonely"], *window,
        presets_of(availability),
    )  # fmt: skip
    assert "Configuration saved" in text_of(feedback)
    assert "weekly-core" in options

    loaded = factory.load_config(availability.SPEC, 1, "weekly-core", rows)
    table_data, reselected, preset, start_date, start_time, end_date, end_time, name, message = (
        loaded
    )
    assert set(reselected["ids"]) == {"db-1", "lonely"}
    assert {r["service_id"]: (r["error_budget"], r["weight"]) for r in table_data}["db-1"] == (9, 2)
    assert (preset, start_date, start_time, end_date, end_time) == window
    assert name == "weekly-core"
    assert "Configuration loaded" in text_of(message)


def test_a_saved_window_keeps_its_seconds(availability) -> None:
    window = ("custom", "2026-01-01", "06:00:30", "2026-01-01", "18:00:05")
    factory.save_config(
        availability.SPEC, 1, "to-the-second", rows_of(availability), ["web-1"], *window,
        presets_of(availability),
    )  # fmt: skip

    loaded = factory.load_config(availability.SPEC, 1, "to-the-second", rows_of(availability))

    assert tuple(loaded[2:7]) == window


def test_saving_needs_a_name_and_a_valid_form(availability) -> None:
    rows = rows_of(availability)
    feedback, options = factory.save_config(
        availability.SPEC, 1, "", rows, ["web-1"], *LAST_DAY_FIELDS, presets_of(availability)
    )
    assert "Give the configuration a name." in text_of(feedback) and options is NO_UPDATE


def test_loading_nothing_or_the_wrong_kind_says_so(availability, resilience) -> None:
    *unchanged, message = factory.load_config(availability.SPEC, 1, None, rows_of(availability))
    assert unchanged == [NO_UPDATE] * 8
    assert "Choose a saved configuration first." in text_of(message)

    factory.save_config(
        resilience.SPEC, 1, "resilience-only", rows_of(resilience), ["vm-1"],
        "derived", None, None, 24, 0.6, "2026-01-01T12:00:00+00:00",
    )  # fmt: skip
    *unchanged, message = factory.load_config(
        availability.SPEC, 1, "resilience-only", rows_of(availability)
    )
    assert unchanged == [NO_UPDATE] * 8
    assert "is not an availability configuration" in text_of(message)


def test_start_runs_the_job_and_goes_to_the_new_dashboard(availability, settings) -> None:
    seen: list[tuple[int, str]] = []

    alert, href = factory.start_analysis(
        availability.SPEC, seen.append, 1, rows_of(availability), ["web-1", "db-1"], "job-1",
        *LAST_DAY_FIELDS, presets_of(availability),
    )  # fmt: skip

    assert href.startswith("/availability/dashboard?report=cumulative_availability_analysis_")
    name = href.split("report=")[1]
    assert (settings.output_dir / name).is_file()
    assert "Analysis complete" in text_of(alert)
    assert [label.split("…")[0] for _, label in seen][:1] == ["Loading data"]


def test_a_failed_job_stays_on_the_form_and_says_why(availability) -> None:
    rows = rows_of(availability)
    at(rows, "web-1")["error_budget"] = 99  # the page disables Start; the job checks too

    alert, href = factory.start_analysis(
        availability.SPEC, lambda _value: None, 1, rows, ["web-1"], "job-2",
        *LAST_DAY_FIELDS, presets_of(availability),
    )  # fmt: skip

    assert href is NO_UPDATE
    assert "The analysis did not complete" in text_of(alert)
    assert "Invalid configuration: service_error_budgets.web-1: 99 is out of range" in text_of(
        alert
    )


# --- resilience --------------------------------------------------------------------------

LAST_BACKUP = "2026-01-01T12:00:00+00:00"
ALL_TARGETS = ["vm-1", "ct-1", "never"]


def test_resilience_lists_targets_with_rpo_by_type_and_default_weights(resilience) -> None:
    layout = resilience.layout()
    grid = grid_of(layout)

    rpo = {row["target_id"]: (row["target_rpo_hours"], row["weight"]) for row in grid.rowData}
    assert rpo == {"vm-1": (24.0, 1), "ct-1": (12.0, 1), "never": (48.0, 1)}
    assert find(layout, "resilience-config-w-rpo").value == 0.6
    assert find(layout, "resilience-config-hours").value == 168
    assert find(layout, "resilience-config-context").data == LAST_BACKUP
    assert "w_Success = 1 - w_RPO = 0.40" in text_of(find(layout, "resilience-config-w-success"))


def test_w_success_is_one_minus_w_rpo(resilience) -> None:
    assert resilience.weights(0.7) == {"rpo": 0.7, "success": 0.3}
    assert resilience.weights(0.35) == {"rpo": 0.35, "success": 0.65}
    assert resilience.show_success_weight(0.65) == (
        "w_RPO = 0.65   ·   w_Success = 1 - w_RPO = 0.35"
    )


def test_the_default_resilience_window_comes_from_the_data(resilience) -> None:
    rows = rows_of(resilience)

    problems, disabled, summary, custom_open, count = factory.validate_form(
        resilience.SPEC, rows, ALL_TARGETS, "derived", None, None, 24, 0.6, LAST_BACKUP
    )

    assert problems is None and not disabled and not custom_open
    assert summary == "Window: 2025-12-31 12:00 UTC → 2026-01-01 12:00 UTC (24 h)"
    assert count == "3 of 3 targets selected"


def test_without_backups_the_window_needs_a_custom_start(resilience) -> None:
    problems, disabled, *_ = factory.validate_form(
        resilience.SPEC, rows_of(resilience), ALL_TARGETS, "derived", None, None, 24, 0.6, None
    )
    assert disabled
    assert "the data source has no backups: choose a custom start" in text_of(problems)


def test_resilience_problems_block_start(resilience) -> None:
    rows = rows_of(resilience)
    at(rows, "vm-1")["target_rpo_hours"] = 200

    problems, disabled, summary, *_ = factory.validate_form(
        resilience.SPEC, rows, ["vm-1"], "derived", None, None, 0, 0.6, LAST_BACKUP
    )

    listed = text_of(problems)
    assert disabled and summary == ""
    assert "App VM: Target RPO (h) 200 is out of range (allowed 1 to 168)" in listed
    assert "Window: Window length (h) 0 is out of range (allowed 1 to 8760)." in listed


def test_the_resilience_configuration_round_trips(resilience) -> None:
    rows = rows_of(resilience)
    at(rows, "ct-1")["target_rpo_hours"] = 6.5
    fields = ("custom", "2025-12-30", "00:00", 48, 0.75)

    config = parse_config(
        factory.config_data(
            resilience.SPEC,
            rows=rows,
            selected={"ct-1", "never"},
            entries=resilience.read_form(fields, LAST_BACKUP),
        )
    )

    assert isinstance(config, ResilienceConfig)
    assert config.targets == ["ct-1", "never"]
    assert config.target_rpo_hours == {"ct-1": 6.5, "never": 48.0}
    assert (config.weights.rpo, config.weights.success) == (0.75, 0.25)
    assert config.start == datetime(2025, 12, 30, tzinfo=UTC) and config.hours == 48

    feedback, _ = factory.save_config(
        resilience.SPEC, 1, "nightly", rows, ["ct-1", "never"], *fields, LAST_BACKUP
    )
    assert "Configuration saved" in text_of(feedback)
    loaded = factory.load_config(resilience.SPEC, 1, "nightly", rows_of(resilience))
    table_data, reselected, *shown, name, message = loaded
    assert name == "nightly" and "Configuration loaded" in text_of(message)
    assert reselected == {"ids": ["ct-1", "never"]}
    assert tuple(shown) == fields
    assert {r["target_id"]: r["target_rpo_hours"] for r in table_data}["ct-1"] == 6.5


def test_resilience_start_writes_a_report_with_the_chosen_weights(resilience, settings) -> None:
    alert, href = factory.start_analysis(
        resilience.SPEC, lambda _value: None, 1, rows_of(resilience), ALL_TARGETS, "job-3",
        "derived", None, None, 24, 0.5, LAST_BACKUP,
    )  # fmt: skip

    assert href.startswith("/resilience/dashboard?report=resilience_analysis_")
    assert "Analysis complete" in text_of(alert)


# --- form components ---------------------------------------------------------------------


def test_the_grid_checks_number_cells_itself() -> None:
    column = NumberColumn("error_budget", "Error budget", 1, 50)
    grid = forms.item_grid(
        grid_id="t",
        rows=[{"id": "x", "a": "A", "error_budget": 3}],
        text_columns=[("a", "A")],
        number_columns=[column],
        type_column="a",
        search_columns=("a",),
        selected_ids=["x"],
    )

    text, number = grid.columnDefs
    problem = 'numberProblem(params.value, "Error budget", 1, 50, true)'
    assert number["cellClassRules"] == {"md-cell-invalid": f"{problem} !== null"}
    assert number["tooltipValueGetter"] == {"function": problem}
    assert number["editable"] is True and "editable" not in text
    assert "getQuickFilterText" not in text  # searched
    assert number["getQuickFilterText"] == forms.NOT_SEARCHED
    assert text["filter"] == "agTextColumnFilter"
    assert grid.getRowId == "params.data.id"


def test_the_grid_filter_combines_search_and_type() -> None:
    assert forms.grid_filter(search="  say hi ", type_value="database", type_column="t") == (
        "say hi",
        {"t": {"filterType": "text", "type": "equals", "filter": "database"}},
    )
    assert forms.grid_filter(search=None, type_value=forms.ALL_TYPES, type_column="t") == ("", {})


def test_setting_a_value_for_every_item_of_a_type(availability) -> None:
    rows = [
        {"id": "a", "service_type": "db", "error_budget": 3, "weight": 1},
        {"id": "b", "service_type": "web", "error_budget": 5, "weight": 1},
        {"id": "c", "service_type": "db", "error_budget": 4, "weight": 1},
    ]

    updated, feedback = factory.apply_bulk(availability.SPEC, 1, rows, "db", "error_budget", "9")
    assert [r["error_budget"] for r in updated] == [9, 5, 9]
    assert text_of(feedback) == "Error budget set to 9 for 2 service(s) of type db."

    unchanged, feedback = factory.apply_bulk(availability.SPEC, 1, rows, "db", "error_budget", 0)
    assert unchanged is NO_UPDATE
    assert "out of range (allowed 1 to 50)" in text_of(feedback)
    unchanged, feedback = factory.apply_bulk(availability.SPEC, 1, rows, None, "weight", 2)
    assert unchanged is NO_UPDATE and text_of(feedback) == "Choose a service type and a field."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T06:30:00+02:00", ("2026-01-01", "04:30")),
        ("2026-01-01T06:30:15Z", ("2026-01-01", "06:30:15")),
        (None, (None, None)),
    ],
)
def test_utc_dates_and_times_split(value, expected) -> None:
    assert split_utc(value) == expected


@pytest.mark.parametrize(
    ("date", "time", "expected"),
    [
        ("2026-01-01", "04:30", datetime(2026, 1, 1, 4, 30, tzinfo=UTC)),
        ("2026-01-01", "04:30:15", datetime(2026, 1, 1, 4, 30, 15, tzinfo=UTC)),
        ("2026-01-01T00:00:00", None, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_utc_dates_and_times_combine(date, time, expected) -> None:
    assert combine_utc(date, time) == expected


@pytest.mark.parametrize(
    ("date", "time", "message"),
    [
        (None, "01:00", "choose a date"),
        ("2026-01-01", "25:99", "is not a time"),
        ("2026-01-01", "04:30:99", "is not a time"),
        ("01/02/2026", None, "is not a date"),
    ],
)
def test_bad_dates_and_times_say_what_is_wrong(date, time, message) -> None:
    with pytest.raises(ValueError, match=message):
        combine_utc(date, time)
