"""The files source: parsing rules, errors with file and line, selection, and status sets."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.report.quality import DataQuality
from data_access.base import DataSource, DataSourceUnavailable, DataValidationError
from data_access.files_source import FilesSource
from data_access.statuses import classify_statuses, normalise_status, status_set
from tests.data_access import FAILURES, RULES, status_rules

SERVICES = """service_id,display_name,service_type
web,Web frontend,web_service
db,Main database,database
idle,,mystery
"""
METRICS = """service_id,timestamp,status
web,2026-01-01T00:00:00Z,up
web,2026-01-01T00:05:00Z, DOWN
web,2026-01-01T01:10:00+01:00,Timeout
web,2026-01-01T00:15:00,ok
db,2026-01-01T00:00:00Z,up
db,2026-01-01T12:00:00.5Z,error
db,2026-01-02T00:00:00Z,down
"""
TARGETS = """target_id,display_name,target_type
vm,App VM,vm
ct,Worker container,container
never,Never backed up,physical_server
"""
BACKUPS = """target_id,timestamp,status
vm,2025-12-30T20:00:00Z,success
vm,2025-12-31T20:00:00Z,failed
vm,2026-01-01T06:00:00Z,failed
vm,2026-01-01T12:00:00Z,Completed
vm,2026-01-02T00:00:00Z,WARNING
ct,2026-01-01T03:00:00Z,error
"""
VALID = {
    "services.csv": SERVICES,
    "metrics.csv": METRICS,
    "backup_targets.csv": TARGETS,
    "backups.csv": BACKUPS,
}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def make_source(directory: Path, files: dict[str, str | bytes | None] | None = None) -> FilesSource:
    """A files source over VALID with some files replaced (``None`` removes the file)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in {**VALID, **(files or {})}.items():
        if content is None:
            continue
        if isinstance(content, bytes):
            (directory / name).write_bytes(content)
        else:
            (directory / name).write_text(content, encoding="utf-8")
    return FilesSource(directory, statuses=RULES)


@pytest.fixture
def source(tmp_path: Path) -> FilesSource:
    return make_source(tmp_path / "data")


def test_implements_the_data_source_protocol(source: FilesSource) -> None:
    assert isinstance(source, DataSource)


def test_services_sorted_by_id_with_display_name_defaulting_to_id(source: FilesSource) -> None:
    services = source.services()
    assert list(services.columns) == ["service_id", "display_name", "service_type"]
    assert services["service_id"].tolist() == ["db", "idle", "web"]
    assert services.set_index("service_id").loc["idle", "display_name"] == "idle"
    assert source.backup_targets()["target_id"].tolist() == ["ct", "never", "vm"]


