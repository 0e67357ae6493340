"""The app shell, the home page, the reports lists and their components, without a browser."""

from __future__ import annotations

import base64
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pytest
from dash import dcc

from analytics.config import parse_config
from components import reports
from components.status import STATUS_COLORS, status_badge, status_colors
from metrics_dashboard.runner import run_analysis
from metrics_dashboard.settings import with_overrides
from metrics_dashboard.web.app import create_app, shell_layout
from metrics_dashboard.web.context import set_settings
from tests.pages import find, text_of, tiny_settings, walk

MODULE_STATUSES = [(kind, status) for kind, colors in STATUS_COLORS.items() for status in colors]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):
    return tiny_settings(tmp_path_factory.mktemp("shell"))


@pytest.fixture(scope="module")
def app(settings) -> dash.Dash:
    return create_app(settings)


@pytest.fixture
def pages(app, settings):
    """The page modules as the app imported them, with this module's settings in effect."""
    set_settings(settings)
    return {name: sys.modules[f"pages.{name}"] for name in ("home", "availability", "resilience")}


def write_report(settings, kind: str = "availability"):
    return run_analysis(parse_config({"analysis_type": kind}), settings=settings)


# --- the shell ---------------------------------------------------------------------------


def test_every_page_of_this_helper_is_registered(app) -> None:
    paths = {page["path"] for page in dash.page_registry.values()}
    assert {
        "/",
        "/availability",
        "/resilience",
        "/availability/config",
        "/resilience/config",
    } <= paths


def test_the_shell_holds_location_theme_store_and_navbar() -> None:
    layout = shell_layout()
    location = find(layout, "app-url")
    assert isinstance(location, dcc.Location) and location.refresh == "callback-nav"
    theme = find(layout, "app-theme")
    assert isinstance(theme, dcc.Store)
    assert (theme.storage_type, theme.data) == ("local", "light")
    assert isinstance(find(layout, "app-theme-toggle"), dbc.Button)
    hrefs = {c.href for c in walk(layout) if isinstance(c, dbc.NavLink)}
    assert hrefs == {"/", "/availability", "/resilience"}


def test_the_theme_is_switched_in_the_browser_by_assets_theme_js(app) -> None:
    clientside = {
        entry["clientside_function"]["function_name"]: entry["output"]
        for entry in app._callback_list
        if (entry.get("clientside_function") or {}).get("namespace") == "theme"
    }
    assert clientside == {"toggle": "app-theme.data", "apply": "app-theme-toggle.title"}
    script = (Path(__file__).parents[2] / "assets" / "theme.js").read_text()
    assert "toggle: function" in script and "apply: function" in script


def test_the_index_loads_theme_first_and_everything_locally(app) -> None:
    html_text = app.server.test_client().get("/").get_data(as_text=True)
    head = html_text.split("</head>")[0]
    theme_at = head.index('src="/assets/theme.js"')
    assert theme_at < head.index("/assets/vendor/bootstrap/bootstrap.min.css")
    assert head.index("bootstrap.min.css") < head.index("bootstrap-icons.min.css")
    assert head.index("bootstrap-icons.min.css") < head.index("/assets/app.css")
    # theme.js runs once, in <head>; the vendored CSS is linked once.
    assert html_text.count("theme.js") == 1
    assert html_text.count("bootstrap.min.css") == 1
    external = re.findall(r'(?:src|href)="(https?:)?//', html_text)
    assert not external, "the index references a URL outside the app"


def test_vendored_assets_are_served(app) -> None:
    client = app.server.test_client()
    for path in (
        "/assets/vendor/bootstrap/bootstrap.min.css",
        "/assets/vendor/bootstrap-icons/bootstrap-icons.min.css",
        "/assets/vendor/bootstrap-icons/fonts/bootstrap-icons.woff2",
        "/assets/theme.js",
        "/assets/app.css",
    ):
        assert client.get(path).status_code == 200, path


def test_the_css_status_classes_match_the_python_colours() -> None:
    css = (Path(__file__).parents[2] / "assets" / "app.css").read_text()
    for kind, status in MODULE_STATUSES:
        colour = STATUS_COLORS[kind][status]
        # The module's own rule, or the shared one when the module does not narrow it.
        own = re.search(rf"\.status-{kind}\.status-{status} \{{ --status-color: ([^;]+);", css)
        shared = re.search(rf"^\.status-{status} \{{ --status-color: ([^;]+);", css, re.MULTILINE)
        assert (own or shared).group(1) == colour, (kind, status)


def test_availability_critical_is_red_and_resilience_critical_orange_red() -> None:
    # The older tool and the meaning of availability's worst level call for red.
    assert status_colors("availability")["CRITICAL"] == "#c92a2a"
    assert status_colors("resilience")["CRITICAL"] == "#e8590c"
    badge = status_badge(kind="availability", status="CRITICAL")
    assert badge.color == "#c92a2a" and "status-availability" in badge.class_name


