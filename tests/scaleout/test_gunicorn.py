"""The production server: ``metrics-dashboard serve --workers 2`` runs two gunicorn workers that
each build the app and answer, with compressed responses."""

from __future__ import annotations

import gzip
import http.client
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from metrics_dashboard.web.wsgi import WebServer, bind_address
from tests.browser.conftest import LiveApp, stop_app
from tests.pages import tiny_settings
from tests.scaleout import run_cli, serve


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    app = serve(tmp_path_factory.mktemp("gunicorn"), ["--workers", "2"])
    try:
        yield app
    finally:
        stop_app(app)


def get(app: LiveApp, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    address = urlparse(app.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_each_of_the_two_workers_builds_the_app_and_answers(two_workers: LiveApp) -> None:
    workers = psutil.Process(two_workers.process.pid).children()
    assert len(workers) == 2
    for answering in workers:
        # Pause every other worker: the shared listening socket leaves this one to answer.
        paused = [worker for worker in workers if worker.pid != answering.pid]
        for worker in paused:
            worker.send_signal(signal.SIGSTOP)
        try:
            status, _, body = get(two_workers, "/")
        finally:
            for worker in paused:
                worker.send_signal(signal.SIGCONT)
        assert status == 200
        assert b"Metrics Dashboard" in body
        assert f"web worker ready pid={answering.pid}" in two_workers.log_text()


def test_large_responses_are_gzip_compressed(two_workers: LiveApp) -> None:
    # One kept-alive connection, so one worker answers both: Dash fills in some flags of its
    # own callbacks lazily, and two workers can list them differently at a given moment.
    address = urlparse(two_workers.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", "/_dash-dependencies")
        response = connection.getresponse()
        status, headers, plain = response.status, dict(response.getheaders()), response.read()
        assert status == 200 and "Content-Encoding" not in headers
        assert len(plain) > 10_000

        connection.request("GET", "/_dash-dependencies", headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        status, headers, compressed = response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()

    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"], headers
    assert gzip.decompress(compressed) == plain
    assert len(compressed) < len(plain) / 4


def test_debug_refuses_several_workers(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "serve", "--debug", "--workers", "2", extra_env={"FLASK_ENV": "development"}
    )
    assert result.returncode == 2
    assert "--workers needs production mode" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_server_takes_its_address_and_workers_from_settings(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path, host="::1", port=5999, log_level="WARNING")

    server = WebServer(settings, workers=3)

    assert server.cfg.bind == ["[::1]:5999"]
    assert server.cfg.workers == 3
    assert server.cfg.worker_class_str == "gthread"
    assert server.cfg.loglevel == "warning"
    assert not server.cfg.preload_app
    assert bind_address("127.0.0.1", 80) == "127.0.0.1:80"


@pytest.mark.parametrize(
    ("arguments", "extra_env"),
    [
        (["--debug"], {}),  # FLASK_ENV defaults to production
        (["--host", "0.0.0.0"], {"FLASK_DEBUG": "true", "FLASK_ENV": "development"}),
    ],
    ids=["production", "not-loopback"],
)
def test_debug_outside_loopback_development_stops_start_up_with_exit_2(
    tmp_path: Path, arguments: list[str], extra_env: dict[str, str]
) -> None:
    result = run_cli(tmp_path, "serve", *arguments, extra_env=extra_env)
    assert result.returncode == 2, result.stderr
    assert "FLASK_DEBUG (--debug) is refused" in result.stderr
    assert "Traceback" not in result.stderr