def test_metrics_canonical_frame(source: FilesSource) -> None:
    metrics = source.metrics()
    assert list(metrics.columns) == ["service_id", "timestamp", "failures"]
    assert metrics["service_id"].cat.categories.tolist() == ["db", "idle", "web"]
    assert str(metrics["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert metrics["failures"].dtype == np.int32
    expected = [
        ("db", "2026-01-01T00:00:00", 0),
        ("db", "2026-01-01T12:00:00.5", 1),
        ("db", "2026-01-02T00:00:00", 1),
        ("web", "2026-01-01T00:00:00", 0),
        ("web", "2026-01-01T00:05:00", 1),  # " DOWN": case and spaces ignored
        ("web", "2026-01-01T00:10:00", 1),  # 01:10+01:00 is 00:10 UTC, "Timeout"
        ("web", "2026-01-01T00:15:00", 0),  # naive means UTC
    ]
    actual = [
        (row.service_id, row.timestamp, row.failures) for row in metrics.itertuples(index=False)
    ]
    assert actual == [(s, utc(t), f) for s, t, f in expected]


@pytest.mark.parametrize(
    ("start", "end", "ids", "expected"),
    [
        # half-open: a row at start counts, a row at end does not
        (
            "2026-01-01T00:05:00Z",
            "2026-01-01T00:15:00Z",
            None,
            [("web", "2026-01-01T00:05"), ("web", "2026-01-01T00:10")],
        ),
        (
            "2026-01-01T12:00:00.5Z",
            None,
            ["db"],
            [("db", "2026-01-01T12:00:00.5"), ("db", "2026-01-02")],
        ),
        (
            None,
            "2026-01-01T00:00:00.000000001Z",
            None,
            [("db", "2026-01-01"), ("web", "2026-01-01")],
        ),
        (None, None, ["idle", "nope"], []),
        ("2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z", None, []),  # start after end
        # naive bounds mean UTC; a repeated id counts once
        ("2026-01-01T00:00:00", "2026-01-01T00:00:01", ["web", "web"], [("web", "2026-01-01")]),
        ("2026-01-01T01:05:00+01:00", "2026-01-01T00:06:00Z", None, [("web", "2026-01-01T00:05")]),
    ],
)
def test_metrics_window_and_id_selection(
    source: FilesSource,
    start: str | None,
    end: str | None,
    ids: list[str] | None,
    expected: list[tuple[str, str]],
) -> None:
    metrics = source.metrics(
        start=None if start is None else pd.Timestamp(start),
        end=None if end is None else pd.Timestamp(end),
        service_ids=ids,
    )
    actual = list(zip(metrics["service_id"], metrics["timestamp"], strict=True))
    assert actual == [(service, utc(stamp)) for service, stamp in expected]
    assert metrics["service_id"].cat.categories.tolist() == ["db", "idle", "web"]


def test_backups_closed_window_plus_latest_success_before_start(source: FilesSource) -> None:
    backups = source.backups(start=utc("2026-01-01T06:00"), end=utc("2026-01-01T12:00"))
    rows = [(r.target_id, r.timestamp, r.succeeded) for r in backups.itertuples(index=False)]
    # ct's only run (03:00) is a failure before start: nothing to look back at.
    assert rows == [
        ("vm", utc("2025-12-30T20:00"), True),  # latest success before start, past a failure
        ("vm", utc("2026-01-01T06:00"), False),  # at start: in
        ("vm", utc("2026-01-01T12:00"), True),  # at end: in (closed window); "Completed"
    ]
    assert backups["target_id"].cat.categories.tolist() == ["ct", "never", "vm"]
    assert backups["succeeded"].dtype == bool


def test_backups_without_start_return_everything_up_to_end(source: FilesSource) -> None:
    backups = source.backups(end=utc("2026-01-01T03:00"), target_ids=["vm", "ct"])
    assert list(zip(backups["target_id"], backups["timestamp"], strict=True)) == [
        ("ct", utc("2026-01-01T03:00")),
        ("vm", utc("2025-12-30T20:00")),
        ("vm", utc("2025-12-31T20:00")),
    ]
    # "WARNING" is in the success set
    assert source.backups()["succeeded"].tolist() == [False, True, False, False, True, True]


def test_extent_and_ping(source: FilesSource, tmp_path: Path) -> None:
    extent = source.extent()
    assert (extent.metrics_first, extent.metrics_last) == (utc("2026-01-01"), utc("2026-01-02"))
    assert (extent.backups_first, extent.backups_last) == (
        utc("2025-12-30T20:00"),
        utc("2026-01-02"),
    )
    source.ping()
    gone = FilesSource(tmp_path / "missing", statuses=RULES)
    with pytest.raises(DataSourceUnavailable, match="does not exist"):
        gone.ping()
    with pytest.raises(DataSourceUnavailable, match="does not exist"):
        gone.services()


def test_empty_tables_give_empty_frames_and_no_extent(tmp_path: Path) -> None:
    source = make_source(
        tmp_path / "d",
        {
            "metrics.csv": "service_id,timestamp,status\n",
            "backups.csv": "target_id,timestamp,status\n",
        },
    )
    assert source.metrics().empty and source.backups(start=utc("2026-01-01")).empty
    assert source.extent().metrics_first is None and source.extent().backups_last is None


def test_returned_frames_are_copies(source: FilesSource) -> None:
    first = source.metrics()
    first.loc[:, "failures"] = 99
    services = source.services()
    services.loc[0, "service_id"] = "changed"
    assert source.metrics()["failures"].max() == 1
    assert source.services()["service_id"].iloc[0] == "db"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"metrics.csv": None}, r"missing metrics\.csv \(or metrics\.parquet\)"),
        (
            {"services.csv": "service_id,name,service_type\nweb,W,x\n"},
            r"services\.csv: missing column 'display_name'",
        ),
        (
            {"metrics.csv": "Service_ID,timestamp,status\n"},
            r"metrics\.csv: missing column 'service_id'",
        ),
        ({"metrics.csv": ""}, r"metrics\.csv: the file is empty"),
        (
            {"metrics.csv": METRICS + "web,2026-01-02T00:00:00Z\n"},
            r"metrics\.csv line 9: 2 comma-separated fields",
        ),
        (
            {"metrics.csv": METRICS + "web,yesterday,up\n"},
            r"metrics\.csv line 9: timestamp 'yesterday' is not ISO-8601",
        ),
        (
            {"metrics.csv": METRICS + "web,2026-02-30T00:00:00Z,up\n"},
            r"line 9: timestamp '2026-02-30T00:00:00Z'",
        ),
        ({"metrics.csv": METRICS + "web,,up\n"}, r"metrics\.csv line 9: empty timestamp"),
        (
            {"metrics.csv": METRICS + "web,2026-01-02T00:00:00Z,\n"},
            r"metrics\.csv line 9: empty status",
        ),
        (
            {"metrics.csv": METRICS + "web,2026-01-02T00:00:00Z,  \n"},
            r"metrics\.csv line 9: empty status",
        ),
        (
            {"metrics.csv": METRICS + ",2026-01-02T00:00:00Z,up\n"},
            r"metrics\.csv line 9: empty service_id",
        ),
        (
            {"backups.csv": BACKUPS + "vm,2026-01-02T00:00:00Z,\n"},
            r"backups\.csv line 8: empty status",
        ),
        # a blank line is skipped, and later line numbers still count it
        ({"metrics.csv": METRICS + "\nweb,soon,up\n"}, r"metrics\.csv line 10: timestamp 'soon'"),
        (
            {"services.csv": SERVICES + "web,Again,web_service\n"},
            r"services\.csv: service_id 'web' appears on line 2 and on line 5",
        ),
        (
            {"backup_targets.csv": TARGETS + " ,x,vm\n"},
            r"backup_targets\.csv line 5: empty target_id",
        ),
        (
            {
                "metrics.csv": "service_id,timestamp,status\nweb,2026-01-01T00:00:00Z,\xe9t\xe9\n".encode(
                    "latin-1"
                )
            },
            r"metrics\.csv: not UTF-8 text",
        ),
        (
            # past the header's first read buffer, the CSV parser finds it
            {
                "metrics.csv": (
                    METRICS
                    + "web,2026-01-01T00:00:00Z,up\n" * 500
                    + "web,2026-01-01T00:00:00Z,\xe9\n"
                ).encode("latin-1")
            },
            r"metrics\.csv: cannot read it as UTF-8 comma-separated text",
        ),
        ({"services.csv": b"\xff\xfes\x00e\x00r\x00"}, r"services\.csv: not UTF-8"),
        (
            {"metrics.csv": "service_id,timestamp,status,status\nweb,2026-01-01T00:00:00Z,up,up\n"},
            r"column 'status' appears more than once",
        ),
    ],
)
def test_parsing_errors_name_file_and_line(
    tmp_path: Path, files: dict[str, str | bytes | None], message: str
) -> None:
    source = make_source(tmp_path / "d", files)
    with pytest.raises(DataValidationError, match=message):
        source.metrics()
        source.backups()


