"""The MongoDB source against a real server: the same checks as the mongomock tests, plus the
indexes the pipelines rely on.

Runs only when MONGODB_TEST_URI points at a server (for example
``MONGODB_TEST_URI=mongodb://127.0.0.1:27017 pytest -m mongodb``); each test uses a fresh
database that it drops afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo.database import Database

from data_access.mongo_source import (
    MetricsMapping,
    MongoMapping,
    MongoSource,
    connect,
    create_indexes,
    metrics_pipeline,
)
from tests.data_access import status_rules
from tests.data_access.test_mongo_source import (
    at,
    check_backups,
    check_demo_round_trip,
    check_extent_and_ping,
    check_hostile_ids_are_refused,
    check_metrics,
    check_services,
    seed,
)

MONGODB_TEST_URI = os.environ.get("MONGODB_TEST_URI", "")

pytestmark = [
    pytest.mark.mongodb,
    pytest.mark.skipif(
        not MONGODB_TEST_URI, reason="needs a real MongoDB server: set MONGODB_TEST_URI"
    ),
]


@pytest.fixture
def db() -> Iterator[Database]:
    database = connect(MONGODB_TEST_URI, f"metrics_dashboard_test_{uuid.uuid4().hex[:12]}")
    yield database
    database.client.drop_database(database.name)
    database.client.close()


@pytest.fixture
def source(db: Database) -> MongoSource:
    create_indexes(db, MongoMapping())
    return MongoSource(
        MONGODB_TEST_URI,
        db.name,
        mapping=MongoMapping(),
        statuses=status_rules(),
    )


def test_services(db: Database, source: MongoSource) -> None:
    seed(db)
    check_services(source)


def test_metrics(db: Database, source: MongoSource) -> None:
    seed(db)
    check_metrics(source)


def test_backups(db: Database, source: MongoSource) -> None:
    seed(db)
    check_backups(source)


def test_extent_and_ping(db: Database, source: MongoSource) -> None:
    seed(db)
    check_extent_and_ping(source)


def test_hostile_ids_are_refused(db: Database, source: MongoSource) -> None:
    seed(db)
    check_hostile_ids_are_refused(source)


def test_demo_round_trip(db: Database, source: MongoSource, tmp_path: Path) -> None:
    check_demo_round_trip(db, source, tmp_path)


def test_the_metrics_pipeline_starts_with_an_index_scan(db: Database, source: MongoSource) -> None:
    seed(db)
    pipeline = metrics_pipeline(
        MetricsMapping(),
        service_ids=["web", "db"],
        start=at("2026-01-01"),
        end=at("2026-01-02"),
        words=status_rules().checks,
    )
    explained = db.command(
        "explain",
        {"aggregate": "metrics", "pipeline": pipeline, "cursor": {}},
        verbosity="queryPlanner",
    )
    assert "IXSCAN" in str(explained)
    assert "service_id_1_timestamp_1" in str(explained)
