"""Probes, Prometheus metrics (in one process and across several), request ids and access logs."""

from __future__ import annotations

import logging
import math
import shlex
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dash
import flask
import pytest
from dash import Input, Output, html
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from data_access.base import DataSourceUnavailable
from data_access.report_store import ReportStore
from metrics_dashboard.logging_setup import (
    LogContextFilter,
    job_id_var,
    job_log_context,
    log_field,
    request_id_var,
)
from metrics_dashboard.settings import Settings, load_settings, with_overrides
from metrics_dashboard.web import observability
from metrics_dashboard.web.observability import (
    ReadinessCheck,
    install_observability,
    record_analysis,
    request_id_from,
)

PROJECT_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"


@pytest.fixture
def settings(tmp_path: Path, tiny_source_dir: Path) -> Settings:
    return load_settings(
        environ={
            "DATA_SOURCE": str(tiny_source_dir),
            "OUTPUT_DIR": str(tmp_path / "output"),
            "CACHE_DIR": str(tmp_path / "cache"),
            "FLASK_SECRET_KEY": "test-secret",
        },
        env_file=None,
    )


def make_app(settings: Settings, *, readiness_timeout_s: float = 5.0) -> dash.Dash:
    app = dash.Dash(__name__)
    app.layout = html.Div([html.Button(id="go"), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("go", "n_clicks"))
    def echo(n_clicks: int | None) -> str:
        logging.getLogger("tests.callback").info("callback ran")
        return str(n_clicks)

    install_observability(app, settings, readiness_timeout_s=readiness_timeout_s)
    return app


def write_fixture_reports(output_dir: Path, when: datetime | None = None) -> None:
    store = ReportStore(output_dir)
    for kind in ("availability", "resilience"):
        payload = (FIXTURES / f"{kind}_report.json").read_bytes()
        store.write(kind, payload, when=when or datetime.now(UTC))


def scrape(client: FlaskClient) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(response.get_data(as_text=True))
    }


def sample_value(samples: list, **labels: str) -> float:
    matching = [sample.value for sample in samples if sample.labels == labels]
    assert len(matching) == 1, (labels, samples)
    return matching[0]


# --- probes ------------------------------------------------------------------------------


def test_healthz_answers_while_the_process_is_up(settings: Settings) -> None:
    response = make_app(settings).server.test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_is_ready_when_the_data_source_answers(settings: Settings) -> None:
    response = make_app(settings).server.test_client().get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_readyz_says_why_the_data_source_is_unavailable(
    settings: Settings, tiny_source_dir: Path
) -> None:
    client = make_app(settings).server.test_client()
    for table in tiny_source_dir.iterdir():
        table.unlink()
    tiny_source_dir.rmdir()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert str(tiny_source_dir) in response.json["reason"]


def test_readyz_is_not_ready_when_the_job_queue_does_not_answer(settings: Settings) -> None:
    from tests.browser.conftest import free_port

    closed = f"redis://:secret@127.0.0.1:{free_port()}/0"
    response = (
        make_app(with_overrides(settings, redis_url=closed)).server.test_client().get("/readyz")
    )
    assert response.status_code == 503
    assert response.json["reason"].startswith("the job queue (Redis at 127.0.0.1:")
    assert "secret" not in response.json["reason"]


def test_readyz_is_ready_with_a_job_queue_that_answers(settings: Settings, tmp_path: Path) -> None:
    from tests.scaleout import redis_server

    with redis_server(tmp_path) as url:
        response = (
            make_app(with_overrides(settings, redis_url=url)).server.test_client().get("/readyz")
        )
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_readyz_reports_unexpected_failures_without_details(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_settings: Settings) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(observability.runner, "data_source_for", broken)
    response = make_app(settings).server.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["reason"] == "readiness check failed: RuntimeError (see the server log)"
    assert "secret internals" in caplog.text