def test_extra_columns_and_a_byte_order_mark_are_fine(tmp_path: Path) -> None:
    source = make_source(
        tmp_path / "d",
        {
            "metrics.csv": "\ufeffnote,service_id,timestamp,status\n"
            'x,web,2026-01-01T00:00:00Z,up\n"a, b",web,2026-01-01T00:01:00Z,down\n'
        },
    )
    assert source.metrics()["failures"].tolist() == [0, 1]


def test_unknown_ids_are_dropped_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ghosts = "".join(f"ghost{i},2026-01-01T00:00:00Z,down\n" for i in range(7))
    source = make_source(tmp_path / "d", {"metrics.csv": METRICS + ghosts + ghosts})
    first_run, second_run = DataQuality(), DataQuality()
    with caplog.at_level(logging.WARNING):
        metrics = source.metrics(quality=first_run)
    assert len(metrics) == 7
    expected = (
        "metrics.csv: 14 rows name services not in services.csv (ignored): "
        "ghost0, ghost1, ghost2, ghost3, ghost4..."
    )
    assert first_run.warnings == [expected]
    assert first_run.dropped_rows == {"metrics.csv: rows naming services not in services.csv": 14}
    assert caplog.text.count(expected) == 1
    source.metrics(quality=second_run)  # parsed once and logged once, but every run is told
    assert second_run.section() == first_run.section()
    assert caplog.text.count(expected) == 1