# --- status badges -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "status"), MODULE_STATUSES)
def test_a_status_badge_says_its_status_in_words(kind: str, status: str) -> None:
    badge = status_badge(kind=kind, status=status, count=3)
    assert f"status-{status}" in badge.class_name
    assert text_of(badge) == f"{status} 3"
    assert badge.color == STATUS_COLORS[kind][status]


def test_an_unknown_status_never_becomes_a_css_class() -> None:
    badge = status_badge(kind="availability", status='x" onmouseover="alert(1)')
    assert badge.class_name == "status-badge status-availability status-UNKNOWN"
    assert text_of(badge) == 'x" onmouseover="alert(1)'


# --- home ----------------------------------------------------------------------------------


def test_home_without_reports_offers_the_way_in(pages, settings, tmp_path) -> None:
    set_settings(with_overrides(settings, output_dir=tmp_path / "empty"))

    layout = pages["home"].layout()

    for kind in ("availability", "resilience"):
        card = find(layout, f"home-{kind}-card")
        assert "No report yet" in text_of(card)
        assert find(card, f"home-{kind}-open").disabled
        assert find(card, f"home-{kind}-configure").href == f"/{kind}/config"
        assert find(card, f"home-{kind}-reports").href == f"/{kind}"


def test_home_shows_the_latest_report_headline(pages, settings) -> None:
    outcome = write_report(settings, "resilience")

    layout = pages["home"].layout()

    card = find(layout, "home-resilience-card")
    assert find(card, "home-resilience-score").children == f"{outcome.aggregated_score * 100:.1f}%"
    assert not find(card, "home-resilience-open").disabled
    assert find(card, "home-resilience-open").href == "/resilience/dashboard"
    assert "UTC" in text_of(card)
    assert any(isinstance(c, dbc.Badge) for c in walk(card))


def test_the_data_source_banner_shows_only_when_unreachable(pages, settings, tmp_path) -> None:
    check = pages["home"].check_data_source

    is_open, message, description = check(0)
    assert (is_open, message) == (False, "")
    assert description.startswith("Data source: ")

    set_settings(with_overrides(settings, data_source=str(tmp_path / "gone")))
    is_open, message, description = check(1)
    assert is_open
    assert "gone" in message and description == ""


# --- reports lists -----------------------------------------------------------------------


@dataclass
class Entry:
    """A stand-in for data_access.report_store.ReportEntry."""

    name: str
    kind: str = "availability"
    created: datetime | None = datetime(2026, 1, 8, 14, 5, tzinfo=UTC)
    window_start: object = "2026-01-07T00:00:00Z"
    window_end: object = "2026-01-08T00:00:00Z"
    aggregated_score: float | None = 87.25
    status_counts: dict = field(default_factory=lambda: {"GOOD": 2, "CRITICAL": 1, "NO_DATA": 0})
    error: str | None = None
    uploaded: bool = False


def grid_rows(table) -> list[dict]:
    assert isinstance(table, dag.AgGrid)
    return table.rowData


def test_the_reports_table_lists_entries_in_the_given_order() -> None:
    entries = [
        Entry("b.json"),
        Entry("a.json", aggregated_score=None),
        Entry("broken.json", error="unreadable: not JSON at line 1"),
    ]

    rows = grid_rows(reports.reports_table(entries=entries, kind="availability", table_id="t"))

    assert [row["name"] for row in rows] == ["b.json", "a.json", "broken.json"]
    assert rows[0]["created"] == "2026-01-08 14:05 UTC"
    assert rows[0]["score"] == "87.2%"  # one decimal, as Python rounds 87.25
    assert [badge["text"] for badge in rows[0]["statuses"]] == ["GOOD 2", "CRITICAL 1"]
    assert rows[1]["score"] == "—"
    assert rows[2]["window"] == "Unreadable — not JSON at line 1" and rows[2]["unreadable"]
    assert [row["href"] for row in rows] == [
        "/availability/dashboard?report=b.json",
        "/availability/dashboard?report=a.json",
        None,
    ]


def test_names_from_files_render_as_text_and_are_quoted_in_links() -> None:
    evil = "<script>alert(1)</script>&x=1.json"
    table = reports.reports_table(entries=[Entry(evil)], kind="availability", table_id="t")

    (row,) = grid_rows(table)
    assert row["name"] == evil  # a grid cell value: drawn as text
    assert row["href"] == (
        "/availability/dashboard?report=%3Cscript%3Ealert%281%29%3C%2Fscript%3E%26x%3D1.json"
    )
    assert not getattr(table, "dangerously_allow_code", False)


def test_badge_classes_come_from_known_statuses_only() -> None:
    entry = Entry("a.json", status_counts={'x" onclick="alert(1)': 2, "GOOD": 1})
    (row,) = grid_rows(reports.reports_table(entries=[entry], kind="resilience", table_id="t"))
    classes = [badge["className"] for badge in row["statuses"]]
    assert classes == [
        "badge status-badge status-resilience status-UNKNOWN",
        "badge status-badge status-resilience status-GOOD",
    ]


