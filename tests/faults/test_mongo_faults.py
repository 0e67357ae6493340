"""MongoDB unreachable or silent: the CLI exits 3, a job ends with a clear error and writes
nothing, and the web app keeps serving with a banner and retries (headless Chromium).

Three ways a server can fail, on loopback:

* a port that refuses connections;
* ``silent``: a server that accepts connections and never replies;
* ``stops``: a server that answers the connection handshake, then stops answering anything as
  soon as it is asked a query (a machine that froze or dropped off the network mid-session);
* ``hangs``: a server that keeps answering the driver's heartbeats but never answers a query
  (an overloaded or locked server).
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import bson
import pytest
from playwright.sync_api import Browser, expect

from analytics.config import parse_config
from metrics_dashboard.runner import run_analysis
from metrics_dashboard.settings import load_settings, with_overrides
from metrics_dashboard.web import jobs
from tests.browser.conftest import (
    PROJECT_ROOT,
    LiveApp,
    WatchedPage,
    free_port,
    start_app,
    stop_app,
)
from tests.pages import tiny_settings
from tests.scaleout import app_env, cli_command

Mode = Literal["silent", "stops", "hangs"]
HANDSHAKE_COMMANDS = {"hello", "ismaster"}
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
# A refused or silent server fails in seconds (2 attempts x 3 s server selection, plus one
# 10 s heartbeat for a server that stops mid-session). That is the driver's configuration; the
# tests only bound how long they wait for the outcome (generously: the machine may be busy),
# they do not time it.
WAIT_AT_MOST_S = 120
# A check of a refused server takes about 6 s: the page waits for it.
CHECK_TIMEOUT_MS = 30_000


class FakeMongo:
    """A loopback TCP server speaking just enough of the MongoDB wire protocol (the handshake)
    to fail in one of the ways of :data:`Mode`."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.queries: list[str] = []
        self._stopped = threading.Event()  # "stops": set at the first query, then no replies
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self.port = self._listener.getsockname()[1]
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._connections.append(connection)
            if self.mode != "silent":
                threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            while True:
                length, request_id, _, opcode = struct.unpack("<iiii", _read(connection, 16))
                command = _command(opcode, _read(connection, length - 16))
                if command is None:
                    continue
                name = next(iter(command)).lower()
                if name not in HANDSHAKE_COMMANDS:
                    self.queries.append(name)
                    if self.mode == "stops":
                        self._stopped.set()
                    continue  # never answered
                if not self._stopped.is_set():
                    connection.sendall(_reply(opcode, request_id, _hello()))
        except (OSError, EOFError):
            return


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _command(opcode: int, body: bytes) -> dict[str, Any] | None:
    if opcode == OP_QUERY:  # flags, collection name, skip, limit, then the command document
        name_end = body.index(b"\0", 4)
        return bson.decode(body[name_end + 9 :])
    if opcode == OP_MSG:  # flags, then section kind 0: the command document
        return bson.decode(body[5:])
    return None


def _reply(opcode: int, request_id: int, document: dict[str, Any]) -> bytes:
    encoded = bson.encode(document)
    if opcode == OP_QUERY:
        payload, reply_opcode = struct.pack("<iqii", 0, 0, 0, 1) + encoded, OP_REPLY
    else:
        payload, reply_opcode = struct.pack("<iB", 0, 0) + encoded, OP_MSG
    return struct.pack("<iiii", 16 + len(payload), 0, request_id, reply_opcode) + payload


def _hello() -> dict[str, Any]:
    """A standalone primary of MongoDB 7 (wire version 21)."""
    return {
        "helloOk": True,
        "ismaster": True,
        "isWritablePrimary": True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": datetime.now(UTC),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": 1,
        "minWireVersion": 0,
        "maxWireVersion": 21,
        "readOnly": False,
        "ok": 1.0,
    }


@pytest.fixture
def refused_uri() -> str:
    return f"mongodb://127.0.0.1:{free_port()}/"  # nobody listens: connections are refused


@pytest.fixture
def fake_mongo(request: pytest.FixtureRequest) -> Iterator[FakeMongo]:
    server = FakeMongo(request.param)
    try:
        yield server
    finally:
        server.close()