def test_unknown_backup_target_warning(tmp_path: Path) -> None:
    source = make_source(
        tmp_path / "d", {"backups.csv": BACKUPS + "old-vm,2026-01-01T00:00:00Z,success\n"}
    )
    quality = DataQuality()
    assert len(source.backups(quality=quality)) == 6
    assert quality.warnings == [
        "backups.csv: 1 row names backup targets not in backup_targets.csv (ignored): old-vm"
    ]


def test_unsorted_input_is_sorted(tmp_path: Path) -> None:
    lines = METRICS.splitlines()
    shuffled = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    shuffled_source = make_source(tmp_path / "a", {"metrics.csv": shuffled})
    assert_frames_equal(shuffled_source.metrics(), make_source(tmp_path / "b").metrics())


def assert_frames_equal(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True))


def write_parquet(path: Path, columns: dict[str, pa.Array]) -> None:
    pq.write_table(pa.table(columns), path)


def test_parquet_with_timestamp_and_string_columns(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    csv_source = make_source(directory)
    expected_metrics, expected_backups = csv_source.metrics(), csv_source.backups()
    parquet_source = make_source(tmp_path / "p", {"metrics.csv": None, "backups.csv": None})
    metrics = pd.read_csv(directory / "metrics.csv", dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(metrics["timestamp"], utc=True, format="ISO8601")
    write_parquet(
        tmp_path / "p" / "metrics.parquet",
        {
            "service_id": pa.array(metrics["service_id"]).dictionary_encode(),
            # naive milliseconds: read as UTC
            "timestamp": pa.array(stamps.dt.tz_localize(None).astype("datetime64[ms]")),
            "status": pa.array(metrics["status"]),
        },
    )
    backups = pd.read_csv(directory / "backups.csv", dtype=str, keep_default_na=False)
    write_parquet(
        tmp_path / "p" / "backups.parquet", {name: pa.array(backups[name]) for name in backups}
    )
    assert_frames_equal(parquet_source.metrics(), expected_metrics)
    assert_frames_equal(parquet_source.backups(), expected_backups)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"service_id": ["web"], "timestamp": pa.array([None], pa.string()), "status": ["up"]},
            r"metrics\.parquet row 1: empty timestamp",
        ),
        (
            {
                "service_id": ["web", "web"],
                "timestamp": pa.array([0, None], pa.timestamp("s")),
                "status": ["up", "up"],
            },
            r"metrics\.parquet row 2: empty timestamp",
        ),
        (
            {"service_id": ["web"], "timestamp": ["01/02/2026"], "status": ["up"]},
            r"metrics\.parquet row 1: timestamp '01/02/2026' is not ISO-8601",
        ),
        (
            {
                "service_id": ["web"],
                "timestamp": pa.array([2**62], pa.timestamp("ms")),
                "status": ["up"],
            },
            r"metrics\.parquet: a timestamp lies outside the years 1677-2262",
        ),
        (
            {
                "service_id": ["web", "web"],
                "timestamp": ["2026-01-01", "2026-01-01"],
                "status": ["up", None],
            },
            r"metrics\.parquet row 2: empty status",
        ),
        (
            {"service_id": ["web"], "timestamp": [1], "status": ["up"]},
            r"column 'timestamp' has type int64; expected timestamps or ISO-8601 strings",
        ),
        (
            {"service_id": [1], "timestamp": ["2026-01-01"], "status": ["up"]},
            r"column 'service_id' has type int64; expected strings",
        ),
        (
            {"service_id": ["web"], "status": ["up"]},
            r"metrics\.parquet: missing column 'timestamp'",
        ),
    ],
)
def test_parquet_errors_name_file_and_row(
    tmp_path: Path, columns: dict[str, list], message: str
) -> None:
    source = make_source(tmp_path / "d", {"metrics.csv": None})
    write_parquet(
        tmp_path / "d" / "metrics.parquet",
        {
            name: values if isinstance(values, pa.Array) else pa.array(values)
            for name, values in columns.items()
        },
    )
    with pytest.raises(DataValidationError, match=message):
        source.metrics()