def test_readiness_is_bounded_in_time_and_shares_a_hung_ping() -> None:
    release = threading.Event()
    pings: list[float] = []

    def hanging_ping() -> None:
        pings.append(time.monotonic())
        release.wait(10)
        raise DataSourceUnavailable("MongoDB at db:27017 did not answer")

    check = ReadinessCheck(hanging_ping, timeout_s=0.2)
    results: list[str | None] = []
    probes = [threading.Thread(target=lambda: results.append(check())) for _ in range(5)]
    for probe in probes:
        probe.start()
    for probe in probes:
        probe.join(10)
    # Every probe came back while the ping still hung: the wait is bounded by the timeout.
    assert not release.is_set()
    assert results == ["the data source did not answer within 0.2 s"] * 5
    assert len(pings) == 1  # five probes, one ping in flight
    release.set()
    deadline = time.monotonic() + 10  # a bounded wait for the released ping to report
    while (answer := check()) != "MongoDB at db:27017 did not answer":
        assert time.monotonic() < deadline, answer


# --- report scores -----------------------------------------------------------------------


def test_metrics_show_the_latest_scores_with_statuses(settings: Settings) -> None:
    write_fixture_reports(settings.output_dir)
    families = scrape(make_app(settings).server.test_client())

    availability = families["metrics_dashboard_availability_score"]
    assert sample_value(
        availability, service_id="web-1", service_type="web_service", status="ATTENZIONE"
    ) == pytest.approx(0.7)
    assert math.isnan(
        sample_value(availability, service_id="lonely", service_type="mystery", status="NO_DATA")
    )
    resilience = families["metrics_dashboard_resilience_score"]
    assert sample_value(
        resilience, target_id="vm-1", target_type="vm", status="ACCEPTABLE"
    ) == pytest.approx(0.6375)
    assert sample_value(
        resilience, target_id="never", target_type="physical_server", status="SEVERE"
    ) == pytest.approx(0.0)

    aggregated = families["metrics_dashboard_aggregated_score"]
    assert sample_value(aggregated, kind="availability") == pytest.approx(0.4743589743589744)
    assert sample_value(aggregated, kind="resilience") == pytest.approx(0.478125)
    items = families["metrics_dashboard_report_items"]
    assert sample_value(items, kind="availability", status="NO_DATA") == 1
    assert sample_value(items, kind="resilience", status="SEVERE") == 1
    timestamps = families["metrics_dashboard_report_timestamp_seconds"]
    assert sample_value(timestamps, kind="resilience") == 1767335400.0  # 2026-01-02T06:30:00Z


def test_metrics_without_reports_have_no_score_samples(settings: Settings) -> None:
    families = scrape(make_app(settings).server.test_client())
    assert families["metrics_dashboard_availability_score"] == []
    assert families["metrics_dashboard_aggregated_score"] == []


