"""open_source: the one place where DATA_SOURCE becomes a data source."""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path

import pytest

import data_access.sources as sources
from data_access.base import DataSourceError
from data_access.files_source import FilesSource
from data_access.mongo_source import MongoSource
from data_access.sources import ACCEPTED_FORMS, open_source
from tests.data_access import RULES, status_rules

DAY = date(2026, 3, 10)
TABLE_FILES = ["backup_targets", "backups", "metrics", "services"]


def open_spec(spec: str, cache_dir: Path, **overrides: object) -> object:
    arguments: dict[str, object] = {
        "cache_dir": cache_dir,
        "mongodb_database": "pmi_infrastructure",
        "statuses": RULES,
        "today": DAY,
    }
    return open_source(spec, **{**arguments, **overrides})  # type: ignore[arg-type]


def test_demo_is_generated_once_as_parquet_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float) -> None:
        reported.append((stage, fraction))

    source = open_spec("demo", tmp_path, progress=progress)
    assert isinstance(source, FilesSource)
    assert source.directory == tmp_path / "demo-20260310"
    assert sorted(p.name for p in source.directory.iterdir()) == [
        f"{t}.parquet" for t in TABLE_FILES
    ]
    assert source.description == "demo data (demo-20260310)"
    assert len(source.services()) >= 40
    assert reported and reported[-1][1] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["demo-20260310"]  # no staging left

    assert open_spec(" demo ", tmp_path) is source  # the process cache

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the demo data set must not be generated again")

    monkeypatch.setattr(sources, "generate_demo_frames", no_generation)
    monkeypatch.setattr(sources, "_cache", type(sources._cache)())  # a fresh process, same disk
    reopened = open_spec("demo", tmp_path)
    assert reopened is not source and reopened.directory == source.directory


def test_concurrent_first_use_publishes_one_complete_directory(tmp_path: Path) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        try:
            results.append(sources._demo_directory(tmp_path, DAY, None))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=first_use) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [tmp_path / "demo-20260310"] * 3
    assert [p.name for p in tmp_path.iterdir()] == ["demo-20260310"]
    assert sorted(p.name for p in results[0].iterdir()) == [f"{t}.parquet" for t in TABLE_FILES]


def test_old_demo_days_are_removed_but_yesterday_is_kept(tmp_path: Path) -> None:
    for name in ("demo-20260301", "demo-20260308", "demo-20260309", "demo-notes"):
        (tmp_path / name).mkdir()
    open_spec("demo", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "demo-20260309",
        "demo-20260310",
        "demo-notes",
    ]


def test_a_directory_is_a_files_source_cached_until_a_file_changes(tmp_path: Path) -> None:
    directory = tmp_path / "exports"
    directory.mkdir()
    (directory / "services.csv").write_text(
        "service_id,display_name,service_type\na,A,web_service\n"
    )
    source = open_spec(str(directory), tmp_path / "cache")
    assert isinstance(source, FilesSource)
    assert source.description == f"files in {directory}"
    assert open_spec(str(directory), tmp_path / "cache") is source
    assert (
        open_spec(str(directory), tmp_path / "cache", statuses=status_rules("error")) is not source
    )

    (directory / "services.csv").write_text("service_id,display_name,service_type\nb,B,database\n")
    os.utime(directory / "services.csv", ns=(1, 1))  # a different modification time, surely
    changed = open_spec(str(directory), tmp_path / "cache")
    assert changed is not source
    assert changed.services()["service_id"].tolist() == ["b"]


@pytest.mark.parametrize(
    ("uri", "description"),
    [
        (
            "mongodb://reader:pw@db1:27017,db2:27017/?replicaSet=rs0",
            "MongoDB mongodb://db1:27017,db2:27017/pmi_infrastructure",
        ),
        ("mongodb://localhost", "MongoDB mongodb://localhost/pmi_infrastructure"),
    ],
)
def test_a_mongodb_uri_is_a_mongo_source(tmp_path: Path, uri: str, description: str) -> None:
    source = open_spec(uri, tmp_path)  # nothing is contacted until the first query
    assert isinstance(source, MongoSource)
    assert source.description == description
    assert open_spec(uri, tmp_path) is source


def test_a_mapping_file_is_read_for_mongodb(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"services": {"collection": "inventory"}}')
    source = open_spec("mongodb://localhost", tmp_path, mapping_path=mapping)
    assert isinstance(source, MongoSource)
    assert source.mapping.services.collection == "inventory"
    mapping.write_text("{")
    os.utime(mapping, ns=(1, 1))
    with pytest.raises(DataSourceError, match=r"mapping\.json: not valid JSON"):
        open_spec("mongodb://localhost", tmp_path, mapping_path=mapping)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("/no/such/directory", "is not an existing directory"),
        ("postgres://db/metrics", "is not an existing directory"),
        ("Demo", "is not an existing directory"),
    ],
)
def test_anything_else_is_a_clear_error_listing_the_accepted_forms(
    tmp_path: Path, spec: str, problem: str
) -> None:
    with pytest.raises(DataSourceError) as raised:
        open_spec(spec, tmp_path)
    assert str(raised.value) == f"data source {spec!r} {problem}; use {ACCEPTED_FORMS}"


def test_a_file_is_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("x")
    with pytest.raises(DataSourceError, match="is not an existing directory"):
        open_spec(str(tmp_path / "metrics.csv"), tmp_path)


def test_the_cache_keeps_only_a_few_sources(tmp_path: Path) -> None:
    opened = []
    for index in range(sources.CACHE_SIZE + 1):
        directory = tmp_path / f"d{index}"
        directory.mkdir()
        opened.append(open_spec(str(directory), tmp_path / "cache"))
    assert open_spec(str(tmp_path / "d0"), tmp_path / "cache") is not opened[0]
    assert open_spec(str(tmp_path / f"d{sources.CACHE_SIZE}"), tmp_path / "cache") is opened[-1]
