"""The two dashboards without a browser: layouts, playback payloads, callback bodies, checked
inputs and bounded caches."""

from __future__ import annotations

import base64
import csv
import io
import shutil
import sys
from pathlib import Path

import dash
import numpy as np
import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from analytics.config import parse_config
from analytics.dashboard_model import MAX_FRAMES, PENDING, config_from_report
from analytics.report import REPORT_NAME_PREFIXES, load_report
from components.gauges import percent_text
from metrics_dashboard.runner import run_analysis
from metrics_dashboard.web.app import create_app
from metrics_dashboard.web.context import set_settings
from metrics_dashboard.web.job_slots import JobSlots, Limits, slot_store
from pages import _dashboard_page as factory
from tests.components import availability_report, resilience_report, write_report
from tests.pages import find, text_of, tiny_settings, walk

LEGACY_REPORT = Path(__file__).parents[1] / "fixtures" / "legacy_availability_report.json"
XSS_NAME = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    return tiny_settings(tmp_path_factory.mktemp("dashboards"))


@pytest.fixture(scope="module")
def app(settings) -> dash.Dash:
    return create_app(settings)


@pytest.fixture
def pages(app, settings):
    """The two dashboard modules as the app imported them, with this module's settings."""
    set_settings(settings)
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    return (
        sys.modules["pages.availability_dashboard"],
        sys.modules["pages.resilience_dashboard"],
    )


def write(settings, report: dict, *, second: int = 0) -> str:
    return write_report(settings.output_dir, report, second=second).name


def count_text(layout, prefix: str, status: str) -> str:
    return find(layout, f"{prefix}-count-{status}").children


# --- layouts -----------------------------------------------------------------------------


def test_without_any_report_the_page_says_how_to_get_one(pages, settings, tmp_path):
    availability, resilience = pages
    set_settings(settings.__class__(**{**settings.__dict__, "output_dir": tmp_path / "empty"}))
    for page, kind in ((availability, "availability"), (resilience, "resilience")):
        layout = page.layout()
        empty = find(layout, f"{kind}-dashboard-empty")
        assert f"No {kind} report yet" in text_of(empty)
        assert any(getattr(item, "href", None) == f"/{kind}/config" for item in walk(empty))


def test_availability_dashboard_shows_the_report_summary(pages, settings):
    availability, _ = pages
    report = availability_report(services=5, points=30, no_data=[4])
    name = write(settings, report)
    layout = availability.layout(report=name)
    summary = report["summary"]
    assert find(layout, "availability-dashboard-aggregated-value").children == percent_text(
        summary["aggregated_score"]
    )
    for status, count in summary["services_by_status"].items():
        assert count_text(layout, "availability-dashboard", status) == str(count)
    assert find(layout, "availability-dashboard-report-name").data == name
    slider = find(layout, "availability-dashboard-slider")
    assert slider.value == slider.max == 29
    assert find(layout, "availability-dashboard-instant").children == "2026-01-01 14:30 UTC"
    assert name in text_of(layout)


def test_the_grid_is_built_in_the_browser_from_one_template_card(pages, settings):
    availability, _ = pages
    name = write(settings, availability_report(services=40, points=10))
    layout = availability.layout(report=name)
    template = find(layout, "availability-dashboard-card-template")
    assert template.hidden is True
    assert len(template.children.children) == 6  # gauge, title, type, status, failures, facts
    assert not find(layout, "availability-dashboard-cards").children


def test_playback_payload_ends_on_the_reports_final_values(pages, settings):
    availability, _ = pages
    report = availability_report(services=6, points=40, no_data=[5])
    payload = availability.layout(report=write(settings, report)).children[-1]
    payload = find(payload, "availability-dashboard-playback").data
    final = report["services"]
    assert payload["ids"] == list(final)
    assert payload["names"] == [entry["display_name"] for entry in final.values()]
    assert [percent_text(value) for value in payload["scores"][-1]] == [
        percent_text(entry["final_score"]) for entry in final.values()
    ]
    assert [payload["statusNames"][code] for code in payload["codes"][-1]] == [
        entry["final_status"] for entry in final.values()
    ]
    assert payload["counts"][-1] == [entry["total_failures"] for entry in final.values()]
    assert percent_text(payload["aggregated"][-1]) == percent_text(
        report["summary"]["aggregated_score"]
    )
    by_status = report["summary"]["services_by_status"]
    assert payload["tally"][-1] == [by_status[status] for status in payload["buckets"]]
    assert payload["facts"][0] == (
        f"Budget {final['svc-000']['error_budget']} · Weight {final['svc-000']['weight']}"
    )