def analyze(uri: str, tmp_path: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command("analyze", "availability", "--source", uri),
        cwd=PROJECT_ROOT,
        env=app_env(tmp_path, 1),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_no_report(output_dir: Path) -> None:
    assert not output_dir.exists() or not any(output_dir.iterdir())


# -- command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("fake_mongo", ["silent", "stops"], indirect=True)
def test_the_cli_exits_3_when_mongodb_does_not_answer(fake_mongo: FakeMongo, tmp_path) -> None:
    result = analyze(fake_mongo.uri, tmp_path, timeout=WAIT_AT_MOST_S)

    assert result.returncode == 3, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("metrics-dashboard: error: MongoDB ")
    assert "did not answer" in last_line
    assert "Traceback" not in result.stderr
    assert_no_report(tmp_path / "output")
    if fake_mongo.mode == "stops":
        assert fake_mongo.queries, "the server was never queried: the test tested nothing"


@pytest.mark.parametrize("fake_mongo", ["hangs"], indirect=True)
def test_the_cli_exits_3_when_mongodb_hangs_on_the_query(fake_mongo: FakeMongo, tmp_path) -> None:
    result = analyze(fake_mongo.uri, tmp_path, timeout=WAIT_AT_MOST_S)

    assert result.returncode == 3, result.stderr
    assert_no_report(tmp_path / "output")


# -- the web job ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path):
    return tiny_settings(tmp_path)


def run_job(settings) -> jobs.JobOutcome:
    return jobs.run_analysis_job(
        {"analysis_type": "availability"}, settings=settings, set_progress=lambda _: None
    )


def test_a_job_on_a_refused_mongodb_ends_with_a_clear_error(settings, refused_uri: str) -> None:
    outcome = run_job(with_overrides(settings, data_source=refused_uri))

    assert not outcome.succeeded
    assert outcome.error.startswith("Data source problem: MongoDB ")
    assert "did not answer" in outcome.error and "Check that the server is running" in outcome.error
    assert_no_report(settings.output_dir)


@pytest.mark.parametrize("fake_mongo", ["silent", "stops"], indirect=True)
def test_a_job_on_a_silent_mongodb_ends_with_a_clear_error(settings, fake_mongo) -> None:
    # In the main thread, as a job runs in its own process; pytest's timeout bounds the wait.
    outcome = run_job(with_overrides(settings, data_source=fake_mongo.uri))

    assert outcome.error.startswith("Data source problem: MongoDB ")
    assert "did not answer" in outcome.error
    assert_no_report(settings.output_dir)


@pytest.mark.parametrize("fake_mongo", ["hangs"], indirect=True)
def test_a_job_on_a_hanging_mongodb_stops_at_max_analysis_timeout(settings, fake_mongo) -> None:
    # The query never gets an answer: the 4 s time limit (SIGALRM, main thread) ends the job
    # before the driver's 10 s socket timeout would; the message says which one did.
    outcome = run_job(with_overrides(settings, data_source=fake_mongo.uri, max_analysis_timeout=4))

    assert not outcome.succeeded
    assert "MAX_ANALYSIS_TIMEOUT" in outcome.error
    assert_no_report(settings.output_dir)


# -- the web app ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_without_mongodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app (production server) on a MongoDB that refuses connections, with one availability
    report already written: reports stay readable without the data source."""
    base = tmp_path_factory.mktemp("no_mongodb")
    demo = load_settings(
        {"data_source": "demo", "output_dir": base / "output", "cache_dir": base / "cache"},
        environ={},
        env_file=None,
    )
    run_analysis(parse_config({"analysis_type": "availability"}), settings=demo)
    app = start_app(base, extra_env={"DATA_SOURCE": f"mongodb://127.0.0.1:{free_port()}/"})
    try:
        yield app
    finally:
        stop_app(app)


@pytest.mark.browser
def test_the_app_keeps_serving_says_what_happened_and_offers_a_retry(
    browser: Browser,
    app_without_mongodb: LiveApp,
) -> None:
    context = browser.new_context(base_url=app_without_mongodb.url)
    context.set_default_timeout(30_000)
    watched = WatchedPage(context.new_page())
    page = watched.page
    try:
        page.goto("/")
        alert = page.locator("#home-source-alert")
        expect(alert).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        expect(alert).to_contain_text("The data source cannot be reached")
        message = page.locator("#home-source-message")
        expect(message).to_contain_text("did not answer")
        first_check = message.inner_text()
        # Reports already written stay available while the data source is down.
        expect(page.locator("#home-availability-open")).to_be_enabled()

        page.wait_for_timeout(1100)  # the message names the check's second
        page.locator("#home-source-retry").click()
        expect(message).not_to_have_text(first_check, timeout=CHECK_TIMEOUT_MS)
        expect(message).to_contain_text("did not answer")

        page.locator("#home-availability-open").click()
        expect(page.locator("#availability-dashboard-aggregated-value")).to_have_text(
            re.compile(r"\d+\.\d%")
        )

        page.goto("/availability/config")
        expect(page.get_by_text("The services cannot be read")).to_be_visible(
            timeout=CHECK_TIMEOUT_MS
        )
        expect(page.get_by_text("did not answer")).to_be_visible()
        expect(page.locator("#availability-config-start")).to_have_count(0)
        retry = page.locator(".app-alert a", has_text="Retry")
        expect(retry).to_have_attribute("href", "/availability/config")
    finally:
        context.close()
    assert not watched.console_errors, watched.console_errors
    assert not watched.failed_requests, watched.failed_requests
    assert_no_report_but(app_without_mongodb.output_dir, count=1)
    assert "Traceback" not in app_without_mongodb.log_text()


def assert_no_report_but(output_dir: Path, *, count: int) -> None:
    assert len(list(output_dir.glob("*.json"))) == count
