"""Background analyses when their queue fails: Redis unreachable at Start, and the Celery worker
killed with SIGKILL in the middle of a job. The page must say so within seconds, with no 500."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, Page, expect

from metrics_dashboard.web.job_slots import LEASE_S
from metrics_dashboard.web.jobs import CELERY_WORKER_LOST_MESSAGE, QUEUE_UNAVAILABLE_MESSAGE
from tests.browser.conftest import LiveApp, WatchedPage, free_port, stop_app
from tests.browser.test_availability_flow import DATA_TIMEOUT_MS
from tests.scaleout import celery_worker, redis_server, serve, slow_runner_env

# The page must show the outcome this soon: the seconds of a Redis timeout, or a lapsed lease.
QUEUE_DOWN_NOTICE_MS = 15_000
WORKER_LOST_NOTICE_MS = int((LEASE_S + 25) * 1000)


@pytest.fixture
def watched(browser: Browser) -> Iterator[list[WatchedPage]]:
    pages: list[WatchedPage] = []
    contexts = []

    def open_on(app: LiveApp) -> Page:
        context = browser.new_context(base_url=app.url)
        context.set_default_timeout(30_000)
        contexts.append(context)
        pages.append(WatchedPage(context.new_page()))
        return pages[-1].page

    yield open_on  # type: ignore[misc]
    for context in contexts:
        context.close()
    for page in pages:
        assert not page.console_errors, page.console_errors
        assert not page.failed_requests, page.failed_requests


def start_availability(page: Page) -> None:
    page.goto("/availability/config")
    expect(page.locator("#availability-config-start")).to_be_enabled(timeout=DATA_TIMEOUT_MS)
    page.locator("#availability-config-start").click()


# --- Redis unreachable ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_without_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = serve(tmp_path_factory.mktemp("no_redis"), extra_env={"REDIS_URL": closed})
    try:
        yield app
    finally:
        stop_app(app)


@pytest.mark.browser
def test_start_with_redis_down_says_so_on_the_page_within_seconds(
    watched, app_without_redis: LiveApp
) -> None:
    page = watched(app_without_redis)
    start_availability(page)

    result = page.locator("#availability-config-job-result")
    expect(result).to_contain_text(QUEUE_UNAVAILABLE_MESSAGE[:60], timeout=QUEUE_DOWN_NOTICE_MS)
    expect(result.locator(".alert-danger")).to_be_visible()
    expect(page.locator("#availability-config-start")).to_be_enabled()
    assert page.url.endswith("/availability/config")


def test_readyz_is_not_ready_while_the_job_queue_is_down(app_without_redis: LiveApp) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(app_without_redis.url + "/readyz", timeout=30)
    assert refused.value.code == 503
    assert b"the job queue (Redis at 127.0.0.1:" in refused.value.read()


# --- the worker killed mid-job ----------------------------------------------------------------


@dataclass
class Stack:
    base: Path
    redis_url: str
    app: LiveApp
    slow_env: dict[str, str]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("celery_faults")
    slow = slow_runner_env(base)
    with redis_server(base) as redis_url:
        app = serve(base, extra_env={"REDIS_URL": redis_url})
        try:
            yield Stack(base, redis_url, app, slow)
        finally:
            stop_app(app)


@pytest.fixture
def worker(stack: Stack) -> Iterator[subprocess.Popen[bytes]]:
    with celery_worker(stack.base, stack.redis_url, concurrency=1, extra_env=stack.slow_env) as (
        process,
        _log,
    ):
        yield process


def wait_until_running(page: Page) -> None:
    expect(page.locator("#availability-config-progress")).to_contain_text(
        re.compile(r"Loading data|Scoring")
    )


@pytest.mark.browser
def test_a_job_whose_whole_worker_is_killed_is_reported_lost(
    watched, stack: Stack, worker: subprocess.Popen[bytes]
) -> None:
    page = watched(stack.app)
    reports_before = sorted(stack.app.output_dir.glob("*.json"))
    start_availability(page)
    wait_until_running(page)

    family = [*psutil.Process(worker.pid).children(recursive=True), psutil.Process(worker.pid)]
    for process in family:
        os.kill(process.pid, signal.SIGKILL)
    worker.wait(30)

    result = page.locator("#availability-config-job-result")
    expect(result).to_contain_text(CELERY_WORKER_LOST_MESSAGE[:60], timeout=WORKER_LOST_NOTICE_MS)
    expect(page.locator("#availability-config-start")).to_be_enabled()
    assert sorted(stack.app.output_dir.glob("*.json")) == reports_before


@pytest.mark.browser
def test_a_job_whose_pool_process_is_killed_is_reported_lost(
    watched, stack: Stack, worker: subprocess.Popen[bytes]
) -> None:
    page = watched(stack.app)
    start_availability(page)
    wait_until_running(page)

    (pool_process,) = psutil.Process(worker.pid).children()
    os.kill(pool_process.pid, signal.SIGKILL)

    result = page.locator("#availability-config-job-result")
    expect(result).to_contain_text(CELERY_WORKER_LOST_MESSAGE[:60], timeout=WORKER_LOST_NOTICE_MS)
    # The worker itself lives on and takes the next job.
    start_availability(page)
    expect(page).to_have_url(re.compile(r"/availability/dashboard\?report="), timeout=120_000)