def test_playback_shows_services_without_points_yet_as_no_data_yet(pages, settings):
    availability, _ = pages
    report = availability_report(services=8, points=40, seed=3)
    payload = find(
        availability.layout(report=write(settings, report)), "availability-dashboard-playback"
    )
    first_points = [
        entry["detailed_metrics"][0]["timestamp"] for entry in report["services"].values()
    ]
    late = first_points.index(max(first_points))
    assert max(first_points) > first_points[0]  # the generator starts some services later
    assert payload.data["statusNames"][payload.data["codes"][0][late]] == PENDING
    assert payload.data["scores"][0][late] is None


def test_playback_is_thinned_to_the_frame_limit(pages, settings):
    availability, _ = pages
    report = availability_report(services=3, points=1200, step_minutes=1)
    layout = availability.layout(report=write(settings, report))
    payload = find(layout, "availability-dashboard-playback").data
    assert len(payload["labels"]) == MAX_FRAMES
    assert payload["labels"][-1] == "2026-01-01 19:59 UTC"
    assert find(layout, "availability-dashboard-slider").max == MAX_FRAMES - 1


def test_resilience_dashboard_shows_the_report_summary_and_table(pages, settings):
    _, resilience = pages
    report = resilience_report(targets=6, hours=30, names={1: XSS_NAME})
    name = write(settings, report)
    layout = resilience.layout(report=name)
    assert find(layout, "resilience-dashboard-aggregated-value").children == percent_text(
        report["summary"]["aggregated_score"]
    )
    for status, count in report["summary"]["targets_by_status"].items():
        assert count_text(layout, "resilience-dashboard", status) == str(count)
    donut = find(layout, "resilience-dashboard-donut").figure
    assert list(donut.data[0].values) == list(report["summary"]["targets_by_status"].values())
    payload = find(layout, "resilience-dashboard-playback").data
    grid = find(layout, "resilience-dashboard-table")
    header = {column["field"]: column["headerName"] for column in grid.columnDefs}
    assert header["status"] == "Status"
    assert grid.rowData == []  # the browser fills the grid from the payload's rows
    rows = [{header[field]: text for field, text in row.items() if field != "id"}
            for row in payload["rows"]]  # fmt: skip
    assert [row["Target"] for row in rows][:2] == ["Target 0", XSS_NAME]
    assert [row["id"] for row in payload["rows"]] == list(report["targets"])
    never = rows[-1]
    assert never["Actual RPO"] == "never" and never["Last successful backup"] == "—"
    first = report["targets"]["tgt-000"]
    assert rows[0]["Score"] == percent_text(first["final_score"])


def test_a_bad_report_name_gives_a_clear_error(pages):
    availability, _ = pages
    for name in ("../../etc/passwd", "cumulative_availability_analysis_20990101_000000.json"):
        alert = find(availability.layout(report=name), "availability-dashboard-error")
        assert "cannot be shown" in text_of(alert)


def test_a_report_of_the_other_kind_is_refused_with_a_link_back(pages, settings):
    availability, resilience = pages
    name = write(settings, resilience_report(targets=2, hours=5))
    layout = availability.layout(report=name)
    assert "is a resilience report, not a availability report" in text_of(layout)
    assert find(resilience.layout(report=name), "resilience-dashboard-aggregated-value")


def test_a_corrupt_report_gives_a_clear_error(pages, settings):
    availability, _ = pages
    name = f"{REPORT_NAME_PREFIXES['availability']}_20260101_000000_0000dead.json"
    (settings.output_dir / name).write_text('{"analysis_type": "availability", "services": 3}')
    assert "unreadable" in text_of(
        find(availability.layout(report=name), "availability-dashboard-error")
    )


def test_an_older_tool_report_plays_back_with_a_recomputed_aggregate(pages, settings):
    availability, _ = pages
    name = "cumulative_availability_analysis_20250904_103000.json"
    shutil.copy(LEGACY_REPORT, settings.output_dir / name)
    layout = availability.layout(report=name)
    payload = find(layout, "availability-dashboard-playback").data
    assert find(layout, "availability-dashboard-aggregated-value").children == "87.3%"
    assert payload["aggregated"][-1] == 87.3
    assert payload["aggregated"][0] == 100.0  # one service, no failure at the first point
    assert payload["labels"] == ["2025-09-01 08:00 UTC", "2025-09-01 08:15 UTC"]


