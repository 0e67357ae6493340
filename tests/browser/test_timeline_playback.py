"""Timeline playback in Chromium: Play advances the instant and the scores, Pause stops it, the
slider shows the values of the chosen instant (checked against the report JSON in OUTPUT_DIR),
the last frame shows the report's final values, and no step asks the server anything."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest
from playwright.sync_api import Page, Request, expect

from analytics.dashboard_model import PENDING_TEXT
from components.gauges import NO_VALUE_TEXT, percent_text
from tests.chromium import wait_for_js
from tests.components import availability_report, resilience_report, write_report

RENDER_TIMEOUT_MS = 30_000
UPDATE_PATH = "/_dash-update-component"


@pytest.fixture(scope="module")
def reports(live_app) -> Iterator[dict[str, str]]:
    """An availability report (some services start late, one has no data) and a resilience
    report in the live app's OUTPUT_DIR; their names."""
    made = [
        availability_report(services=10, points=48, no_data=[9], seed=5),
        resilience_report(targets=7, hours=40, seed=5),
    ]
    paths = [write_report(live_app.output_dir, report, second=20) for report in made]
    yield {report["analysis_type"]: path.name for report, path in zip(made, paths, strict=True)}
    for path in paths:
        path.unlink(missing_ok=True)


@pytest.fixture
def server_updates(page: Page) -> list[str]:
    """The callback requests the page sends to the server from now on."""
    sent: list[str] = []

    def record(request: Request) -> None:
        if UPDATE_PATH in request.url:
            sent.append(request.post_data or "")

    page.on("request", record)
    return sent


def stored_report(live_app, name: str) -> dict:
    return json.loads((live_app.output_dir / name).read_text())


def open_dashboard(page: Page, kind: str, name: str) -> None:
    page.goto(f"/{kind}/dashboard?report={name}")
    wait_for_js(
        page,
        "window.metricsPlayback && window.metricsPlayback.frameCount() > 0",
        timeout_ms=RENDER_TIMEOUT_MS,
    )
    # The theme's figures arrive from the server once: let that settle before counting.
    page.wait_for_load_state("networkidle")


def step(page: Page, frame: int) -> None:
    page.evaluate("(frame) => window.metricsPlayback.step(frame)", frame)


def shown_instant(page: Page, prefix: str) -> pd.Timestamp:
    return pd.Timestamp(
        page.locator(f"#{prefix}-instant").inner_text().removesuffix(" UTC"), tz="UTC"
    )


def expected_at(report: dict, instant: pd.Timestamp) -> dict[str, list[str]]:
    """What the cards must show at ``instant``, computed from the report independently of the
    app: each item's latest point at or before the instant, "no data yet" before its first."""
    availability = report["analysis_type"] == "availability"
    items = report["services" if availability else "targets"].values()
    points_key, status_key = (
        ("detailed_metrics", "status_type") if availability else ("timeline", "status")
    )
    shown: dict[str, list[str]] = {"scores": [], "statuses": [], "failures": []}
    for entry in items:
        before = [p for p in entry[points_key] if pd.Timestamp(p["timestamp"]) <= instant]
        if not entry[points_key]:
            shown["scores"].append(NO_VALUE_TEXT)
            shown["statuses"].append("NO_DATA")
            shown["failures"].append("0")
        elif not before:
            shown["scores"].append(NO_VALUE_TEXT)
            shown["statuses"].append(PENDING_TEXT)
            shown["failures"].append("0")
        else:
            shown["scores"].append(percent_text(before[-1]["score"] * 100))
            shown["statuses"].append(before[-1][status_key])
            shown["failures"].append(str(before[-1].get("cumulative_failures", "")))
    return shown


def aggregated_at(report: dict, instant: pd.Timestamp) -> float:
    (point,) = [p for p in report["aggregated_timeline"] if pd.Timestamp(p["timestamp"]) == instant]
    return point["score"] * 100


def assert_percent_close(text: str, expected_percent: float | None) -> None:
    if expected_percent is None:
        assert text == NO_VALUE_TEXT
    else:  # one decimal on screen
        assert abs(float(text.removesuffix("%")) - expected_percent) <= 0.05 + 1e-9, text


def assert_cards_show(page: Page, prefix: str, report: dict, instant: pd.Timestamp) -> None:
    expected = expected_at(report, instant)
    cards = page.locator(f"#{prefix}-cards .md-card")
    shown_scores = cards.locator(".md-gauge").all_inner_texts()
    for text, wanted in zip(shown_scores, expected["scores"], strict=True):
        assert_percent_close(text, None if wanted == NO_VALUE_TEXT else float(wanted[:-1]))
    assert cards.locator(".md-status-text").all_inner_texts() == expected["statuses"]
    if report["analysis_type"] == "availability":
        failures = [text.split()[-1] for text in cards.locator(".md-card-live").all_inner_texts()]
        assert failures == expected["failures"]
    assert_percent_close(
        page.locator(f"#{prefix}-aggregated-value").inner_text(), aggregated_at(report, instant)
    )


