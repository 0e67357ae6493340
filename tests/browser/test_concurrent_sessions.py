"""Jobs belong to the browser session that started them: two sessions starting the very same
analysis at once both finish, each with its own report; cancelling one leaves the other running;
and a job past MAX_ANALYSIS_TIMEOUT stops with a clear error."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveApp, WatchedPage, start_app, stop_app
from tests.browser.test_availability_flow import (
    DATA_TIMEOUT_MS,
    JOB_TIMEOUT_MS,
    read_report,
    report_name_from,
)
from tests.scaleout import serve, slow_runner_env


def watched_sessions(browser: Browser, app: LiveApp) -> Iterator[list[WatchedPage]]:
    """Two independent browser sessions (contexts) on ``app``, checked like ``page``."""
    contexts = [browser.new_context(base_url=app.url) for _ in range(2)]
    for context in contexts:
        context.set_default_timeout(30_000)
    watched = [WatchedPage(context.new_page()) for context in contexts]
    yield watched
    for context in contexts:
        context.close()
    for session in watched:
        assert not session.console_errors, session.console_errors
        assert not session.failed_requests, session.failed_requests


@pytest.fixture
def two_sessions(browser: Browser, live_app: LiveApp) -> Iterator[list[WatchedPage]]:
    yield from watched_sessions(browser, live_app)


def open_config(page: Page) -> None:
    page.goto("/availability/config")
    expect(page.locator("#availability-config-start")).to_be_enabled(timeout=DATA_TIMEOUT_MS)


def test_two_sessions_run_the_same_analysis_at_once(two_sessions, live_app) -> None:
    first, second = (session.page for session in two_sessions)
    for page in (first, second):
        open_config(page)

    # Identical configurations, started back to back: their jobs must not be confused.
    first.locator("#availability-config-start").click()
    second.locator("#availability-config-start").click()
    for page in (first, second):
        expect(page).to_have_url(
            re.compile(r"/availability/dashboard\?report="), timeout=JOB_TIMEOUT_MS
        )

    names = [report_name_from(page.url) for page in (first, second)]
    assert names[0] != names[1]
    for page, name in zip((first, second), names, strict=True):
        report = read_report(live_app.output_dir, name)
        expect(page.locator("#availability-dashboard-aggregated-value")).to_have_text(
            f"{report['summary']['aggregated_score']:.1f}%", timeout=DATA_TIMEOUT_MS
        )


# Availability takes about 4 s there and finishes; resilience needs about 16 s and hits this.
SLOW_APP_TIMEOUT_S = 8


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    base = tmp_path_factory.mktemp("slow_app")
    app = start_app(
        base,
        extra_env={
            **slow_runner_env(base),
            "MAX_ANALYSIS_TIMEOUT": str(SLOW_APP_TIMEOUT_S),
            # Both sessions come from 127.0.0.1, one user: let them run side by side.
            "MAX_ANALYSES_PER_USER": "2",
        },
    )
    yield app
    stop_app(app)


@pytest.fixture
def two_slow_sessions(browser: Browser, slow_app: LiveApp) -> Iterator[list[WatchedPage]]:
    yield from watched_sessions(browser, slow_app)


def test_cancelling_one_session_leaves_the_other_running(two_slow_sessions, slow_app) -> None:
    first, second = (session.page for session in two_slow_sessions)
    for page in (first, second):
        open_config(page)
    first.locator("#availability-config-start").click()
    second.locator("#availability-config-start").click()
    for page in (first, second):
        expect(page.locator("#availability-config-job-panel")).to_be_visible()
    expect(first.locator("#availability-config-progress")).to_contain_text(
        re.compile(r"Loading data|Scoring|Writing report")
    )

    first.locator("#availability-config-cancel").click()

    expect(first.locator("#availability-config-job-result")).to_contain_text(
        "Analysis cancelled: no report was written."
    )
    expect(first.locator("#availability-config-job-panel")).to_be_hidden()
    expect(first.locator("#availability-config-start")).to_be_enabled()
    expect(second).to_have_url(
        re.compile(r"/availability/dashboard\?report="), timeout=JOB_TIMEOUT_MS
    )
    assert [path.name for path in slow_app.output_dir.glob("*.json")] == [
        report_name_from(second.url)
    ]
    assert first.url.endswith("/availability/config")


def test_a_job_past_max_analysis_timeout_stops_with_a_clear_error(
    two_slow_sessions, slow_app
) -> None:
    page = two_slow_sessions[0].page
    page.goto("/resilience/config")
    start = page.locator("#resilience-config-start")
    expect(start).to_be_enabled(timeout=DATA_TIMEOUT_MS)
    before = sorted(slow_app.output_dir.glob("resilience_*.json"))

    start.click()

    result = page.locator("#resilience-config-job-result")
    expect(result).to_contain_text(
        f"The analysis took longer than the {SLOW_APP_TIMEOUT_S} s limit (MAX_ANALYSIS_TIMEOUT)",
        timeout=JOB_TIMEOUT_MS,
    )
    expect(result.locator(".alert-danger")).to_be_visible()
    assert page.url.endswith("/resilience/config")
    assert sorted(slow_app.output_dir.glob("resilience_*.json")) == before


@pytest.fixture(scope="module")
def one_slot_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The slowed-down app with one analysis slot, behind a (loopback) single sign-on proxy."""
    base = tmp_path_factory.mktemp("one_slot_app")
    app = serve(
        base,
        extra_env={
            **slow_runner_env(base),
            "MAX_CONCURRENT_ANALYSES": "1",
            "AUTH_MODE": "header",
        },
        ready_path="/healthz",
    )
    yield app
    stop_app(app)


def test_analyses_over_the_limit_wait_in_a_queue_that_says_how_many_are_ahead(
    browser: Browser, one_slot_app: LiveApp
) -> None:
    users = ("alice", "bob", "carol")
    contexts = [
        browser.new_context(
            base_url=one_slot_app.url, extra_http_headers={"X-Forwarded-User": user}
        )
        for user in users
    ]
    watched = [WatchedPage(context.new_page()) for context in contexts]
    pages = [session.page for session in watched]
    try:
        for page in pages:
            page.set_default_timeout(30_000)
            open_config(page)
        alice, bob, carol = pages
        alice.locator("#availability-config-start").click()
        expect(alice.locator("#availability-config-progress")).to_contain_text(
            re.compile(r"Loading data|Scoring|Writing report")
        )
        bob.locator("#availability-config-start").click()
        expect(bob.locator("#availability-config-progress")).to_contain_text("Queued (0 ahead)")
        carol.locator("#availability-config-start").click()
        expect(carol.locator("#availability-config-progress")).to_contain_text("Queued (1 ahead)")
        for page in pages:
            expect(page).to_have_url(
                re.compile(r"/availability/dashboard\?report="), timeout=JOB_TIMEOUT_MS
            )
        names = {report_name_from(page.url) for page in pages}
    finally:
        for context in contexts:
            context.close()
    assert len(names) == 3
    assert sorted(path.name for path in one_slot_app.output_dir.glob("*.json")) == sorted(names)
    for session in watched:
        assert not session.console_errors, session.console_errors
        assert not session.failed_requests, session.failed_requests