def test_a_real_analysis_opens_as_the_latest_report(pages, settings):
    availability, resilience = pages
    for page, kind in ((availability, "availability"), (resilience, "resilience")):
        outcome = run_analysis(parse_config({"analysis_type": kind}), settings=settings)
        layout = page.layout()
        assert find(layout, f"{kind}-dashboard-report-name").data == outcome.report_name
        assert find(layout, f"{kind}-dashboard-aggregated-value").children == percent_text(
            outcome.aggregated_score * 100
        )


# --- callbacks ---------------------------------------------------------------------------


def test_base_figures_follow_the_theme(pages, settings):
    availability, resilience = pages
    name = write(settings, availability_report(services=2, points=4), second=6)
    light = factory.base_figures(availability.SPEC, "light", name)
    dark = factory.base_figures(availability.SPEC, "dark", name)
    assert set(light) == {"gauge"}
    assert light["gauge"]["layout"]["template"] != dark["gauge"]["layout"]["template"]
    name = write(settings, resilience_report(targets=2, hours=4), second=7)
    assert set(factory.base_figures(resilience.SPEC, None, name)) == {"gauge", "donut"}


def typed_array(values) -> np.ndarray:
    """Values of a figure built for the browser, where numbers travel as base64 typed arrays."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def test_drilldowns_show_the_chosen_item(pages, settings):
    availability, resilience = pages
    report = availability_report(services=3, points=12)
    name = write(settings, report, second=1)
    figure = go.Figure(factory.drilldown_figure(availability.SPEC, "svc-001", "dark", name))
    points = report["services"]["svc-001"]["detailed_metrics"]
    assert list(typed_array(figure.data[0].y)) == [point["score"] * 100 for point in points]
    assert figure.layout.title.text == "Service 1"
    with pytest.raises(PreventUpdate):
        factory.drilldown_figure(availability.SPEC, "nope", "dark", name)
    name = write(settings, resilience_report(targets=3, hours=6), second=2)
    figure = go.Figure(factory.drilldown_figure(resilience.SPEC, "tgt-002", "light", name))
    assert [trace.name for trace in figure.data] == ["score", "RPO compliance", "success rate"]


def test_filters_keep_the_heatmap_rows(pages, settings):
    _, resilience = pages
    report = resilience_report(targets=6, hours=10)
    name = write(settings, report, second=3)
    targets = report["targets"].values()
    figure = go.Figure(factory.heatmap_figure(resilience.SPEC, ["vm"], None, "dark", name))
    vms = [entry["display_name"] for entry in targets if entry["target_type"] == "vm"]
    assert list(figure.layout.yaxis.ticktext) == vms
    figure = go.Figure(factory.heatmap_figure(resilience.SPEC, None, ["SEVERE"], "dark", name))
    severe = [entry["display_name"] for entry in targets if entry["final_status"] == "SEVERE"]
    assert list(figure.layout.yaxis.ticktext) == severe


def test_downloads_are_the_stored_file_and_both_exports(pages, settings):
    availability, _ = pages
    name = write(
        settings, availability_report(services=3, points=5, names={0: "=HYPERLINK(x)"}), second=4
    )
    sent = factory.download_json(1, name)
    assert base64.b64decode(sent["content"]) == (settings.output_dir / name).read_bytes()
    assert sent["filename"] == name
    summary = factory.download_csv(availability.SPEC, "summary", 1, name)
    assert summary["filename"] == name.removesuffix(".json") + "_summary.csv"
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(summary["content"]).decode())))
    assert [row["service_id"] for row in rows] == ["svc-000", "svc-001", "svc-002"]
    assert not rows[0]["display_name"].startswith("=")  # neutralised for spreadsheets
    timeline = factory.download_csv(availability.SPEC, "timeline", 1, name)
    lines = base64.b64decode(timeline["content"]).decode().strip().splitlines()
    assert len(lines) == 1 + 3 * 5
    with pytest.raises(PreventUpdate):
        factory.download_json(1, "../secret.json")


def test_live_mode_reruns_the_same_window_and_goes_to_the_new_report(pages, settings):
    availability, _ = pages
    first = run_analysis(parse_config({"analysis_type": "availability"}), settings=settings)
    href, message = factory.rerun_report(availability.SPEC, 1, first.report_name)
    assert message == ""
    new_name = href.split("report=")[1]
    assert new_name != first.report_name
    old = load_report((settings.output_dir / first.report_name).read_bytes())
    new = load_report((settings.output_dir / new_name).read_bytes())
    assert new["window"] == old["window"]
    assert new["summary"] == old["summary"]


def test_live_mode_skips_a_tick_while_the_same_configuration_still_runs(pages, settings):
    availability, _ = pages
    first = run_analysis(parse_config({"analysis_type": "availability"}), settings=settings)
    report = load_report((settings.output_dir / first.report_name).read_bytes())
    config_data = parse_config(config_from_report(report)).model_dump(
        mode="json", exclude_none=True
    )
    reports_before = sorted(settings.output_dir.glob("*.json"))
    slots = JobSlots(slot_store(settings.cache_dir, None), Limits(running=4, per_user=4, waiting=4))
    # Another page's live run of this configuration holds the key (in another web worker).
    with slots.slot(user="other-page", exclusive_key=factory.live_key(config_data)):
        href, message = factory.rerun_report(availability.SPEC, 1, first.report_name)
    assert href is dash.no_update
    assert message.startswith("Live update failed:")
    assert "already running" in message
    assert sorted(settings.output_dir.glob("*.json")) == reports_before
    # The key is free again: the next tick runs.
    href, message = factory.rerun_report(availability.SPEC, 2, first.report_name)
    assert message == ""
    assert href.split("report=")[1] != first.report_name


def test_an_uploaded_report_never_drives_live_mode(pages, settings):
    availability, _ = pages
    first = run_analysis(parse_config({"analysis_type": "availability"}), settings=settings)
    store = factory.report_store()
    uploaded = store.save_upload("mine.json", store.read(first.report_name))
    reports_before = sorted(settings.output_dir.glob("*.json"))
    href, message = factory.rerun_report(availability.SPEC, 1, uploaded)
    assert href is dash.no_update
    assert message == "Live update is off for an uploaded report."
    assert sorted(settings.output_dir.glob("*.json")) == reports_before
    switch = find(availability.layout(report=uploaded), "availability-dashboard-live-switch")
    assert switch.disabled
    assert (
        find(
            availability.layout(report=first.report_name), "availability-dashboard-live-switch"
        ).disabled
        is False
    )


def test_live_mode_explains_why_it_cannot_rerun(pages, settings):
    availability, _ = pages
    report = availability_report(services=2, points=4)  # services unknown to the data source
    href, message = factory.rerun_report(availability.SPEC, 1, write(settings, report, second=5))
    assert href is dash.no_update
    assert message.startswith("Live update failed:")


# --- the report's own thresholds and data quality (issue 8) --------------------------------


def gauge_steps(figure) -> list[tuple[float, float]]:
    figure = go.Figure(figure)
    return [tuple(step.range) for step in figure.data[0].gauge.steps]


def test_gauge_bands_come_from_the_thresholds_the_report_recorded(pages, settings):
    availability, _ = pages
    report = availability_report(services=3, points=5)
    report["classification"] = {"status_thresholds": {"critical_below": 0.3, "good_above": 0.9}}
    view = factory.dashboard_view(availability.SPEC, name="r.json", report=report)
    layout = factory.dashboard_body(availability.SPEC, view)
    assert gauge_steps(find(layout, "availability-dashboard-gauge").figure) == [
        (0, 30.0),
        (30.0, 90.0),
        (90.0, 100),
    ]
    assert gauge_steps(availability.base_figures(view, "dark")["gauge"]) == [
        (0, 30.0),
        (30.0, 90.0),
        (90.0, 100),
    ]


def test_an_older_report_gets_the_configured_bands(pages, settings):
    _, resilience = pages
    view = factory.dashboard_view(
        resilience.SPEC, name="r.json", report=resilience_report(targets=2, hours=3)
    )
    # configs/defaults.json: critical_from 0.4, acceptable_from 0.6, good_from 0.75, excellent 0.9
    assert [low for low, _, _ in view.bands] == [0, 40.0, 60.0, 75.0, 90.0]


QUALITY = {
    "unknown_statuses": {"DOWNN": 12, "<b>UP</b>": 1},
    "unknown_status_rows": 13,
    "dropped_rows": {"timestamp is a string": 4},
    "warnings": ["metrics: 4 rows with a string timestamp, e.g. id 65a1"],
    "warnings_omitted": 2,
}


@pytest.mark.parametrize("kind", ["availability", "resilience"])
def test_a_report_with_data_quality_problems_shows_a_warning(pages, kind):
    page = pages[0] if kind == "availability" else pages[1]
    report = (
        availability_report(services=2, points=3)
        if kind == "availability"
        else resilience_report(targets=2, hours=3)
    )
    report["data_quality"] = QUALITY
    view = factory.dashboard_view(page.SPEC, name="r.json", report=report)
    alert = find(factory.dashboard_body(page.SPEC, view), f"{kind}-dashboard-data-quality")
    shown = text_of(alert)
    assert "13 rows with an unknown status: DOWNN (12), <b>UP</b> (1)" in shown
    assert "4 rows dropped: timestamp is a string" in shown
    assert "metrics: 4 rows with a string timestamp, e.g. id 65a1" in shown
    assert "… and 2 more warnings" in shown
    assert alert.color == "warning"


def test_a_clean_report_shows_no_data_quality_warning(pages):
    availability, _ = pages
    view = factory.dashboard_view(
        availability.SPEC, name="r.json", report=availability_report(services=2, points=3)
    )
    with pytest.raises(AssertionError, match="no component"):
        find(factory.dashboard_body(availability.SPEC, view), "availability-dashboard-data-quality")


# --- checked inputs and bounded caches (issue 8) -----------------------------------------


def test_forged_callback_values_change_nothing_and_are_never_cached(pages, settings):
    _, resilience = pages
    name = write(settings, resilience_report(targets=4, hours=6), second=8)
    spec = resilience.SPEC
    factory.heatmap_figure(spec, None, None, "dark", name)  # one real figure
    cached = len(factory.FIGURES)
    for number in range(300):
        theme = f"theme-{number}"
        with pytest.raises(PreventUpdate):
            factory.base_figures(spec, theme, name)
        with pytest.raises(PreventUpdate):
            factory.heatmap_figure(spec, None, None, theme, name)
        with pytest.raises(PreventUpdate):
            factory.drilldown_figure(spec, "tgt-000", theme, name)
    for types, statuses in ((["no-such-type"], None), (None, ["GOOD", "MAYBE"]), ("vm", None)):
        with pytest.raises(PreventUpdate):
            factory.heatmap_figure(spec, types, statuses, "dark", name)
    with pytest.raises(PreventUpdate):
        factory.drilldown_figure(spec, "tgt-999", "dark", name)
    with pytest.raises(PreventUpdate):
        factory.drilldown_figure(spec, {"id": "tgt-000"}, "dark", name)
    assert len(factory.FIGURES) == cached


def test_the_same_filters_in_any_order_share_one_figure(pages, settings):
    _, resilience = pages
    name = write(settings, resilience_report(targets=6, hours=6), second=9)
    first = factory.heatmap_figure(resilience.SPEC, ["vm", "container"], None, "light", name)
    again = factory.heatmap_figure(resilience.SPEC, ["container", "vm"], None, "light", name)
    assert first is again


def test_a_byte_bounded_cache_drops_the_least_recently_used():
    cache = factory.ByteBoundedCache(100, len)
    for key in "abc":
        cache.get(key, lambda key=key: key * 30)  # 30 bytes each
    cache.get("a", lambda: pytest.fail("a is cached"))  # a is now the most recent
    cache.get("d", lambda: "d" * 30)  # 120 bytes: b, the least recently used, goes
    assert cache.bytes_used <= 100
    built = []
    cache.get("b", lambda: built.append("b") or "b" * 30)
    assert built == ["b"]
    cache.get("a", lambda: pytest.fail("a stayed"))


def test_a_value_larger_than_the_whole_cache_is_served_not_kept():
    cache = factory.ByteBoundedCache(100, len)
    assert cache.get("big", lambda: "x" * 500) == "x" * 500
    assert len(cache) == 0 and cache.bytes_used == 0


def test_the_report_and_figure_caches_are_bounded_in_bytes():
    assert factory.OPEN_REPORTS.max_bytes == factory.REPORT_CACHE_BYTES
    assert factory.FIGURES.max_bytes == factory.FIGURE_CACHE_BYTES
    figure = go.Figure(go.Heatmap(z=np.zeros((100, 200)))).to_plotly_json()
    assert factory.approximate_bytes(figure) >= 100 * 200 * 8
