"""Background analyses on Celery + Redis, end to end: a real ``redis-server``, a real
``metrics-dashboard worker`` and the app with ``REDIS_URL``, driven from headless Chromium."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    LiveApp,
    WatchedPage,
    stop_app,
)
from tests.browser.test_availability_flow import (
    DATA_TIMEOUT_MS,
    JOB_TIMEOUT_MS,
    read_report,
    report_name_from,
)
from tests.scaleout import celery_worker, redis_server, run_cli, serve, slow_runner_env

POOL = 2  # the worker's pool processes
SLOW_JOB_S = 5  # an availability analysis under SLOW_RUNNER takes about 4 s


@dataclass
class CeleryStack:
    app: LiveApp
    worker: subprocess.Popen[bytes]
    worker_log: Path


@pytest.fixture(scope="module")
def celery_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryStack]:
    """Redis, one Celery worker (two pool processes) and the app (production server, two web
    workers) sharing OUTPUT_DIR and CACHE_DIR. The worker's availability analyses pause at each
    step (``SLOW_RUNNER``: about 4 s in all) so that one can be cancelled."""
    base = tmp_path_factory.mktemp("celery_stack")
    slow = slow_runner_env(base)
    with (
        redis_server(base) as redis_url,
        celery_worker(base, redis_url, concurrency=POOL, extra_env=slow) as (worker, worker_log),
    ):
        app = serve(base, ["--workers", "2"], extra_env={"REDIS_URL": redis_url})
        try:
            yield CeleryStack(app, worker, worker_log)
        finally:
            stop_app(app)


@pytest.fixture
def stack_page(browser: Browser, celery_stack: CeleryStack) -> Iterator[Page]:
    context = browser.new_context(base_url=celery_stack.app.url)
    context.set_default_timeout(30_000)
    watched = WatchedPage(context.new_page())
    yield watched.page
    context.close()
    assert not watched.console_errors, watched.console_errors
    assert not watched.failed_requests, watched.failed_requests


def open_config(page: Page) -> None:
    page.goto("/availability/config")
    expect(page.locator("#availability-config-start")).to_be_enabled(timeout=DATA_TIMEOUT_MS)


@pytest.mark.browser
def test_an_analysis_runs_on_the_celery_worker_end_to_end(
    stack_page: Page, celery_stack: CeleryStack
) -> None:
    page = stack_page
    open_config(page)
    page.locator("#availability-config-start").click()
    expect(page).to_have_url(
        re.compile(r"/availability/dashboard\?report="), timeout=JOB_TIMEOUT_MS
    )
    name = report_name_from(page.url)
    report = read_report(celery_stack.app.output_dir, name)
    expect(page.locator("#availability-dashboard-aggregated-value")).to_have_text(
        f"{report['summary']['aggregated_score']:.1f}%", timeout=DATA_TIMEOUT_MS
    )
    # The job ran in the Celery worker, not in a web worker.
    assert f"report={name}" in celery_stack.worker_log.read_text(errors="replace")
    assert "analysis job done" not in celery_stack.app.log_text()


@pytest.mark.browser
def test_cancel_stops_the_job_on_the_worker_and_leaves_no_process_behind(
    stack_page: Page, celery_stack: CeleryStack
) -> None:
    page = stack_page
    worker = psutil.Process(celery_stack.worker.pid)
    reports_before = sorted(celery_stack.app.output_dir.glob("*.json"))
    open_config(page)
    pool_before = {child.pid for child in worker.children()}
    assert len(pool_before) == POOL

    page.locator("#availability-config-start").click()
    expect(page.locator("#availability-config-progress")).to_contain_text(
        re.compile(r"Loading data|Scoring")
    )
    page.locator("#availability-config-cancel").click()

    expect(page.locator("#availability-config-job-result")).to_contain_text(
        "Analysis cancelled: no report was written."
    )
    # The pool process that ran the job was terminated and replaced; none is left over.
    deadline = time.monotonic() + 15
    while {child.pid for child in worker.children()} == pool_before:
        assert time.monotonic() < deadline, "the job's pool process was not terminated"
        time.sleep(0.2)
    while len(worker.children()) != POOL:
        assert time.monotonic() < deadline, worker.children()
        time.sleep(0.2)
    assert all(child.status() != psutil.STATUS_ZOMBIE for child in worker.children())
    time.sleep(SLOW_JOB_S)  # past the time the job needed: it never finishes
    assert sorted(celery_stack.app.output_dir.glob("*.json")) == reports_before


def test_the_worker_needs_redis_url(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "worker", extra_env={"REDIS_URL": ""})
    assert result.returncode == 2, result.stderr
    assert "REDIS_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr
