"""The report store: atomic unique writes, listing that survives bad files, safe names, uploads."""

from __future__ import annotations

import errno
import os
import re
import tempfile
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from analytics import report as report_module
from data_access import report_store
from data_access.report_store import ReportStore, ReportStoreError, write_atomic

FIXTURES = Path(__file__).parents[1] / "fixtures"
AVAILABILITY = (FIXTURES / "availability_report.json").read_bytes()
RESILIENCE = (FIXTURES / "resilience_report.json").read_bytes()
LEGACY = (FIXTURES / "legacy_availability_report.json").read_bytes()
WHEN = datetime(2026, 1, 2, 6, 30, 15, tzinfo=UTC)
NAME = re.compile(
    r"(cumulative_availability|resilience)_analysis_20260102_063015_[0-9a-f]{8}\.json"
)


@pytest.fixture
def store(tmp_path: Path) -> ReportStore:
    return ReportStore(tmp_path / "output")


def files_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


# --- writing -----------------------------------------------------------------------------


def test_write_names_and_content(store: ReportStore) -> None:
    path = store.write("availability", AVAILABILITY, when=WHEN)
    assert path.parent == store.output_dir  # the missing directory was created
    assert NAME.fullmatch(path.name) and path.name.startswith("cumulative_availability_analysis_")
    assert path.read_bytes() == AVAILABILITY
    resilience = store.write("resilience", RESILIENCE, when=WHEN)
    assert resilience.name.startswith("resilience_analysis_20260102_063015_")
    assert files_in(store.output_dir) == sorted([path.name, resilience.name])  # no temporary left


