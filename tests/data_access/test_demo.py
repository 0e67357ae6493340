"""The demo data set: determinism, shape, and every promised pattern visible in the data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import data_access.demo as demo
from analytics.report.quality import DataQuality, empty_data_quality
from data_access.demo import generate_demo_frames, write_demo_files
from data_access.files_source import FilesSource
from data_access.frames import RawTables
from data_access.statuses import classify_statuses, status_set
from tests.data_access import RULES

END_DAY = date(2026, 3, 10)
# Mid-afternoon of END_DAY: the day before is the last full day.
NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
FAILURES = status_set(["down", "error", "failed", "critical", "timeout"], name="failures")
SUCCESSES = status_set(["success", "completed", "ok", "warning"], name="successes")
SERVICE_TYPES = {
    "web_service",
    "database",
    "application",
    "backup",
    "monitoring",
    "mail",
    "ci_cd",
    "file_sharing",
}
TARGET_TYPES = {"vm", "container", "physical_server", "proxmox_node", "acronis_job"}
LAST_FULL_DAY = pd.Timestamp("2026-03-09", tz="UTC")
END = pd.Timestamp("2026-03-11", tz="UTC")


@pytest.fixture(scope="module")
def frames() -> RawTables:
    return generate_demo_frames(END_DAY, now=NOW)


@pytest.fixture(scope="module")
def checks(frames: RawTables) -> pd.DataFrame:
    """The metrics with a ``failed`` column, as the default failure set classifies them."""
    metrics = frames.metrics.copy()
    metrics["failed"] = classify_statuses(metrics["status"], FAILURES).in_set
    return metrics


def service_checks(checks: pd.DataFrame, service_id: str) -> pd.DataFrame:
    return checks[checks["service_id"] == service_id]


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of consecutive True values."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0


def assert_identical(left: pd.DataFrame, right: pd.DataFrame) -> None:
    # DataFrame.equals: same values and dtypes, and fast (assert_frame_equal takes seconds on
    # a million categorical rows).
    assert left.dtypes.to_dict() == right.dtypes.to_dict()
    assert left.equals(right)


def test_same_seed_and_day_give_identical_frames(frames: RawTables) -> None:
    again = generate_demo_frames(END_DAY, now=NOW)
    for name in ("services", "metrics", "backup_targets", "backups"):
        assert_identical(getattr(frames, name), getattr(again, name))


def test_another_seed_gives_other_data(frames: RawTables) -> None:
    other = generate_demo_frames(END_DAY, seed=1, now=NOW)
    assert not frames.metrics["timestamp"].equals(other.metrics["timestamp"])
    pd.testing.assert_frame_equal(frames.services, other.services)


def test_nothing_lies_in_the_future_and_an_earlier_now_only_cuts(frames: RawTables) -> None:
    assert frames.metrics["timestamp"].max() <= NOW
    assert frames.backups["timestamp"].max() <= NOW
    earlier_now = datetime(2026, 3, 8, 12, tzinfo=UTC)
    earlier = generate_demo_frames(END_DAY, now=earlier_now)
    kept = frames.metrics[frames.metrics["timestamp"] <= earlier_now].reset_index(drop=True)
    assert_identical(earlier.metrics, kept)
    assert len(kept) < len(frames.metrics)


def test_a_past_day_ends_at_the_end_of_that_day() -> None:
    frames = generate_demo_frames(date(2026, 1, 31), now=NOW)
    last = frames.metrics["timestamp"].max()
    assert pd.Timestamp("2026-01-31T23:54", tz="UTC") <= last < pd.Timestamp("2026-02-01", tz="UTC")
    assert frames.metrics["timestamp"].min() >= pd.Timestamp("2026-01-02", tz="UTC")


def test_services_and_targets_cover_every_type(frames: RawTables) -> None:
    services, targets = frames.services, frames.backup_targets
    assert len(services) >= 40 and services["service_id"].is_unique
    assert set(services["service_type"]) >= SERVICE_TYPES
    unknown = set(services["service_type"]) - SERVICE_TYPES
    assert unknown == {"message_queue"}
    assert (
        services.set_index("service_id").loc[demo.UNKNOWN_TYPE_SERVICE, "service_type"] in unknown
    )
    assert len(targets) >= 30 and targets["target_id"].is_unique
    assert set(targets["target_type"]) == TARGET_TYPES
    assert services["service_id"].is_monotonic_increasing


def test_thirty_days_of_checks_at_one_to_five_minutes(checks: pd.DataFrame) -> None:
    assert checks["timestamp"].min() < END - pd.Timedelta(days=29, hours=23)
    steps = checks.groupby("service_id", observed=True)["timestamp"].agg(
        lambda stamps: stamps.diff().median()
    )
    assert len(steps) == 42
    assert steps.between(pd.Timedelta(minutes=1), pd.Timedelta(minutes=5)).all()
    assert steps.nunique() >= 3  # intervals differ between services


def test_healthy_services_exist(checks: pd.DataFrame) -> None:
    last_day = checks[
        (checks["timestamp"] >= LAST_FULL_DAY)
        & (checks["timestamp"] < LAST_FULL_DAY + pd.Timedelta(days=1))
    ]
    failures = last_day.groupby("service_id", observed=True)["failed"].sum()
    assert (failures == 0).sum() >= 10


def test_incident_bursts(checks: pd.DataFrame) -> None:
    for service_id in demo.BURST_SERVICES:
        assert longest_run(service_checks(checks, service_id)["failed"].to_numpy()) >= 4, service_id


def test_a_flapping_service(checks: pd.DataFrame) -> None:
    failed = service_checks(checks, demo.FLAPPING_SERVICE)["failed"].to_numpy()
    changes = failed[1:] != failed[:-1]
    assert longest_run(changes) >= 10  # up, down, up, down... for ten checks in a row
    flapping = service_checks(checks, demo.FLAPPING_SERVICE)
    on_last_full_day = flapping["timestamp"].between(
        LAST_FULL_DAY, LAST_FULL_DAY + pd.Timedelta(days=1), inclusive="left"
    )
    yesterday = flapping.loc[on_last_full_day, "failed"].to_numpy()
    assert (yesterday[1:] != yesterday[:-1]).sum() >= 10


def test_a_service_down_for_hours_on_the_last_full_day(checks: pd.DataFrame) -> None:
    outage = service_checks(checks, demo.OUTAGE_SERVICE)
    padded = np.concatenate([[0], outage["failed"].to_numpy().astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    starts, stops = edges[::2], edges[1::2] - 1
    longest = int(np.argmax(stops - starts))
    stamps = outage["timestamp"]
    first, last = stamps.iloc[starts[longest]], stamps.iloc[stops[longest]]
    assert last - first >= pd.Timedelta(hours=demo.OUTAGE_HOURS) - pd.Timedelta(minutes=5)
    assert first.normalize() == LAST_FULL_DAY


def test_maintenance_gaps_without_data(checks: pd.DataFrame) -> None:
    for service_id in demo.MAINTENANCE_SERVICES:
        gaps = service_checks(checks, service_id)["timestamp"].diff()
        assert (gaps >= pd.Timedelta(hours=demo.MAINTENANCE_HOURS)).sum() >= 4, service_id
    # ordinary services have no such gap
    assert service_checks(checks, "grafana")["timestamp"].diff().max() <= pd.Timedelta(minutes=5)


def test_a_service_with_no_data_in_its_last_days(checks: pd.DataFrame) -> None:
    silent = service_checks(checks, demo.SILENT_SERVICE)
    assert len(silent) > 1000
    assert silent["timestamp"].max() < LAST_FULL_DAY


def test_odd_spellings_of_statuses(frames: RawTables, checks: pd.DataFrame) -> None:
    metric_words = set(frames.metrics["status"].unique())
    assert metric_words >= {" DOWN", "Ok", "UP"}
    assert checks.loc[checks["status"] == " DOWN", "failed"].all()
    assert set(s.strip().lower() for s in metric_words) == set(demo.METRIC_STATUSES)
    backup_words = set(frames.backups["status"].unique())
    assert {"SUCCESS", " Completed"} & backup_words
    assert set(s.strip().lower() for s in backup_words) <= set(demo.BACKUP_STATUSES)


def test_backup_schedules_and_occasional_failures(frames: RawTables) -> None:
    backups = frames.backups.copy()
    backups["succeeded"] = classify_statuses(backups["status"], SUCCESSES).in_set
    gaps = backups.groupby("target_id", observed=True)["timestamp"].agg(lambda s: s.diff().median())
    gap_hours = (gaps / pd.Timedelta(hours=1)).round()
    assert set(gap_hours) >= {12, 24, 168}
    failure_rate = 1 - backups["succeeded"].mean()
    assert 0.01 < failure_rate < 0.15
    assert backups.groupby("target_id", observed=True)["succeeded"].all().sum() < len(gaps)


def test_stopped_failing_and_never_backed_up_targets(frames: RawTables) -> None:
    backups = frames.backups
    stopped = backups[backups["target_id"] == demo.STOPPED_TARGET]
    assert len(stopped) >= 20
    assert stopped["timestamp"].max() < END - pd.Timedelta(days=demo.STOPPED_DAYS_AGO)
    assert not (backups["target_id"] == demo.NEVER_BACKED_UP_TARGET).any()
    assert demo.NEVER_BACKED_UP_TARGET in set(frames.backup_targets["target_id"])
    failing = backups[backups["target_id"] == demo.FAILING_TARGET]
    recent = failing[failing["timestamp"] >= END - pd.Timedelta(hours=demo.FAILING_HOURS)]
    assert len(recent) >= 2
    assert not classify_statuses(recent["status"], SUCCESSES).in_set.any()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_files_read_back_through_the_files_source(
    tmp_path: Path, frames: RawTables, fmt: str
) -> None:
    small = shrink(frames)
    reported: list[tuple[str, float]] = []

    def progress(stage: str, fraction: float) -> None:
        reported.append((stage, fraction))

    directory = write_demo_files(tmp_path / "out", small, fmt=fmt, progress=progress)  # type: ignore[arg-type]
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        f"{name}.{fmt}" for name in ("services", "metrics", "backup_targets", "backups")
    )
    assert reported[-1] == (f"writing backups.{fmt}", 1.0)
    source = FilesSource(directory, statuses=RULES)
    pd.testing.assert_frame_equal(source.services(), small.services.astype(str))
    metrics = source.metrics()
    assert metrics["timestamp"].tolist() == small.metrics["timestamp"].tolist()
    assert (
        metrics["failures"].tolist()
        == classify_statuses(small.metrics["status"], FAILURES).in_set.astype(int).tolist()
    )
    quality = DataQuality()
    assert len(source.backups(quality=quality)) == len(small.backups)
    source.metrics(quality=quality)
    assert quality.section() == empty_data_quality()  # every demo word is a known one


def shrink(frames: RawTables) -> RawTables:
    """Two days of the demo, to keep file tests fast."""
    metrics = frames.metrics[frames.metrics["timestamp"] >= LAST_FULL_DAY].reset_index(drop=True)
    return RawTables(frames.services, metrics, frames.backup_targets, frames.backups)


def test_writing_into_an_existing_directory_replaces_files_and_the_other_format(
    tmp_path: Path, frames: RawTables
) -> None:
    small = shrink(frames)
    directory = tmp_path / "out"
    write_demo_files(directory, small, fmt="csv")
    (directory / "notes.txt").write_text("mine")
    write_demo_files(directory, small, fmt="parquet")
    assert sorted(p.name for p in directory.iterdir()) == [
        "backup_targets.parquet",
        "backups.parquet",
        "metrics.parquet",
        "notes.txt",
        "services.parquet",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging directory left


def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path, frames: RawTables, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def failing_write(*args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise OSError("disk full")

    monkeypatch.setattr(demo.pq, "write_table", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_demo_files(tmp_path / "out", shrink(frames), fmt="parquet")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("target", "fmt", "error", "message"),
    [
        ("file.txt", "csv", NotADirectoryError, "is a file"),
        ("out", "xlsx", ValueError, "must be 'csv' or 'parquet'"),
    ],
)
def test_write_errors(
    tmp_path: Path, frames: RawTables, target: str, fmt: str, error: type[Exception], message: str
) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(error, match=message):
        write_demo_files(tmp_path / target, frames, fmt=fmt)  # type: ignore[arg-type]
