"""Many analyses at once: ten through the runner in threads, ten CLI processes, and ten through
the web app's job manager (production server, two workers) all finish with distinct reports;
a cancelled analysis leaves no process behind."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, Page, expect

from analytics.config import parse_config
from analytics.report import load_report
from metrics_dashboard.runner import RunOutcome, run_analysis
from metrics_dashboard.web import jobs
from tests.browser.conftest import (
    PROJECT_ROOT,
    LiveApp,
    WatchedPage,
    stop_app,
)
from tests.browser.test_availability_flow import DATA_TIMEOUT_MS, JOB_TIMEOUT_MS, report_name_from
from tests.pages import tiny_settings
from tests.scaleout import app_env, cli_command, serve, slow_runner_env

AT_ONCE = 10
# Start and Cancel may each reach either web worker: enough rounds to see both cases.
CANCEL_ROUNDS = 6
CONFIGS = [
    {"analysis_type": "availability"} if index % 2 == 0 else {"analysis_type": "resilience"}
    for index in range(AT_ONCE)
]


def assert_distinct_valid_reports(output_dir: Path, names: list[str]) -> None:
    assert len(set(names)) == AT_ONCE, names
    assert sorted(path.name for path in output_dir.iterdir()) == sorted(names)  # no temp file
    for name in names:
        load_report((output_dir / name).read_bytes())


def test_ten_analyses_in_ten_threads_write_ten_distinct_reports(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    same_second = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)  # names differ by their short id

    def run(config: dict) -> RunOutcome:
        return run_analysis(parse_config(config), settings=settings, now=same_second)

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        outcomes = list(pool.map(run, CONFIGS))

    assert_distinct_valid_reports(settings.output_dir, [o.report_name for o in outcomes])
    assert sorted(o.kind for o in outcomes) == sorted(c["analysis_type"] for c in CONFIGS)


def test_ten_cli_processes_at_once_write_ten_distinct_reports(
    tiny_source_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    processes = [
        subprocess.Popen(
            cli_command(
                "analyze", config["analysis_type"], "--source", str(tiny_source_dir), "--out",
                str(out),
            ),
            cwd=PROJECT_ROOT,
            env=app_env(tmp_path, 1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in CONFIGS
    ]  # fmt: skip
    results = [process.communicate(timeout=180) for process in processes]

    assert [process.returncode for process in processes] == [0] * AT_ONCE, results
    names = [Path(stdout.strip().splitlines()[-1]).name for stdout, _ in results]
    assert_distinct_valid_reports(out, names)


def test_a_job_process_lets_go_of_the_connections_it_inherits() -> None:
    """A job forked while the web worker holds a browser connection must not keep it open: the
    server closes it, and the browser must see that at once (not when the job ends)."""
    from multiprocess import Process

    listener = socket.create_server(("127.0.0.1", 0))
    browser_side = socket.create_connection(listener.getsockname())
    server_side, _ = listener.accept()
    job = Process(target=lambda: (jobs.release_inherited_connections(), time.sleep(30)))
    job.start()
    try:
        time.sleep(0.5)  # the job has started and released what it inherited
        server_side.close()
        listener.close()
        browser_side.settimeout(5)
        assert browser_side.recv(1) == b""  # end of stream: the connection is really closed
    finally:
        job.kill()
        job.join()
        browser_side.close()


# -- through the web app ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_worker_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    app = serve(tmp_path_factory.mktemp("concurrency"), ["--workers", "2"])
    try:
        yield app
    finally:
        stop_app(app)


@pytest.mark.browser
def test_ten_analyses_started_at_once_in_the_web_app_all_finish(
    browser: Browser,
    two_worker_app: LiveApp,
) -> None:
    context = browser.new_context(base_url=two_worker_app.url)
    context.set_default_timeout(30_000)
    pages = [WatchedPage(context.new_page()) for _ in range(AT_ONCE)]
    try:
        for watched, config in zip(pages, CONFIGS, strict=True):
            watched.page.goto(f"/{config['analysis_type']}/config")
        for watched, config in zip(pages, CONFIGS, strict=True):
            expect(watched.page.locator(f"#{config['analysis_type']}-config-start")).to_be_enabled(
                timeout=DATA_TIMEOUT_MS
            )
        for watched, config in zip(pages, CONFIGS, strict=True):
            watched.page.locator(f"#{config['analysis_type']}-config-start").click()
        names = []
        for watched, config in zip(pages, CONFIGS, strict=True):
            expect(watched.page).to_have_url(
                re.compile(rf"/{config['analysis_type']}/dashboard\?report="),
                timeout=JOB_TIMEOUT_MS,
            )
            names.append(report_name_from(watched.page.url))
    finally:
        context.close()
    for watched in pages:
        assert not watched.console_errors, watched.console_errors
        assert not watched.failed_requests, watched.failed_requests
    assert_distinct_valid_reports(two_worker_app.output_dir, names)


@pytest.fixture(scope="module")
def slow_two_worker_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """Two web workers whose analyses pause at each step (see ``SLOW_RUNNER``)."""
    base = tmp_path_factory.mktemp("slow_concurrency")
    app = serve(base, ["--workers", "2"], extra_env=slow_runner_env(base))
    try:
        yield app
    finally:
        stop_app(app)


def descendants(app: LiveApp) -> set[int]:
    return {process.pid for process in psutil.Process(app.process.pid).children(recursive=True)}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_DEAD
    except psutil.NoSuchProcess:
        return True


@pytest.mark.browser
def test_a_cancelled_analysis_leaves_no_process_behind(
    browser: Browser,
    slow_two_worker_app: LiveApp,
) -> None:
    app = slow_two_worker_app
    context = browser.new_context(base_url=app.url)
    context.set_default_timeout(30_000)
    watched = WatchedPage(context.new_page())
    page: Page = watched.page
    try:
        for _ in range(CANCEL_ROUNDS):
            page.goto("/availability/config")
            expect(page.locator("#availability-config-start")).to_be_enabled(
                timeout=DATA_TIMEOUT_MS
            )
            before = descendants(app)
            page.locator("#availability-config-start").click()
            expect(page.locator("#availability-config-progress")).to_contain_text(
                re.compile(r"Loading data|Scoring|Writing report")
            )
            jobs = descendants(app) - before
            assert jobs, "no job process appeared"

            page.locator("#availability-config-cancel").click()

            expect(page.locator("#availability-config-job-result")).to_contain_text(
                "Analysis cancelled"
            )
            deadline = time.monotonic() + 10
            while not all(gone(pid) for pid in jobs) and time.monotonic() < deadline:
                time.sleep(0.2)
            left = [psutil.Process(pid) for pid in jobs if not gone(pid)]
            assert not left, [(p.pid, p.status(), p.ppid()) for p in left]
            assert descendants(app) <= before
    finally:
        context.close()
    assert not watched.console_errors, watched.console_errors
    assert not watched.failed_requests, watched.failed_requests
    assert not list(app.output_dir.glob("*.json"))