def test_a_report_is_loaded_once_per_name(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fixture_reports(settings.output_dir)
    loaded: list[str] = []
    original = ReportStore.load

    def counting_load(store: ReportStore, name: str) -> dict:
        loaded.append(name)
        return original(store, name)

    monkeypatch.setattr(ReportStore, "load", counting_load)
    client = make_app(settings).server.test_client()
    scrape(client)
    scrape(client)
    assert len(loaded) == 2  # one per kind, not per scrape
    # Report names carry the second they were written in: these are newer.
    write_fixture_reports(settings.output_dir, when=datetime.now(UTC) + timedelta(seconds=5))
    scrape(client)
    assert len(loaded) == 4


def test_an_unreadable_latest_report_is_skipped_and_logged_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    document = (FIXTURES / "availability_report.json").read_text()
    broken = document.replace('"detailed_metrics":[', '"detailed_metrics":[{"bad": 1},', 1)
    settings.output_dir.mkdir(parents=True)
    name = "cumulative_availability_analysis_20260102_063000_0123abcd.json"
    (settings.output_dir / name).write_text(broken)
    client = make_app(settings).server.test_client()
    with caplog.at_level(logging.WARNING, logger="metrics_dashboard.web.observability"):
        first, second = scrape(client), scrape(client)
    assert first["metrics_dashboard_availability_score"] == []
    assert second["metrics_dashboard_availability_score"] == []
    warnings = [record for record in caplog.records if name in record.getMessage()]
    assert len(warnings) == 1


def test_a_report_file_that_breaks_the_store_does_not_break_metrics(settings: Settings) -> None:
    """A timestamp far outside pandas' range once made the report listing itself raise."""
    write_fixture_reports(settings.output_dir)
    document = (FIXTURES / "availability_report.json").read_text()
    hostile = document.replace("2026-01-02T06:30:00Z", "9999-12-31T23:59:59.999999999Z", 1)
    name = "cumulative_availability_analysis_29991231_235959_0123abcd.json"
    (settings.output_dir / name).write_text(hostile)
    families = scrape(make_app(settings).server.test_client())
    assert families["metrics_dashboard_resilience_score"] != []


# --- analysis and request metrics --------------------------------------------------------


def test_record_analysis_counts_and_times(settings: Settings) -> None:
    labels = {"kind": "resilience", "outcome": "timeout"}
    before = REGISTRY.get_sample_value("metrics_dashboard_analyses_total", labels) or 0.0
    record_analysis("resilience", 301.5, "timeout")
    assert REGISTRY.get_sample_value("metrics_dashboard_analyses_total", labels) == before + 1
    assert (
        REGISTRY.get_sample_value(
            "metrics_dashboard_analysis_duration_seconds_bucket", {**labels, "le": "600.0"}
        )
        or 0
    ) >= 1
    families = scrape(make_app(settings).server.test_client())
    assert sample_value(families["metrics_dashboard_analyses"], **labels) == before + 1


@pytest.mark.parametrize(
    ("kind", "outcome", "message"),
    [("latency", "success", "unknown analysis kind"), ("availability", "ok", "unknown outcome")],
)
def test_record_analysis_refuses_unknown_labels(kind: str, outcome: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        record_analysis(kind, 1.0, outcome)


def test_requests_are_timed_per_route_and_callback_output(settings: Settings) -> None:
    client = make_app(settings).server.test_client()
    client.get("/")
    body = {
        "output": "out.children",
        "outputs": {"id": "out", "property": "children"},
        "inputs": [{"id": "go", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["go.n_clicks"],
    }
    labels = {"route": "/_dash-update-component", "callback": "out.children", "method": "POST"}
    before = (
        REGISTRY.get_sample_value("metrics_dashboard_http_request_duration_seconds_count", labels)
        or 0.0
    )
    assert client.post("/_dash-update-component", json=body).status_code == 200
    unknown = {**labels, "callback": "unknown", "code": "500"}
    unknown_before = REGISTRY.get_sample_value("metrics_dashboard_http_requests_total", unknown)
    made_up = client.post("/_dash-update-component", json={**body, "output": "made-up.children"})
    assert made_up.status_code == 500  # Dash has no such callback
    assert (
        REGISTRY.get_sample_value("metrics_dashboard_http_request_duration_seconds_count", labels)
        == before + 1
    )
    requests_total = REGISTRY.get_sample_value("metrics_dashboard_http_requests_total", unknown)
    assert requests_total == (unknown_before or 0.0) + 1
    assert REGISTRY.get_sample_value(
        "metrics_dashboard_http_request_duration_seconds_count",
        {"route": "/", "callback": "", "method": "GET"},
    )


# --- request ids and logs ----------------------------------------------------------------


def test_request_ids_are_echoed_when_well_formed_and_replaced_otherwise(
    settings: Settings,
) -> None:
    client = make_app(settings).server.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "7f3c9a1e-proxy.42"})
    assert given.headers["X-Request-ID"] == "7f3c9a1e-proxy.42"
    for bad in ("has space", "x" * 200, "-starts-with-dash", 'quote"d'):
        replaced = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert replaced != bad and len(replaced) == 32
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert request_id_var.get() == "-"  # reset after each request


def test_request_id_from() -> None:
    assert request_id_from("abc:DEF_1.2-3") == "abc:DEF_1.2-3"
    assert request_id_from(None) != request_id_from(None)
    assert len(request_id_from("line\nbreak")) == 32


def test_log_records_made_while_serving_carry_the_request_id(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(LogContextFilter())
    client = make_app(settings).server.test_client()
    client.get("/")
    body = {
        "output": "out.children",
        "outputs": {"id": "out", "property": "children"},
        "inputs": [{"id": "go", "property": "n_clicks", "value": 2}],
        "changedPropIds": ["go.n_clicks"],
    }
    with caplog.at_level(logging.INFO):
        client.post("/_dash-update-component", json=body, headers={"X-Request-ID": "req-42"})
    callback_record = next(r for r in caplog.records if r.getMessage() == "callback ran")
    assert callback_record.request_id == "req-42"  # type: ignore[attr-defined]
    access = next(r for r in caplog.records if r.name == "metrics_dashboard.access")
    assert access.request_id == "req-42"  # type: ignore[attr-defined]
    message = access.getMessage()
    assert message.startswith("request method=POST path=/_dash-update-component status=200 ")
    assert " duration_ms=" in message and message.endswith("user=- callback=out.children")


def test_access_log_lines_cannot_be_forged_through_the_path(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(settings).server.test_client()
    with caplog.at_level(logging.INFO, logger="metrics_dashboard.access"):
        client.get("/x%0Arequest method=GET path=/admin status=200")
    (record,) = [r for r in caplog.records if r.name == "metrics_dashboard.access"]
    assert "\n" not in record.getMessage()
    assert "path=/x%0Arequest%20method=GET%20path=/admin%20status=200 status=404 " in (
        record.getMessage()
    )


def test_access_log_fields_cannot_be_forged_through_the_user_name(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(settings)
    forged = 'eve" status=200 user=admin\nrequest method=GET'
    app.server.before_request(lambda: setattr(flask.g, "user", forged))
    with caplog.at_level(logging.INFO, logger="metrics_dashboard.access"):
        app.server.test_client().get("/")
    (record,) = [r for r in caplog.records if r.name == "metrics_dashboard.access"]
    message = record.getMessage()
    assert "\n" not in message
    assert message.endswith(r'user="eve\" status=200 user=admin\nrequest method=GET"')
    fields = shlex.split(message)  # how a log shipper splits key=value fields
    assert [field for field in fields if field.startswith(("user=", "status="))] == [
        "status=200",
        'user=eve" status=200 user=admin\\nrequest method=GET',
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("alice@example.org", "alice@example.org"),
        ("-", "-"),
        ("two words", '"two words"'),
        ('q"uote', r'"q\"uote"'),
        ("josé", r'"jos\u00e9"'),
        ("tab\there", r'"tab\there"'),
        ("", '""'),
    ],
)
def test_log_field_quotes_anything_but_plain_values(value: str, shown: str) -> None:
    assert log_field(value) == shown


def test_probes_are_logged_at_debug_level(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(settings).server.test_client()
    with caplog.at_level(logging.DEBUG, logger="metrics_dashboard.access"):
        client.get("/healthz")
        client.get("/metrics")
    levels = {
        r.getMessage().split()[2]: r.levelno for r in caplog.records if r.name.endswith("access")
    }
    assert levels == {"path=/healthz": logging.DEBUG, "path=/metrics": logging.DEBUG}


def test_job_log_context_tags_records_with_the_job_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with job_log_context("job-9"):
        LogContextFilter().filter(record)
    assert (record.job_id, record.request_id) == ("job-9", "-")  # type: ignore[attr-defined]
    assert job_id_var.get() == "-"


# --- several processes -------------------------------------------------------------------

MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, sys
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = sys.argv[1]
    from metrics_dashboard.web import observability
    from data_access.report_store import ReportStore

    # A background-job process (forked, like Dash's diskcache jobs) records its analysis...
    child = multiprocessing.get_context("fork").Process(
        target=observability.record_analysis, args=("availability", 2.0, "success")
    )
    child.start()
    child.join()
    # ...and so does this process; /metrics in any process shows both.
    observability.record_analysis("availability", 4.0, "success")
    collector = observability.ReportScoreCollector(ReportStore(sys.argv[2]))
    sys.stdout.write(observability.metrics_text(collector).decode())
    """
)


def test_multiprocess_mode_adds_up_the_analyses_of_every_process(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, str(metrics_dir), str(tmp_path / "output")],
        cwd=PROJECT_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    families = {f.name: f.samples for f in text_string_to_metric_families(result.stdout)}
    labels = {"kind": "availability", "outcome": "success"}
    assert sample_value(families["metrics_dashboard_analyses"], **labels) == 2
    assert (
        sample_value(
            families["metrics_dashboard_analysis_duration_seconds"],
            **labels,
            le="+Inf",
        )
        == 2
    )
    assert "metrics_dashboard_availability_score" in families
    assert len(list(metrics_dir.glob("*.db"))) >= 2  # one file per process