def test_a_corrupt_parquet_file_is_a_clear_error(tmp_path: Path) -> None:
    source = make_source(tmp_path / "d", {"metrics.csv": None})
    (tmp_path / "d" / "metrics.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataValidationError, match=r"metrics\.parquet: not a readable Parquet file"):
        source.metrics()


def test_parquet_wins_over_csv_with_a_warning(tmp_path: Path) -> None:
    source = make_source(tmp_path / "d")
    write_parquet(
        tmp_path / "d" / "services.parquet",
        {
            "service_id": pa.array(["web"]),
            "display_name": pa.array(["W"]),
            "service_type": pa.array(["x"]),
        },
    )
    quality = DataQuality()
    assert source.services(quality=quality)["service_id"].tolist() == ["web"]
    assert quality.warnings == [
        "both services.csv and services.parquet exist: reading services.parquet, ignoring services.csv"
    ]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([{"$ne": None}], "must be plain strings, got dict"),
        (["$where"], "starts with '\\$'"),
        ("web", "must be a list of strings, got str"),
        ([None], "must be plain strings, got NoneType"),
        ({"$gt": ""}, "must be a list of strings, got dict"),
        (42, "must be a list of strings, got int"),
    ],
)
def test_ids_must_be_plain_strings(source: FilesSource, ids: object, message: str) -> None:
    with pytest.raises(DataValidationError, match=message):
        source.metrics(service_ids=ids)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match=message):
        source.backups(target_ids=ids)  # type: ignore[arg-type]


@pytest.mark.parametrize("ids", [("web",), pd.Index(["web"]), np.array(["web"]), {"web"}])
def test_any_collection_of_strings_selects(source: FilesSource, ids: object) -> None:
    assert set(source.metrics(service_ids=ids)["service_id"]) == {"web"}  # type: ignore[arg-type]


# -- property: selection equals a plain pandas reference --------------------------------------