def test_an_empty_list_says_what_to_do() -> None:
    empty = reports.reports_table(entries=[], kind="resilience", table_id="t")
    assert "No resilience report yet" in text_of(empty)


def test_uploaded_reports_are_listed_apart_and_marked() -> None:
    entries = [Entry("ran.json"), Entry("up.json"), Entry("older.json")]
    entries[1].uploaded = True  # the store's flag (data_access.report_store.ReportEntry)

    listing = reports.reports_listing(kind="availability", entries=entries)

    analysed = grid_rows(find(listing, "availability-reports-table"))
    assert [row["name"] for row in analysed] == ["ran.json", "older.json"]
    uploaded = find(listing, "availability-uploaded-reports")
    assert "Uploaded reports" in text_of(uploaded)
    assert "never the latest report" in text_of(uploaded)
    (row,) = grid_rows(find(uploaded, "availability-uploaded-reports-table"))
    assert row["name"] == "up.json"
    # Opened only by choosing it: its own Open link, nothing else leads to it.
    assert row["href"] == "/availability/dashboard?report=up.json"


def test_without_uploads_there_is_no_uploaded_section() -> None:
    listing = reports.reports_listing(kind="availability", entries=[Entry("ran.json")])
    with pytest.raises(AssertionError):
        find(listing, "availability-uploaded-reports")


def test_times_and_windows_are_written_in_utc() -> None:
    assert reports.format_utc("2026-01-08T15:30:00+01:00") == "2026-01-08 14:30 UTC"
    assert reports.format_utc(datetime(2026, 1, 8)) == "2026-01-08 00:00 UTC"
    assert reports.format_utc(None) == "—"
    assert reports.format_window(start="2026-01-07T00:00Z", end="2026-01-08T00:00Z") == (
        "2026-01-07 00:00 → 2026-01-08 00:00 UTC"
    )


def data_url(data: bytes) -> str:
    return "data:application/json;base64," + base64.b64encode(data).decode()


def test_uploads_are_decoded_or_refused_with_a_reason() -> None:
    assert reports.decode_upload(data_url(b'{"a": 1}')) == b'{"a": 1}'
    with pytest.raises(ValueError, match="not valid base64"):
        reports.decode_upload("data:application/json;base64,@@@")
    with pytest.raises(ValueError, match="did not arrive as a file"):
        reports.decode_upload("just text")
    too_big = "data:application/json;base64," + "A" * (reports.MAX_UPLOAD_BYTES * 4 // 3 + 8)
    with pytest.raises(ValueError, match="larger than 50 MB"):
        reports.decode_upload(too_big)


def listed_names(listing) -> list[str]:
    """The report names of every grid in a listing (analysed and uploaded)."""
    return [
        row["name"]
        for grid in walk(listing)
        if isinstance(grid, dag.AgGrid)
        for row in grid.rowData
    ]


def test_the_reports_page_lists_and_takes_uploads(pages, settings) -> None:
    outcome = write_report(settings)
    page = pages["availability"]

    layout = page.layout()
    assert outcome.report_name in text_of(find(layout, "availability-reports"))
    assert find(layout, "availability-new-config").href == "/availability/config"

    refused, listing, cleared = page.upload_report(data_url(b"{ nope"), "broken.json")
    assert "broken.json was not accepted" in text_of(refused)
    assert listing is dash.no_update and cleared is None

    saved, listing, cleared = page.upload_report(
        data_url(outcome.report_path.read_bytes()), "copy.json"
    )
    assert "Report uploaded" in text_of(saved)
    before = listed_names(find(layout, "availability-reports"))
    assert len(listed_names(listing)) == len(before) + 1
    assert cleared is None

    assert page.upload_report(None, None) == (dash.no_update,) * 3


def test_a_report_uploaded_on_the_other_modules_page_says_where_it_is(pages, settings) -> None:
    outcome = write_report(settings, "resilience")

    saved, _, _ = pages["availability"].upload_report(
        data_url(outcome.report_path.read_bytes()), "r.json"
    )

    assert "It is a resilience report: it is listed on the Resilience page." in text_of(saved)
    link = next(c for c in walk(saved) if isinstance(c, dcc.Link))
    assert link.href.startswith("/resilience/dashboard?report=")


def test_starting_the_app_removes_stale_report_fragments(tmp_path):
    settings = with_overrides(tiny_settings(tmp_path / "fresh"), output_dir=tmp_path / "reports")
    settings.output_dir.mkdir()
    fragment = settings.output_dir / ".cumulative_availability_analysis_x.json.abcd1234.tmp"
    fragment.write_bytes(b'{"half a rep')
    old = time.time() - 3600  # left by a server killed an hour ago: no writer holds it
    os.utime(fragment, (old, old))
    create_app(settings)
    assert not fragment.exists()
