"""The MongoDB source against mongomock, plus the pure pipeline builders and the mapping file.

mongomock is a fake: an in-process imitation of MongoDB's query language. It runs the real
pipelines this module builds (with one operator filled in, see ``mongomock_trim``), but says
nothing about indexes, sharding, timeouts or the server's exact semantics. The ``check_*``
functions below are therefore also run against a real server by test_mongo_integration.py when
MONGODB_TEST_URI is set.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import mongomock
import mongomock.aggregate
import pandas as pd
import pytest
from pymongo.database import Database
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from analytics.report.quality import DataQuality
from data_access.base import DataSource, DataSourceError, DataSourceUnavailable, DataValidationError
from data_access.demo import generate_demo_frames, write_demo_files
from data_access.files_source import FilesSource
from data_access.frames import RawTables
from data_access.mongo_source import (
    DEFAULT_MAPPING_FILE,
    MetricsMapping,
    MongoMapping,
    MongoSource,
    backups_pipeline,
    create_indexes,
    last_success_pipeline,
    load_frames_into_mongo,
    load_mapping,
    metrics_pipeline,
    redacted,
    undated_pipeline,
    with_retry,
)
from data_access.statuses import StatusWords
from tests.data_access import status_rules


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def at(text: str) -> datetime:
    return utc(text).to_pydatetime()


@pytest.fixture(autouse=True)
def mongomock_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """mongomock 4.3 lists ``$trim`` but does not implement it; fill in MongoDB's documented
    default (remove surrounding whitespace) so that the production pipelines run unchanged."""
    original = mongomock.aggregate._Parser._handle_string_operator

    def handle(self: Any, operator: str, values: Any) -> Any:
        if operator == "$trim":
            value = self.parse(values["input"])
            return None if value is None else value.strip()
        return original(self, operator, values)

    monkeypatch.setattr(mongomock.aggregate._Parser, "_handle_string_operator", handle)


@pytest.fixture
def db() -> Iterator[Database]:
    client = mongomock.MongoClient(tz_aware=True)
    yield client["metrics_test"]
    client.close()


# -- a small database, and checks shared with the integration test -------------------------------


def seed(db: Database) -> None:
    """The default layout with every rule in play."""
    db.assets.insert_many(
        [
            {"service_id": "web", "display_name": "Web frontend", "service_type": "web_service"},
            {"service_id": "db", "display_name": "Main database", "service_type": "database"},
            {"service_id": "idle", "service_type": "mystery"},
            {"hostname": "printer-1"},  # an asset that is not a service
        ]
    )
    db.metrics.insert_many(
        [
            {"service_id": "web", "timestamp": at("2026-01-01T00:00"), "status": "up"},
            {"service_id": "web", "timestamp": at("2026-01-01T00:05"), "status": " DOWN"},
            {"service_id": "web", "timestamp": at("2026-01-01T00:05"), "status": "Timeout"},
            {"service_id": "web", "timestamp": at("2026-01-01T00:10"), "status": "ok"},
            {"service_id": "web", "timestamp": at("2026-01-01T00:15")},  # no status
            {"service_id": "db", "timestamp": at("2026-01-01T00:00"), "status": "up"},
            {"service_id": "db", "timestamp": at("2026-01-01T12:00"), "status": "error"},
            {"service_id": "db", "timestamp": at("2026-01-02T00:00"), "status": "down"},
            {"service_id": "printer-1", "timestamp": at("2026-01-01T00:00"), "status": "down"},
        ]
    )
    db.backup_jobs.insert_many(
        [
            {"target_id": "vm", "display_name": "App VM", "target_type": "vm"},
            {"target_id": "ct", "display_name": "Worker container", "target_type": "container"},
            {
                "target_id": "never",
                "display_name": "Never backed up",
                "target_type": "physical_server",
            },
        ]
    )
    db.backups.insert_many(
        [
            {"target_id": "vm", "timestamp": at("2025-12-30T20:00"), "status": "success"},
            {"target_id": "vm", "timestamp": at("2025-12-31T20:00"), "status": "failed"},
            {"target_id": "vm", "timestamp": at("2026-01-01T06:00"), "status": "failed"},
            {"target_id": "vm", "timestamp": at("2026-01-01T12:00"), "status": "Completed"},
            {"target_id": "vm", "timestamp": at("2026-01-02T00:00"), "status": "WARNING"},
            {"target_id": "ct", "timestamp": at("2026-01-01T03:00"), "status": "error"},
        ]
    )


def default_source(client: Any, database: str, policy: str = "unknown") -> MongoSource:
    return MongoSource(client, database, mapping=MongoMapping(), statuses=status_rules(policy))


def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def check_services(source: MongoSource) -> None:
    assert isinstance(source, DataSource)
    quality = DataQuality()
    assert rows(source.services(quality=quality)) == [
        ("db", "Main database", "database"),
        ("idle", "idle", "mystery"),
        ("web", "Web frontend", "web_service"),
    ]
    assert quality.warnings == [
        "collection 'assets': 1 documents without a string 'service_id' (ignored)"
    ]
    assert quality.dropped_rows == {
        "collection 'assets': documents without a string 'service_id'": 1
    }
    assert source.backup_targets()["target_id"].tolist() == ["ct", "never", "vm"]


def check_metrics(source: MongoSource) -> None:
    quality = DataQuality()
    metrics = source.metrics(quality=quality)
    assert list(metrics.columns) == ["service_id", "timestamp", "failures"]
    assert metrics["service_id"].cat.categories.tolist() == ["db", "idle", "web"]
    assert str(metrics["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(metrics["failures"].dtype) == "int32"
    assert rows(metrics) == [
        ("db", utc("2026-01-01T00:00"), 0),
        ("db", utc("2026-01-01T12:00"), 1),
        ("db", utc("2026-01-02T00:00"), 1),
        ("web", utc("2026-01-01T00:00"), 0),
        ("web", utc("2026-01-01T00:05"), 2),  # two failure rows at one instant, counted in $group
        ("web", utc("2026-01-01T00:10"), 0),
    ]
    assert (
        "collection 'metrics': 1 documents without a 'status' value (ignored)" in quality.warnings
    )
    assert quality.unknown_status_rows == 0
    # half-open window, id selection (an unknown id selects nothing)
    window = source.metrics(
        start=utc("2026-01-01T00:05"), end=utc("2026-01-01T12:00"), service_ids=["web", "nope"]
    )
    assert rows(window) == [
        ("web", utc("2026-01-01T00:05"), 2),
        ("web", utc("2026-01-01T00:10"), 0),
    ]
    naive = source.metrics(start=pd.Timestamp("2026-01-01T12:00"), service_ids=["db"])
    assert rows(naive) == [("db", utc("2026-01-01T12:00"), 1), ("db", utc("2026-01-02"), 1)]
    assert source.metrics(service_ids=[]).empty
    assert source.metrics(service_ids=["idle"])["service_id"].cat.categories.tolist() == [
        "db",
        "idle",
        "web",
    ]


def check_backups(source: MongoSource) -> None:
    backups = source.backups(start=utc("2026-01-01T06:00"), end=utc("2026-01-01T12:00"))
    assert rows(backups) == [
        ("vm", utc("2025-12-30T20:00"), True),  # latest success before start
        ("vm", utc("2026-01-01T06:00"), False),  # at start: in
        ("vm", utc("2026-01-01T12:00"), True),  # at end: in (closed)
    ]
    assert str(backups["succeeded"].dtype) == "bool"
    everything = source.backups()
    assert everything["succeeded"].tolist() == [False, True, False, False, True, True]
    only_ct = source.backups(end=utc("2026-01-01T03:00"), target_ids=["ct"])
    assert rows(only_ct) == [("ct", utc("2026-01-01T03:00"), False)]


def check_extent_and_ping(source: MongoSource) -> None:
    source.ping()
    extent = source.extent()
    assert (extent.metrics_first, extent.metrics_last) == (utc("2026-01-01"), utc("2026-01-02"))
    assert (extent.backups_first, extent.backups_last) == (
        utc("2025-12-30T20:00"),
        utc("2026-01-02"),
    )


def check_hostile_ids_are_refused(source: MongoSource) -> None:
    for ids, message in [
        ([{"$ne": None}], "plain strings, got dict"),
        (["$where"], "starts with '\\$'"),
        ("web", "list of strings, got str"),
    ]:
        with pytest.raises(DataValidationError, match=message):
            source.metrics(service_ids=ids)  # type: ignore[arg-type]
        with pytest.raises(DataValidationError, match=message):
            source.backups(target_ids=ids)  # type: ignore[arg-type]


def demo_subset() -> RawTables:
    """A day of a few demo services, and a few targets: enough patterns, small enough for a fake."""
    frames = generate_demo_frames(date(2026, 3, 10), now=datetime(2026, 3, 10, 15, tzinfo=UTC))
    services = ["haproxy-edge", "mysql-erp", "jenkins-master"]
    targets = ["vm-legacy-crm", "srv-lab-01", "acronis-sql-12h"]
    metrics = frames.metrics[
        frames.metrics["service_id"].isin(services)
        & frames.metrics["timestamp"].between(utc("2026-03-09"), utc("2026-03-10"))
    ]
    return RawTables(
        services=frames.services[frames.services["service_id"].isin(services)],
        metrics=metrics.reset_index(drop=True),
        backup_targets=frames.backup_targets[frames.backup_targets["target_id"].isin(targets)],
        backups=frames.backups[frames.backups["target_id"].isin(targets)].reset_index(drop=True),
    )


def check_demo_round_trip(db: Database, source: MongoSource, tmp_path: Path) -> None:
    """The demo loaded into MongoDB reads back exactly as the files source reads it."""
    subset = demo_subset()
    counts = load_frames_into_mongo(db, MongoMapping(), subset)
    assert counts == {
        "services": 3,
        "backup_targets": 3,
        "metrics": len(subset.metrics),
        "backups": len(subset.backups),
    }
    again = load_frames_into_mongo(db, MongoMapping(), subset)  # idempotent
    assert again == counts
    assert db.metrics.count_documents({}) == len(subset.metrics)
    files = FilesSource(
        write_demo_files(tmp_path / "demo", subset, fmt="parquet"), statuses=status_rules()
    )
    window = {"start": utc("2026-03-09"), "end": utc("2026-03-10")}
    pd.testing.assert_frame_equal(source.services(), files.services())
    pd.testing.assert_frame_equal(source.metrics(**window), files.metrics(**window))
    pd.testing.assert_frame_equal(source.backups(**window), files.backups(**window))
    assert source.metrics(**window)["failures"].sum() >= 60  # the outage is in there


# -- against mongomock -------------------------------------------------------------------------


@pytest.fixture
def seeded(db: Database) -> MongoSource:
    seed(db)
    return default_source(db.client, db.name)


def test_services(seeded: MongoSource) -> None:
    check_services(seeded)


def test_metrics(seeded: MongoSource) -> None:
    check_metrics(seeded)


def test_backups(seeded: MongoSource) -> None:
    check_backups(seeded)


def test_extent_and_ping(seeded: MongoSource) -> None:
    check_extent_and_ping(seeded)


def test_hostile_ids_are_refused(seeded: MongoSource) -> None:
    check_hostile_ids_are_refused(seeded)


def test_demo_round_trip(db: Database, tmp_path: Path) -> None:
    check_demo_round_trip(db, default_source(db.client, db.name), tmp_path)


def test_empty_database(db: Database) -> None:
    source = default_source(db.client, db.name)
    assert source.services().empty and source.metrics().empty
    assert source.backups(start=utc("2026-01-01")).empty
    assert source.extent().metrics_first is None


def test_a_custom_mapping_reads_another_layout(db: Database) -> None:
    db.inventory.insert_many(
        [
            {"name": "mail", "label": "Mail relay", "meta": {"type": "mail"}, "kind": "service"},
            {"name": "laptop-7", "label": "A laptop", "meta": {"type": "pc"}, "kind": "device"},
        ]
    )
    db.checks.insert_many(
        [
            {"host": "mail", "at": at("2026-01-01T00:00"), "state": "KO", "probe": "http"},
            {"host": "mail", "at": at("2026-01-01T00:00"), "state": "KO", "probe": "disk"},
            {"host": "mail", "at": at("2026-01-01T00:01"), "state": "down", "probe": "http"},
        ]
    )
    mapping = MongoMapping.model_validate(
        {
            "services": {
                "collection": "inventory",
                "filter": {"kind": "service"},
                "service_id": "name",
                "display_name": "label",
                "service_type": "meta.type",
            },
            "metrics": {
                "collection": "checks",
                "filter": {"probe": "http"},
                "service_id": "host",
                "timestamp": "at",
                "status": "state",
            },
            "failure_statuses": ["ko"],
        }
    )
    source = MongoSource(db.client, db.name, mapping=mapping, statuses=status_rules())
    assert rows(source.services()) == [("mail", "Mail relay", "mail")]
    # The probe filter keeps one row per instant; the mapping's own failure words replace the
    # configured ones, so "down" is no word of this database: counted, and left out.
    quality = DataQuality()
    assert rows(source.metrics(quality=quality)) == [("mail", utc("2026-01-01T00:00"), 1)]
    assert quality.unknown_statuses == {"down": 1}
    assert source.statuses.checks.failure == {"ko"}


@pytest.mark.parametrize(
    ("documents", "call", "message"),
    [
        (
            {"assets": [{"service_id": "web"}]},
            "services",
            "collection 'assets': service_id 'web' appears more than once",
        ),
    ],
)
def test_bad_documents_are_clear_errors(
    seeded: MongoSource, db: Database, documents: dict[str, list[dict]], call: str, message: str
) -> None:
    for collection, docs in documents.items():
        db[collection].insert_many(docs)
    with pytest.raises(DataValidationError, match=message):
        getattr(seeded, call)()


# -- pipelines (pure) ----------------------------------------------------------------------------


def test_metrics_pipeline_matches_indexed_fields_first_then_groups() -> None:
    pipeline = metrics_pipeline(
        MetricsMapping(),
        service_ids=["a", "b"],
        start=at("2026-01-01"),
        end=at("2026-01-02"),
        words=StatusWords.of(failure={"down", "timeout"}, success={"up"}, name="availability"),
    )
    assert [next(iter(stage)) for stage in pipeline] == [
        "$match",
        "$project",
        "$group",
        "$sort",
        "$project",
    ]
    assert pipeline[0]["$match"] == {
        "service_id": {"$in": ["a", "b"]},
        "timestamp": {"$gte": at("2026-01-01"), "$lt": at("2026-01-02")},
    }
    assert pipeline[1]["$project"]["status"] == {
        "$trim": {"input": {"$toLower": {"$ifNull": ["$status", ""]}}}
    }
    group = pipeline[2]["$group"]
    assert group["_id"] == {"s": "$s", "t": "$t"}
    assert group["failures"] == {
        "$sum": {"$cond": [{"$in": ["$status", ["down", "timeout"]]}, 1, 0]}
    }
    known_or_blank = {
        "$or": [{"$in": ["$status", ["down", "timeout", "up"]]}, {"$eq": ["$status", ""]}]
    }
    unknown = {"$cond": [known_or_blank, False, True]}
    assert group["unknown"] == {"$sum": {"$cond": [unknown, 1, 0]}}


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, {"$type": "date"}),  # dates only, also without a window
        ("2026-01-01", None, {"$gte": at("2026-01-01")}),
        (None, "2026-01-02", {"$lte": at("2026-01-02")}),
    ],
)
def test_backups_pipeline_window_is_closed(
    start: str | None, end: str | None, expected: dict
) -> None:
    mapping = MongoMapping().backups.model_copy(update={"filter": {"kind": "backup"}})
    pipeline = backups_pipeline(
        mapping,
        target_ids=["t"],
        start=None if start is None else at(start),
        end=None if end is None else at(end),
        words=StatusWords.of(failure={"failed"}, success={"success"}, name="resilience"),
    )
    selection = {"target_id": {"$in": ["t"]}, "timestamp": expected}
    assert pipeline[0] == {"$match": {"$and": [selection, {"kind": "backup"}]}}
    assert pipeline[1] == {"$sort": {"target_id": 1, "timestamp": 1}}


def test_last_success_pipeline_looks_strictly_before_start() -> None:
    pipeline = last_success_pipeline(
        MongoMapping().backups,
        target_ids=["t"],
        before=at("2026-01-01"),
        success_statuses={"ok", "success"},
    )
    assert pipeline[0] == {
        "$match": {"target_id": {"$in": ["t"]}, "timestamp": {"$lt": at("2026-01-01")}}
    }
    assert pipeline[1] == {"$sort": {"target_id": 1, "timestamp": -1}}
    assert pipeline[3] == {"$match": {"status": {"$in": ["ok", "success"]}}}
    assert pipeline[4] == {"$group": {"_id": "$s", "t": {"$first": "$t"}}}


# -- mapping file ------------------------------------------------------------------------------


def test_the_shipped_mapping_file_is_the_default_layout() -> None:
    assert load_mapping(None) == MongoMapping()
    assert load_mapping(DEFAULT_MAPPING_FILE) == MongoMapping()
    assert MongoMapping().services.collection == "assets"
    assert MongoMapping().backup_targets.collection == "backup_jobs"


def test_a_partial_mapping_file_keeps_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"metrics": {"collection": "health"}, "success_statuses": ["OK"]}))
    mapping = load_mapping(path)
    assert mapping.metrics.collection == "health"
    assert mapping.metrics.timestamp == "timestamp"
    assert mapping.services == MongoMapping().services
    assert mapping.success_statuses == ["OK"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"mapping file .*mapping\.json not found"),
        ("{", r"mapping\.json: not valid JSON \(line 1, column 2"),
        ('{"metric": {}}', r"mapping\.json: metric: Extra inputs are not permitted"),
        (
            '{"metrics": {"status": "$status"}}',
            r"metrics\.status: Value error, '\$status' is not a field name",
        ),
        (
            '{"backups": {"collection": ""}}',
            r"backups\.collection: Value error, '' is not a collection name",
        ),
        ('{"metrics": {"timestamp": 5}}', r"metrics\.timestamp: Input should be a valid string"),
        ("[]", r"mapping\.json: top level: Input should be a valid dictionary"),
    ],
)
def test_mapping_file_errors_name_the_file_and_field(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "mapping.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataSourceError, match=message):
        load_mapping(path)


# -- connection errors ----------------------------------------------------------------------------


def test_an_unreachable_server_fails_fast_with_a_clear_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = MongoSource(
        "mongodb://admin:s3cret@127.0.0.1:1/?authSource=admin",
        "pmi_infrastructure",
        mapping=MongoMapping(),
        statuses=status_rules(),
        server_selection_timeout_ms=300,
    )
    assert source.description == "MongoDB mongodb://127.0.0.1:1/pmi_infrastructure"
    # Fast by configuration (what the driver waits for), not by a stopwatch: the call itself
    # runs in a thread and is only waited for, with a generous bound.
    assert source.database.client.options.server_selection_timeout == 0.3
    outcome: list[BaseException] = []
    finished = threading.Event()

    def call() -> None:
        try:
            source.services()
        except BaseException as error:
            outcome.append(error)
        finished.set()

    with caplog.at_level(logging.WARNING):
        threading.Thread(target=call, daemon=True).start()
        assert finished.wait(timeout=120), "the call never ended"
    (error,) = outcome
    assert isinstance(error, DataSourceUnavailable)
    message = str(error)
    assert message.startswith(
        "MongoDB mongodb://127.0.0.1:1/pmi_infrastructure did not answer while reading assets (2 attempt(s))"
    )
    assert "Check that the server is running" in message
    assert "s3cret" not in message and "s3cret" not in caplog.text
    assert caplog.text.count("failed (attempt") == 2
    with pytest.raises(DataSourceUnavailable):
        source.ping()


@pytest.mark.parametrize(
    ("uri", "database", "message"),
    [
        (
            "mongodb://host:notaport",
            "db",
            "cannot use MongoDB connection string mongodb://host:notaport",
        ),
        ("mongodb://localhost", "bad name", "with database 'bad name'"),
        (
            "mongodb+srv://u:pw@cluster.example.net:27017",
            "db",
            r"connection string mongodb\+srv://cluster\.example\.net:27017 .*must not include a port",
        ),
        ("mongodb://u:pw@", "db", "connection string mongodb:// with database 'db': Empty host"),
    ],
)
def test_a_bad_connection_string_is_a_clear_error(uri: str, database: str, message: str) -> None:
    with pytest.raises(DataSourceError, match=message) as raised:
        MongoSource(
            uri,
            database,
            mapping=MongoMapping(),
            statuses=status_rules(),
        )
    assert "pw@" not in str(raised.value)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("mongodb://user:pw@h1:27017,h2:27018/db?replicaSet=rs", "mongodb://h1:27017,h2:27018"),
        ("mongodb+srv://u:p@cluster.example.net", "mongodb+srv://cluster.example.net"),
        ("mongodb://localhost", "mongodb://localhost"),
    ],
)
def test_redacted_keeps_hosts_only(uri: str, expected: str) -> None:
    assert redacted(uri) == expected


def test_with_retry_retries_once_then_gives_up() -> None:
    outcomes: list[Exception | str] = [AutoReconnect("blip"), "answer"]

    def flaky() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retry("reading", "here", flaky) == "answer"

    calls = []

    def down() -> None:
        calls.append(1)
        raise ServerSelectionTimeoutError(
            "127.0.0.1:1: [Errno 111] Connection refused, Timeout: 0.3s, Topology Description: ..."
        )

    with pytest.raises(
        DataSourceUnavailable,
        match=r"did not answer while reading \(2 attempt\(s\)\): 127\.0\.0\.1:1: \[Errno 111\] Connection refused\. Check",
    ):
        with_retry("reading", "here", down)
    assert len(calls) == 2


def test_with_retry_maps_a_refusal_without_retrying() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise OperationFailure("auth failed", code=18, details={"errmsg": "Authentication failed."})

    with pytest.raises(
        DataSourceError, match=r"MongoDB here refused reading: Authentication failed\."
    ) as raised:
        with_retry("reading", "here", refused)
    assert not isinstance(raised.value, DataSourceUnavailable)
    assert len(calls) == 1


# -- init-db and demo-data --mongo ------------------------------------------------------------


def test_create_indexes(db: Database) -> None:
    names = create_indexes(db, MongoMapping())
    assert names == [
        "service_id_1",
        "target_id_1",
        "service_id_1_timestamp_1",
        "timestamp_1",
        "target_id_1_timestamp_1",
        "timestamp_1",
    ]
    assert create_indexes(db, MongoMapping()) == names  # idempotent
    assert db.metrics.index_information()["service_id_1_timestamp_1"]["key"] == [
        ("service_id", 1),
        ("timestamp", 1),
    ]
    db.assets.insert_one({"service_id": "web"})
    db.assets.insert_many(
        [{"hostname": "a"}, {"hostname": "b"}]
    )  # partial: id-less assets are fine
    with pytest.raises(DuplicateKeyError):
        db.assets.insert_one({"service_id": "web"})


def test_loading_leaves_other_ids_alone_and_writes_filter_fields(db: Database) -> None:
    mapping = MongoMapping.model_validate({"services": {"filter": {"kind": "service"}}})
    db.assets.insert_one({"service_id": "someone-else", "kind": "service"})
    db.metrics.insert_one(
        {"service_id": "someone-else", "timestamp": at("2026-01-01"), "status": "up"}
    )
    subset = demo_subset()
    load_frames_into_mongo(db, mapping, subset)
    load_frames_into_mongo(db, mapping, subset)
    assert db.assets.count_documents({"kind": "service"}) == 4
    assert db.metrics.count_documents({}) == len(subset.metrics) + 1
    document = db.metrics.find_one({"service_id": "mysql-erp"}, {"_id": 0})
    assert set(document) == {"service_id", "timestamp", "status"}
    assert isinstance(document["timestamp"], datetime)  # a BSON date, not a string


def test_loading_reports_progress(db: Database) -> None:
    reported: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float) -> None:
        reported.append((stage, fraction))

    load_frames_into_mongo(db, MongoMapping(), demo_subset(), progress)
    assert reported[-1] == ("loading backups", 1.0)
    fractions = [fraction for _, fraction in reported]
    assert fractions == sorted(fractions)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"services": {"filter": {"kind": {"$in": ["service"]}}}},
            "the mapping's filter uses an operator",
        ),
        ({"metrics": {"status": "check.status"}}, "field 'check.status' is a nested path"),
    ],
)
def test_loading_refuses_mappings_it_cannot_write(
    db: Database, mapping: dict, message: str
) -> None:
    with pytest.raises(DataSourceError, match=message):
        load_frames_into_mongo(db, MongoMapping.model_validate(mapping), demo_subset())
    assert db.list_collection_names() == []


# -- what a call leaves out is counted -----------------------------------------------------------


def add_typos(db: Database) -> None:
    db.metrics.insert_many(
        [
            {"service_id": "web", "timestamp": at("2026-01-01T00:20"), "status": "DOWNN"},
            {"service_id": "web", "timestamp": at("2026-01-01T00:20"), "status": "down"},
            {"service_id": "db", "timestamp": at("2026-01-01T00:30"), "status": "DOWNN"},
            {"service_id": "db", "timestamp": at("2026-01-02T00:30"), "status": "maintenance"},
        ]
    )
    db.backups.insert_one(
        {"target_id": "ct", "timestamp": at("2026-01-01T04:00"), "status": "Succes"}
    )


@pytest.mark.parametrize(
    ("policy", "db_rows", "web_at_20"),
    [
        # db 00:30 (only DOWNN) is left out; at web 00:20 only the "down" row counts.
        ("unknown", [("db", utc("2026-01-01T00:00"), 0), ("db", utc("2026-01-01T12:00"), 1)], 1),
        # ... or every DOWNN row is a failure, at its instant.
        (
            "failure",
            [
                ("db", utc("2026-01-01T00:00"), 0),
                ("db", utc("2026-01-01T00:30"), 1),
                ("db", utc("2026-01-01T12:00"), 1),
            ],
            2,
        ),
    ],
)
def test_unknown_status_words_are_counted_by_word_and_treated_by_policy(
    db: Database, policy: str, db_rows: list, web_at_20: int
) -> None:
    seed(db)
    add_typos(db)
    source = default_source(db.client, db.name, policy)
    quality = DataQuality()
    metrics = source.metrics(start=utc("2026-01-01"), end=utc("2026-01-02"), quality=quality)
    assert [row for row in rows(metrics) if row[0] == "db"] == db_rows
    assert (
        dict(zip(metrics["timestamp"], metrics["failures"], strict=True))[utc("2026-01-01T00:20")]
        == web_at_20
    )
    assert quality.unknown_statuses == {"DOWNN": 2}  # maintenance is on the 2nd: outside
    assert quality.unknown_status_rows == 2
    assert any(
        message.startswith(
            "collection 'metrics': 2 rows have statuses in neither availability.failure_statuses"
        )
        for message in quality.warnings
    )
    backups = DataQuality()
    runs = source.backups(target_ids=["ct"], quality=backups)
    assert backups.unknown_statuses == {"Succes": 1}
    assert len(runs) == (2 if policy == "failure" else 1)
    assert not runs["succeeded"].any()


def test_the_error_policy_stops_a_mongodb_read(db: Database) -> None:
    seed(db)
    add_typos(db)
    with pytest.raises(DataValidationError, match=r"'DOWNN' \(2\), 'maintenance' \(1\)"):
        default_source(db.client, db.name, "error").metrics()


@pytest.mark.parametrize(
    "window",
    [{}, {"start": utc("2026-01-01"), "end": utc("2026-01-03")}],
    ids=["without a window", "with a window"],
)
def test_timestamps_that_are_not_dates_are_counted_with_an_example_id(
    seeded: MongoSource, db: Database, window: dict
) -> None:
    """MongoDB compares values of one type only: a range of dates never matches a string, so
    such documents used to vanish from every windowed analysis without a word (mongomock
    brackets types the same way). They are now left out in both cases, and counted."""
    text = db.metrics.insert_one(
        {"service_id": "web", "timestamp": "2026-01-01T00:30:00Z", "status": "down"}
    ).inserted_id
    db.metrics.insert_many(
        [
            {"service_id": "db", "timestamp": 1767225600, "status": "down"},  # epoch seconds
            {"service_id": "db", "status": "down"},  # no timestamp
            {"service_id": "printer-1", "timestamp": "2026-01-01", "status": "down"},  # not read
        ]
    )
    quality = DataQuality()
    metrics = seeded.metrics(**window, quality=quality)
    assert len(metrics) == 6  # the dated documents, as before
    assert (
        quality.dropped_rows["collection 'metrics': documents whose 'timestamp' is not a date"] == 3
    )
    (message,) = [m for m in quality.warnings if "is not a date" in m]
    assert message.startswith(
        "collection 'metrics': 3 documents of the selected ids have a 'timestamp' that is not a "
        "date (text, a number or missing), for example _id "
    )
    assert str(text) in message  # the first such document (mongomock: insertion order)
    extent = seeded.extent()  # dates only: text sorts before every date in MongoDB's order
    assert (extent.metrics_first, extent.metrics_last) == (utc("2026-01-01"), utc("2026-01-02"))


def test_undated_backups_are_counted_too(seeded: MongoSource, db: Database) -> None:
    db.backups.insert_one({"target_id": "vm", "timestamp": "yesterday", "status": "success"})
    quality = DataQuality()
    seeded.backups(start=utc("2026-01-01"), quality=quality)
    assert quality.dropped_rows == {
        "collection 'backups': documents whose 'timestamp' is not a date": 1
    }


def test_undated_pipeline_reads_one_type_bracket_at_a_time() -> None:
    pipeline = undated_pipeline(MongoMapping().metrics, "service_id", ids=["a"])
    assert pipeline[0] == {
        "$match": {
            "$and": [
                {"service_id": {"$in": ["a"]}},
                {
                    "$or": [
                        {"timestamp": {"$type": "string"}},
                        {"timestamp": {"$type": "number"}},
                        {"timestamp": None},
                    ]
                },
            ]
        }
    }
    assert pipeline[1] == {
        "$group": {"_id": None, "rows": {"$sum": 1}, "example": {"$first": "$_id"}}
    }