SERVICE_IDS = ["a", "b", "c", "d"]
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from([*SERVICE_IDS, "zz"]),
        st.integers(0, 50),
        st.sampled_from(["up", "DOWN", " timeout", "ok ", "Error", "DOWNN"]),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=rows_strategy,
    start=st.none() | st.integers(-5, 55),
    end=st.none() | st.integers(-5, 55),
    selection=st.none() | st.lists(st.sampled_from([*SERVICE_IDS, "zz"]), max_size=4),
)
def test_metrics_selection_matches_a_pandas_reference(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, int, str]],
    start: int | None,
    end: int | None,
    selection: list[str] | None,
) -> None:
    directory = tmp_path_factory.mktemp("prop")
    base = utc("2026-01-01")
    text = "service_id,timestamp,status\n" + "".join(
        f"{sid},{(base + pd.Timedelta(minutes=m)).isoformat()},{status}\n"
        for sid, m, status in rows
    )
    services = "service_id,display_name,service_type\n" + "".join(
        f"{s},{s},t\n" for s in SERVICE_IDS
    )
    source = make_source(directory, {"metrics.csv": text, "services.csv": services})

    def at(minute: int | None) -> pd.Timestamp | None:
        return None if minute is None else base + pd.Timedelta(minutes=minute)

    quality = DataQuality()
    actual = source.metrics(start=at(start), end=at(end), service_ids=selection, quality=quality)

    reference = pd.DataFrame(rows, columns=["service_id", "minute", "status"])
    reference = reference[reference["service_id"].isin(SERVICE_IDS)]
    typos = reference["status"] == "DOWNN"  # unknown: counted, left out of the frame
    if selection is not None:
        reference = reference[reference["service_id"].isin(selection)]
    if start is not None:
        reference = reference[reference["minute"] >= start]
    if end is not None:
        reference = reference[reference["minute"] < end]
    assert quality.unknown_status_rows == int(typos[reference.index].sum())
    reference = reference[reference["status"] != "DOWNN"]
    reference = reference.sort_values(["service_id", "minute"], kind="stable")
    failed = reference["status"].str.strip().str.lower().isin(FAILURES)
    assert list(actual["service_id"].astype(str)) == list(reference["service_id"])
    assert list(actual["timestamp"]) == [
        base + pd.Timedelta(minutes=int(m)) for m in reference["minute"]
    ]
    # Rows at the same (service, minute) may come in any order: compare failures per instant.
    assert actual.groupby(["service_id", "timestamp"], observed=True)[
        "failures"
    ].sum().tolist() == (
        failed.groupby([reference["service_id"], reference["minute"]]).sum().tolist()
    )