def test_play_advances_the_instant_and_the_scores_and_pause_stops_it(
    page: Page, live_app, reports, server_updates
) -> None:
    prefix = "availability-dashboard"
    open_dashboard(page, "availability", reports["availability"])
    instant, play = page.locator(f"#{prefix}-instant"), page.locator(f"#{prefix}-play")
    page.locator(f"#{prefix}-reset").click()
    expect(instant).to_have_text("2026-01-01 00:00 UTC")
    server_updates.clear()
    gauges = page.locator(f"#{prefix}-cards .md-gauge")
    at_start = gauges.all_inner_texts()

    play.click()
    expect(play).to_have_text("Pause")
    expect(instant).not_to_have_text("2026-01-01 00:00 UTC")
    wait_for_js(
        page,
        "(start) => [...document.querySelectorAll('#availability-dashboard-cards .md-gauge')]"
        ".some((gauge, i) => gauge.textContent !== start[i])",
        arg=at_start,
        timeout_ms=RENDER_TIMEOUT_MS,
    )
    play.click()
    expect(play).to_have_text("Play")
    paused_at = instant.inner_text()
    page.wait_for_timeout(1_000)
    expect(instant).to_have_text(paused_at)
    assert_cards_show(page, prefix, stored_report(live_app, reports["availability"]),
                      shown_instant(page, prefix))  # fmt: skip
    assert server_updates == [], "playback must not call the server"


@pytest.mark.parametrize("frame", [0, 5, 17, 33])
def test_the_slider_shows_the_values_of_the_chosen_instant(
    page: Page, live_app, reports, server_updates, frame: int
) -> None:
    prefix = "availability-dashboard"
    open_dashboard(page, "availability", reports["availability"])
    server_updates.clear()
    step(page, frame)
    instant = shown_instant(page, prefix)
    report = stored_report(live_app, reports["availability"])
    assert instant == pd.Timestamp(report["aggregated_timeline"][frame]["timestamp"])
    assert_cards_show(page, prefix, report, instant)
    expected = expected_at(report, instant)["statuses"]
    for status in ("GOOD", "ATTENZIONE", "CRITICAL"):
        expect(page.locator(f"#{prefix}-count-{status}")).to_have_text(str(expected.count(status)))
    no_data = sum(status in ("NO_DATA", PENDING_TEXT) for status in expected)
    expect(page.locator(f"#{prefix}-count-NO_DATA")).to_have_text(str(no_data))
    assert server_updates == []


def test_the_slider_keys_move_one_frame(page: Page, reports, server_updates) -> None:
    prefix = "availability-dashboard"
    open_dashboard(page, "availability", reports["availability"])
    server_updates.clear()
    handle = page.locator(f"#{prefix}-slider [role=slider]")
    handle.focus()
    page.keyboard.press("Home")
    expect(page.locator(f"#{prefix}-instant")).to_have_text("2026-01-01 00:00 UTC")
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"#{prefix}-instant")).to_have_text("2026-01-01 00:30 UTC")
    assert server_updates == []


def test_playing_to_the_end_stops_on_the_reports_final_values(
    page: Page, live_app, reports, server_updates
) -> None:
    prefix = "availability-dashboard"
    open_dashboard(page, "availability", reports["availability"])
    page.locator(f"#{prefix}-speed").select_option("10")
    page.locator(f"#{prefix}-reset").click()
    server_updates.clear()
    page.locator(f"#{prefix}-play").click()
    expect(page.locator(f"#{prefix}-play")).to_have_text("Play", timeout=RENDER_TIMEOUT_MS)
    report = stored_report(live_app, reports["availability"])
    expect(page.locator(f"#{prefix}-instant")).to_have_text("2026-01-01 23:30 UTC")
    services = list(report["services"].values())
    cards = page.locator(f"#{prefix}-cards .md-card")
    expect(cards.locator(".md-gauge")).to_have_text(
        [percent_text(entry["final_score"]) for entry in services]
    )
    expect(cards.locator(".md-status-text")).to_have_text(
        [entry["final_status"] for entry in services]
    )
    expect(page.locator(f"#{prefix}-aggregated-value")).to_have_text(
        percent_text(report["summary"]["aggregated_score"])
    )
    for status, count in report["summary"]["services_by_status"].items():
        expect(page.locator(f"#{prefix}-count-{status}")).to_have_text(str(count))
    assert server_updates == []


def test_resilience_playback_moves_indicators_donut_and_score(
    page: Page, live_app, reports, server_updates
) -> None:
    prefix = "resilience-dashboard"
    open_dashboard(page, "resilience", reports["resilience"])
    report = stored_report(live_app, reports["resilience"])
    server_updates.clear()
    for frame in (0, 12, 39):
        step(page, frame)
        instant = shown_instant(page, prefix)
        assert instant == pd.Timestamp(report["aggregated_timeline"][frame]["timestamp"])
        assert_cards_show(page, prefix, report, instant)
        statuses = expected_at(report, instant)["statuses"]
        levels = ("EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE")
        donut = page.evaluate(
            "() => document.querySelector('#resilience-dashboard-donut .js-plotly-plot').data[0].values"
        )
        assert donut == [statuses.count(level) for level in levels]
        for level in levels:
            expect(page.locator(f"#{prefix}-count-{level}")).to_have_text(
                str(statuses.count(level))
            )
    assert server_updates == []