def test_names_are_unique_within_one_second(store: ReportStore) -> None:
    names = {store.write("availability", AVAILABILITY, when=WHEN).name for _ in range(50)}
    assert len(names) == 50


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 1, 2, 6, 30, 15),  # naive means UTC
        datetime(2026, 1, 2, 7, 30, 15, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_write_names_use_utc(store: ReportStore, when: datetime) -> None:
    assert NAME.fullmatch(store.write("availability", AVAILABILITY, when=when).name)


def test_write_refuses_an_unknown_kind(store: ReportStore) -> None:
    with pytest.raises(ValueError, match="unknown report kind"):
        store.write("latency", AVAILABILITY, when=WHEN)  # type: ignore[arg-type]


def failing(error_number: int):
    def fail(*_args: object, **_kwargs: object) -> None:
        raise OSError(error_number, os.strerror(error_number))

    return fail


@pytest.mark.parametrize(
    ("target", "error_number", "message"),
    [
        ("os.fsync", errno.ENOSPC, "not enough disk space to write in {dir}: free some space, or set OUTPUT_DIR"),
        ("os.fsync", errno.EDQUOT, "not enough disk space to write in {dir}"),
        ("os.replace", errno.EROFS, "cannot write in {dir}: it is read-only or not writable by this user"),
        ("tempfile.mkstemp", errno.EACCES, "cannot write in {dir}: it is read-only or not writable by this user"),
        ("os.replace", errno.EIO, "cannot write in {dir}: Input/output error"),
    ],
)  # fmt: skip
def test_write_failures_leave_no_file(
    store: ReportStore,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    error_number: int,
    message: str,
) -> None:
    store.output_dir.mkdir()
    module, attribute = target.split(".")
    monkeypatch.setattr({"os": os, "tempfile": tempfile}[module], attribute, failing(error_number))
    with pytest.raises(ReportStoreError) as caught:
        store.write("availability", AVAILABILITY, when=WHEN)
    assert str(caught.value).startswith(message.format(dir=store.output_dir))
    assert files_in(store.output_dir) == []


def test_interrupted_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(_descriptor: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "report.json", b"{}")
    assert files_in(tmp_path) == []


def test_a_failed_rewrite_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "settings.json"
    write_atomic(target, b"old")
    monkeypatch.setattr(os, "replace", failing(errno.ENOSPC))
    with pytest.raises(ReportStoreError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert files_in(tmp_path) == ["settings.json"]


def test_output_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("not a directory")
    with pytest.raises(ReportStoreError, match="a file is in the way"):
        ReportStore(blocker).write("availability", AVAILABILITY, when=WHEN)


def test_written_files_are_private(store: ReportStore) -> None:
    path = store.write("availability", AVAILABILITY, when=WHEN)
    assert path.stat().st_mode & 0o777 == 0o600


# --- listing -----------------------------------------------------------------------------


def put(store: ReportStore, name: str, data: bytes) -> Path:
    store.output_dir.mkdir(exist_ok=True)
    path = store.output_dir / name
    path.write_bytes(data)
    return path


def test_list_newest_first_with_figures(store: ReportStore) -> None:
    put(store, "cumulative_availability_analysis_20250904_103000.json", LEGACY)  # older tool's name
    newer = store.write("availability", AVAILABILITY, when=WHEN)
    resilience = store.write("resilience", RESILIENCE, when=WHEN - timedelta(hours=1))
    entries = store.list()
    assert [entry.name for entry in entries] == [
        newer.name,
        resilience.name,
        "cumulative_availability_analysis_20250904_103000.json",
    ]
    first = entries[0]
    assert (first.kind, first.created, first.error) == ("availability", WHEN, None)
    assert first.window_start == datetime(2026, 1, 1, tzinfo=UTC)
    assert first.window_end == datetime(2026, 1, 2, tzinfo=UTC)
    assert first.aggregated_score == orjson.loads(AVAILABILITY)["summary"]["aggregated_score"]
    assert first.status_counts == {"GOOD": 0, "ATTENZIONE": 1, "CRITICAL": 1, "NO_DATA": 1}
    legacy = entries[2]
    assert legacy.created == datetime(2025, 9, 4, 10, 30, tzinfo=UTC)
    assert (legacy.aggregated_score, legacy.status_counts["GOOD"]) == (87.3, 8)
    assert entries[1].status_counts["SEVERE"] == 1
    assert [entry.name for entry in store.list("resilience")] == [resilience.name]
    assert store.latest("availability") == first
    assert store.latest("resilience").name == resilience.name  # type: ignore[union-attr]


def test_list_survives_corrupt_and_foreign_files(store: ReportStore) -> None:
    good = store.write("availability", AVAILABILITY, when=WHEN - timedelta(days=1))
    cases = {
        "cumulative_availability_analysis_20260102_000000_00000001.json": b"{ half a report",
        "cumulative_availability_analysis_20260102_000000_00000002.json": b'{"hello": "world"}',
        "cumulative_availability_analysis_20260102_000000_00000003.json": b"\xff\xfe\x00",
        "cumulative_availability_analysis_20260102_000000_00000004.json": RESILIENCE,
        "cumulative_availability_analysis_20260102_000000_00000005.json": b"",
    }
    for name, data in cases.items():
        put(store, name, data)
    put(store, "notes.txt", b"ignored")
    put(store, "resilience_analysis_latest.json", b"ignored: not a report name")
    put(store, ".cumulative_availability_analysis_20260102_000000_00000006.json.x1.tmp", b"{")
    entries = {entry.name: entry for entry in store.list()}
    assert set(entries) == {good.name, *cases}
    assert entries[good.name].error is None
    for name in cases:
        assert entries[name].error is not None and entries[name].error.startswith("unreadable: ")
        assert entries[name].aggregated_score is None and entries[name].window_start is None
    assert "resilience report under a availability name" in entries[list(cases)[3]].error
    assert store.latest("availability").name == good.name  # type: ignore[union-attr]


def test_list_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    missing = ReportStore(tmp_path / "nowhere")
    assert missing.list() == [] and missing.latest("availability") is None


def test_list_of_an_unlistable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("a file")
    with pytest.raises(ReportStoreError, match="cannot list reports in"):
        ReportStore(blocker).list()


def test_impossible_date_in_a_name_falls_back_to_mtime(store: ReportStore) -> None:
    path = put(store, "resilience_analysis_20261345_250000_0a0b0c0d.json", RESILIENCE)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    (entry,) = store.list()
    assert entry.created == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert entry.error is None


def test_summaries_are_cached_until_the_file_changes(
    store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.write("availability", AVAILABILITY, when=WHEN)
    calls: list[bool] = []
    real = report_module.summarize_report

    def counting(data: bytes, *, partial: bool = False):
        calls.append(partial)
        return real(data, partial=partial)

    monkeypatch.setattr(report_store, "summarize_report", counting)
    store.list()
    assert calls == [True]  # the head was enough
    ReportStore(store.output_dir).list()  # another instance shares the cache
    assert calls == [True]
    path.write_bytes(b"corrupt")
    assert store.list()[0].error is not None  # re-read: the cached summary was not reused
    assert calls == [True]  # refused by the end-of-document check before any parsing


def test_legacy_report_needs_the_whole_file(
    store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_store, "HEAD_BYTES", 200)  # the older layout has its summary last
    put(store, "cumulative_availability_analysis_20250904_103000.json", LEGACY)
    (entry,) = store.list()
    assert entry.error is None and entry.aggregated_score == 87.3


# --- reading by name ---------------------------------------------------------------------


def test_read_and_load(store: ReportStore) -> None:
    path = store.write("resilience", RESILIENCE, when=WHEN)
    assert store.read(path.name) == RESILIENCE
    loaded = store.load(path.name)
    assert loaded["analysis_type"] == "resilience"
    assert loaded == report_module.load_report(RESILIENCE)


@pytest.mark.parametrize(
    "name",
    [
        "../cumulative_availability_analysis_20250904_103000.json",
        "/etc/passwd",
        "..%2fcumulative_availability_analysis_20250904_103000.json",
        "%2e%2e%2fcumulative_availability_analysis_20250904_103000.json",
        "..\\cumulative_availability_analysis_20250904_103000.json",
        "sub/cumulative_availability_analysis_20250904_103000.json",
        "cumulative_availability_analysis_20250904_103000.json/../../x",
        "cumulative_availability_analysis_20250904_103000.json\x00.txt",
        "cumulative_availability_analysis_20250904_103000.json\n",
        "notes.json",
        "",
        "x" * 5000,
    ],
)
def test_invalid_names_are_refused(store: ReportStore, name: str) -> None:
    put(store, "cumulative_availability_analysis_20250904_103000.json", LEGACY)
    for attempt in (store.read, store.load, store.path_of):
        with pytest.raises(ReportStoreError, match="invalid report name") as caught:
            attempt(name)
        assert len(str(caught.value)) < 300


def test_symbolic_links_are_refused_without_naming_their_target(
    store: ReportStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.json"
    secret.write_bytes(AVAILABILITY)
    store.output_dir.mkdir()
    outside = "cumulative_availability_analysis_20260101_000000_0000000a.json"
    (store.output_dir / outside).symlink_to(secret)
    inside = "cumulative_availability_analysis_20260101_000000_0000000b.json"
    real = store.write("availability", AVAILABILITY, when=WHEN)
    (store.output_dir / inside).symlink_to(real.name)  # even one within the directory
    for name in (outside, inside):
        with pytest.raises(ReportStoreError) as raised:
            store.read(name)
        assert str(raised.value) == f"cannot read report {name}: it is a symbolic link (refused)"
        assert str(tmp_path) not in str(raised.value)
        with pytest.raises(ReportStoreError, match="symbolic link"):
            store.path_of(name)
    entries = {entry.name: entry.error for entry in store.list()}
    assert entries[outside] == entries[inside] == "unreadable: it is a symbolic link (refused)"
    assert entries[real.name] is None


def test_a_fifo_named_like_a_report_never_blocks(store: ReportStore) -> None:
    """Opening a FIFO for reading waits for a writer: the store must not even try."""
    store.output_dir.mkdir()
    fifo = "cumulative_availability_analysis_20260101_000000_0000000f.json"
    os.mkfifo(store.output_dir / fifo)
    finished = threading.Event()
    outcome: dict[str, object] = {}

    def use_the_store() -> None:
        outcome["entries"] = {entry.name: entry.error for entry in store.list()}
        try:
            store.read(fifo)
        except ReportStoreError as error:
            outcome["read"] = str(error)
        finished.set()

    threading.Thread(target=use_the_store, daemon=True).start()
    if not finished.wait(timeout=60):
        with open(store.output_dir / fifo, "wb"):  # release the blocked thread, then fail
            pass
        pytest.fail("the store blocked on a FIFO")
    assert outcome["entries"] == {fifo: "unreadable: it is not a regular file (refused)"}
    assert outcome["read"] == f"cannot read report {fifo}: it is not a regular file (refused)"


def test_missing_and_unreadable_reports(store: ReportStore) -> None:
    name = "resilience_analysis_20260101_000000_0a0b0c0d.json"
    with pytest.raises(
        ReportStoreError, match=f"there is no report {name} in the output directory"
    ):
        store.read(name)
    put(store, name, b'{"schema_version": 1}')
    with pytest.raises(ReportStoreError, match=f"report {name} is unreadable: "):
        store.load(name)


# --- uploads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [(AVAILABILITY, "availability"), (RESILIENCE, "resilience"), (LEGACY, "availability")],
)
def test_uploads_are_stored_under_a_fresh_name(store: ReportStore, data: bytes, kind: str) -> None:
    name = store.save_upload("../../etc/evil name.json", data)
    assert report_module.report_kind(name) == kind
    assert name.startswith("uploaded_") and report_module.is_uploaded_name(name)
    assert store.read(name) == data
    assert store.load(name)["analysis_type"] == kind
    assert files_in(store.output_dir) == [name]


@pytest.mark.parametrize(
    ("data", "limit", "message"),
    [
        (AVAILABILITY, 100, "'upload.json' is too large (0.0 MiB; the limit is 9.53674e-05 MiB)"),
        (b"<html>", 10_000, "'upload.json' is not a report this program can read: not JSON: "),
        (b'{"services": []}', 10_000, "'upload.json' is not a report this program can read: not a valid availability report"),
    ],
)  # fmt: skip
def test_bad_uploads_are_refused(store: ReportStore, data: bytes, limit: int, message: str) -> None:
    with pytest.raises(ReportStoreError) as caught:
        store.save_upload("upload.json", data, max_bytes=limit)
    assert str(caught.value).startswith(message)
    assert files_in(store.output_dir) == []


def test_default_upload_limit_is_50_mib(store: ReportStore) -> None:
    too_big = b" " * (50 * 1024 * 1024 + 1)
    with pytest.raises(ReportStoreError, match=r"too large \(50\.0 MiB; the limit is 50 MiB\)"):
        store.save_upload("big.json", too_big)


def test_write_gives_up_when_no_name_is_free(
    store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_store.secrets, "token_hex", lambda _n: "0000abcd")
    store.write("availability", AVAILABILITY, when=WHEN)
    with pytest.raises(ReportStoreError, match="could not find a free report name"):
        store.write("availability", AVAILABILITY, when=WHEN)


def test_entries_that_cannot_be_opened(store: ReportStore) -> None:
    store.output_dir.mkdir()
    directory = "resilience_analysis_20260101_000000_0000000d.json"
    (store.output_dir / directory).mkdir()
    dangling = "resilience_analysis_20260101_000000_0000000e.json"
    (store.output_dir / dangling).symlink_to("gone.json")
    entries = {entry.name: entry.error for entry in store.list()}
    assert entries[directory] == "unreadable: it is not a regular file (refused)"
    assert entries[dangling] == "unreadable: it is a symbolic link (refused)"
    with pytest.raises(ReportStoreError, match=f"cannot read report {directory}: it is not a"):
        store.read(directory)


def test_the_summary_cache_forgets_deleted_files(store: ReportStore) -> None:
    kept = store.write("availability", AVAILABILITY, when=WHEN)
    gone = store.write("resilience", RESILIENCE, when=WHEN)
    store.list()
    cached = {
        key[1] for key in report_store._SUMMARY_CACHE._entries if key[0] == str(store.output_dir)
    }
    assert cached == {kept.name, gone.name}
    gone.unlink()
    store.list()
    cached = {
        key[1] for key in report_store._SUMMARY_CACHE._entries if key[0] == str(store.output_dir)
    }
    assert cached == {kept.name}


def test_large_files_without_a_header_are_not_read_whole(
    store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_store, "HEAD_BYTES", 200)
    monkeypatch.setattr(report_store, "FULL_READ_LIMIT", 500)
    put(store, "cumulative_availability_analysis_20250904_103000.json", LEGACY)  # 1,002 bytes
    (entry,) = store.list()
    assert entry.error == "unreadable: no report header in its first 0 KiB"
    assert store.load(entry.name)["schema_version"] == 0  # loading it still works


def test_uploads_are_listed_marked_and_never_the_latest(store: ReportStore) -> None:
    """An upload edited to all-GOOD used to become "latest" and so feed /metrics."""
    ours = store.write("availability", AVAILABILITY, when=WHEN - timedelta(days=1))
    edited = orjson.loads(AVAILABILITY)
    edited["summary"]["aggregated_score"] = 100.0
    upload = store.save_upload("all-good.json", orjson.dumps(edited))  # newer than ours
    entries = {entry.name: entry for entry in store.list("availability")}
    assert set(entries) == {ours.name, upload}
    assert entries[upload].uploaded and not entries[ours.name].uploaded
    assert store.latest("availability") == entries[ours.name]
    assert store.load(upload)["summary"]["aggregated_score"] == 100.0  # opened by its name


def test_only_uploads_means_no_latest(store: ReportStore) -> None:
    store.save_upload("r.json", RESILIENCE)
    assert [entry.uploaded for entry in store.list()] == [True]
    assert store.latest("resilience") is None


def test_entries_count_the_data_quality_problems(store: ReportStore) -> None:
    path = store.write("availability", AVAILABILITY, when=WHEN)
    put(store, "cumulative_availability_analysis_20250904_103000.json", LEGACY)
    problems = {entry.name: entry.data_quality_problems for entry in store.list()}
    assert problems == {
        path.name: 12 + 3,
        "cumulative_availability_analysis_20250904_103000.json": 0,
    }


def test_companions_are_written_with_the_report_all_or_nothing(
    store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.write(
        "availability", AVAILABILITY, when=WHEN, companions={"_a.csv": b"a", "_b.csv": b"b"}
    )
    stem = path.name.removesuffix(".json")
    assert files_in(store.output_dir) == sorted([path.name, f"{stem}_a.csv", f"{stem}_b.csv"])
    assert report_store.companion_path(path, "_b.csv").read_bytes() == b"b"

    renamed: list[str] = []
    real_replace = os.replace

    def replace_then_fail_on_the_last(source: str, target: Path) -> None:
        if str(target).endswith("_b.csv"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(source, target)
        renamed.append(str(target))

    monkeypatch.setattr(os, "replace", replace_then_fail_on_the_last)
    before = files_in(store.output_dir)
    with pytest.raises(ReportStoreError, match="not enough disk space"):
        store.write(
            "availability", AVAILABILITY, when=WHEN, companions={"_a.csv": b"a", "_b.csv": b"b"}
        )
    assert len(renamed) == 2  # the report and the first companion were in place ...
    assert files_in(store.output_dir) == before  # ... and were removed again