# -- statuses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "members", "in_set", "blank"),
    [
        (["down", " DOWN ", "Down", "up"], ["down"], [True, True, True, False], [False] * 4),
        (["", "  ", None, "ok"], ["ok"], [False, False, False, True], [True, True, True, False]),
        (["Timeout", "timeout\t"], ["TimeOut "], [True, True], [False, False]),
    ],
)
def test_classify_statuses(
    values: list, members: list[str], in_set: list[bool], blank: list[bool]
) -> None:
    flags = classify_statuses(pd.Series(values, dtype="category"), status_set(members, name="x"))
    assert flags.in_set.tolist() == in_set
    assert flags.blank.tolist() == blank
    plain = classify_statuses(pd.Series(values, dtype=object), status_set(members, name="x"))
    assert plain.in_set.tolist() == in_set


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("down", "got the string 'down'"),
        ([], "is empty"),
        (["down", ""], "non-empty strings"),
        ([3], "non-empty strings"),
    ],
)
def test_status_set_errors(labels: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        status_set(labels, name="failure_statuses")  # type: ignore[arg-type]


@settings(deadline=None)
@given(
    st.lists(st.text(max_size=6) | st.none(), max_size=30),
    st.lists(st.text(min_size=1, max_size=6).filter(str.strip), min_size=1, max_size=4),
)
def test_classification_matches_a_per_row_reference(
    values: list[str | None], members: list[str]
) -> None:
    member_set = status_set(members, name="x")
    flags = classify_statuses(pd.Series(values, dtype=object), member_set)
    assert flags.in_set.tolist() == [
        v is not None and normalise_status(v) in member_set for v in values
    ]
    assert flags.blank.tolist() == [v is None or not v.strip() for v in values]
    known = member_set | {"up"}
    unknown = classify_statuses(pd.Series(values, dtype=object), member_set, known).unknown
    assert unknown.tolist() == [
        v is not None and bool(v.strip()) and normalise_status(v) not in known for v in values
    ]


# -- unknown status words ------------------------------------------------------------------------

TYPO_METRICS = METRICS + "web,2026-01-01T00:20:00Z,DOWNN\ndb,2026-01-01T00:30:00Z,DOWNN\n"
TYPO_METRICS += "db,2026-01-02T00:00:00Z, downn \nweb,2026-01-01T00:25:00Z,maintenance\n"


def typo_source(directory: Path, policy: str) -> FilesSource:
    make_source(directory, {"metrics.csv": TYPO_METRICS})
    return FilesSource(directory, statuses=status_rules(policy))


@pytest.mark.parametrize(
    ("policy", "failures"),
    [
        # db (00:00 up, 00:30 DOWNN, 12:00 error), then web (up, DOWN, Timeout, ok, DOWNN at
        # 00:20, maintenance at 00:25): the typo rows are left out, or count as failures.
        ("unknown", [0, 1, 0, 1, 1, 0]),
        ("failure", [0, 1, 1, 0, 1, 1, 0, 1, 1]),
    ],
)
def test_unknown_status_words_are_counted_and_treated_by_policy(
    tmp_path: Path, policy: str, failures: list[int]
) -> None:
    quality = DataQuality()
    window = {"start": utc("2026-01-01"), "end": utc("2026-01-02")}  # the 2nd of Jan is outside
    metrics = typo_source(tmp_path / "d", policy).metrics(**window, quality=quality)
    assert metrics["failures"].tolist() == failures
    assert quality.unknown_statuses == {"DOWNN": 2, "maintenance": 1}  # as written, in the window
    assert quality.unknown_status_rows == 3
    (message,) = quality.warnings
    assert message.startswith(
        "metrics.csv: 3 rows have statuses in neither availability.failure_statuses nor "
        "availability.success_statuses: 'DOWNN' (2), 'maintenance' (1); "
    )
    assert ("counted as failures" if policy == "failure" else "left out of the scores") in message


def test_unknown_status_words_count_only_the_selected_ids_and_window(tmp_path: Path) -> None:
    source = typo_source(tmp_path / "d", "unknown")
    quality = DataQuality()
    source.metrics(service_ids=["db"], quality=quality)
    assert quality.unknown_statuses == {"DOWNN": 1, " downn ": 1}  # each spelling as written
    clean = DataQuality()
    source.metrics(start=utc("2026-01-01T00:40:00"), end=utc("2026-01-01T12:00:00"), quality=clean)
    assert clean.section()["unknown_status_rows"] == 0 and clean.warnings == []


def test_the_error_policy_stops_with_the_words_and_counts(tmp_path: Path) -> None:
    source = typo_source(tmp_path / "d", "error")
    with pytest.raises(DataValidationError) as raised:
        source.metrics()
    message = str(raised.value)
    assert "4 rows have statuses in neither availability.failure_statuses" in message
    assert "'DOWNN' (2), ' downn ' (1), 'maintenance' (1)" in message
    assert "the analysis stops" in message
    # A window without unknown words is analysed.
    assert len(source.metrics(start=utc("2026-01-01T00:40:00"), end=utc("2026-01-01T13:00:00")))


@pytest.mark.parametrize(("policy", "runs"), [("unknown", 6), ("failure", 7)])
def test_unknown_backup_statuses(tmp_path: Path, policy: str, runs: int) -> None:
    make_source(tmp_path / "d", {"backups.csv": BACKUPS + "ct,2026-01-01T09:00:00Z,Succes\n"})
    source = FilesSource(tmp_path / "d", statuses=status_rules(policy))
    quality = DataQuality()
    backups = source.backups(quality=quality)
    assert len(backups) == runs  # a run with an unknown word is a failed run, or left out
    assert not backups["succeeded"][backups["timestamp"] == utc("2026-01-01T09:00:00")].any()
    assert quality.unknown_statuses == {"Succes": 1}
    assert "resilience.failure_statuses nor resilience.success_statuses" in quality.warnings[0]
