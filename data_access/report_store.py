"""Report files in ``OUTPUT_DIR``: written atomically under unique names, listed, read back.

Security: a report is only ever opened by a *name* that matches one of the report file-name
patterns (so it holds no path separator, no ``..`` and no encoded form of them), and only if
that name is a regular file directly in the output directory: symbolic links, FIFOs and
directories are refused (see :mod:`data_access.safe_files`). Uploads are size-limited,
validated, and stored under a fresh name marked as uploaded (``uploaded_<kind's name>``), so
that an upload is never taken for this program's latest analysis.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from analytics.report import (
    REPORT_KINDS,
    REPORT_NAME_PATTERNS,
    REPORT_NAME_PREFIXES,
    UPLOADED_PREFIX,
    ReportError,
    ReportKind,
    ReportSummary,
    is_uploaded_name,
    load_report,
    report_kind,
    summarize_report,
)
from analytics.utc import as_utc
from data_access.safe_files import (
    UnsafeFileError,
    open_regular_file,
    remove_stale_fragments_once,
    write_files_atomically,
)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# This program writes a report's header first; its first 64 KiB are enough to list it.
HEAD_BYTES = 64 * 1024
# Files without that header (the older tool's) are read whole to list them, up to this size.
FULL_READ_LIMIT = 256 * 1024 * 1024
_NAME_ATTEMPTS = 8


class ReportStoreError(ValueError):
    """A report cannot be written, found or read; the message names the file and what to do."""


@dataclass(frozen=True)
class ReportEntry:
    """One report file as the reports lists show it.

    ``created`` comes from the file name (UTC), or from the file's modification time when the
    name's date is impossible. ``uploaded`` marks a report stored by an upload (never this
    program's latest). ``data_quality_problems`` counts the rows its data source left out or
    could not classify (0 for reports older than schema version 2). A file that matches a
    report name but cannot be read is still listed, with ``error`` saying why and the figures
    left empty.
    """

    name: str
    kind: ReportKind
    created: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    aggregated_score: float | None = None  # percent
    status_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    uploaded: bool = False
    data_quality_problems: int = 0


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that nobody ever sees a partial file.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the file
    is renamed over ``path``; on any failure the temporary file is removed. The directory is
    created when missing. Raises :class:`ReportStoreError` with a message that names the
    directory and says what to do (read-only, disk full, ...). Files are readable by their
    owner only, as :func:`tempfile.mkstemp` creates them.
    """
    write_all_atomic([(Path(path), data)])


def write_all_atomic(files: list[tuple[Path, bytes]]) -> None:
    """Write new files into one directory all or nothing (see
    :func:`data_access.safe_files.write_files_atomically`); ReportStoreError as
    :func:`write_atomic`."""
    try:
        write_files_atomically(files)
    except OSError as error:
        raise ReportStoreError(_explain(error, files[0][0].parent)) from None


class ReportStore:
    """The reports in one output directory.

    Opening a store removes the fragments that writers killed mid-write left behind (once per
    process and directory; see :func:`data_access.safe_files.remove_stale_fragments`).
    """

    def __init__(self, output_dir: Path | str) -> None:
        self.output_dir = Path(output_dir)
        remove_stale_fragments_once(self.output_dir)

    def write(
        self,
        kind: ReportKind,
        payload: bytes,
        *,
        when: datetime,
        companions: dict[str, bytes] | None = None,
        uploaded: bool = False,
    ) -> Path:
        """Store a report under ``<prefix>_YYYYMMDD_HHMMSS_<8 hex>.json`` (``when`` in UTC;
        ``uploaded_<prefix>...`` for an upload) and return its path.

        The random short id keeps names unique even for analyses finished in the same second.
        ``companions`` (suffix -> bytes, e.g. ``{"_summary.csv": ...}``) are written beside it
        as :func:`companion_path` names them, all or nothing with the report.
        """
        if kind not in REPORT_KINDS:
            raise ValueError(f"unknown report kind {kind!r} (expected one of {REPORT_KINDS})")
        stamp = as_utc(when).strftime("%Y%m%d_%H%M%S")
        prefix = (UPLOADED_PREFIX if uploaded else "") + REPORT_NAME_PREFIXES[kind]
        for _ in range(_NAME_ATTEMPTS):
            path = self.output_dir / f"{prefix}_{stamp}_{secrets.token_hex(4)}.json"
            if not os.path.lexists(path):
                extra = [
                    (companion_path(path, suffix), data)
                    for suffix, data in (companions or {}).items()
                ]
                write_all_atomic([(path, payload), *extra])
                return path
        raise ReportStoreError("could not find a free report name in the output directory")

    def list(self, kind: ReportKind | None = None) -> list[ReportEntry]:
        """The reports (of one kind, or all; uploads included and marked), newest first.

        Files whose names do not match the report patterns are ignored; a matching file that
        is corrupt, foreign or not a regular file is listed with an ``error`` and never breaks
        the list. Parsed headers are cached by (directory, name, modification time, size).
        """
        try:
            with os.scandir(self.output_dir) as scan:
                names = [item.name for item in scan]
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ReportStoreError(
                f"cannot list reports in the output directory: {error.strerror or error}; "
                "check that OUTPUT_DIR is a readable directory"
            ) from None
        entries = []
        for name in names:
            for name_kind, pattern in REPORT_NAME_PATTERNS.items():
                match = pattern.fullmatch(name)
                if match and kind in (None, name_kind):
                    entries.append(self._entry(name, name_kind, _created_from_name(match)))
        _SUMMARY_CACHE.forget_others(self.output_dir, names)
        return sorted(entries, key=lambda entry: (entry.created, entry.name), reverse=True)

    def latest(self, kind: ReportKind) -> ReportEntry | None:
        """The newest readable report of ``kind`` that this program wrote (never an upload), or
        None when there is none."""
        return next(
            (entry for entry in self.list(kind) if entry.error is None and not entry.uploaded),
            None,
        )

    def read(self, name: str) -> bytes:
        """The bytes of the report file ``name`` (a bare file name, validated; uploads too)."""
        self._check_name(name)
        try:
            descriptor = open_regular_file(self.output_dir, name)
            with os.fdopen(descriptor, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise ReportStoreError(f"there is no report {name} in the output directory") from None
        except OSError as error:
            raise ReportStoreError(f"cannot read report {name}: {_reason(error)}") from None

    def load(self, name: str) -> dict[str, Any]:
        """The report ``name``, validated and normalised (see :func:`analytics.report.load_report`)."""
        try:
            return load_report(self.read(name))
        except ReportError as error:
            raise ReportStoreError(f"report {name} is unreadable: {error}") from None

    def save_upload(self, filename: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
        """Validate an uploaded report and store it under a fresh name of its kind, marked as
        uploaded (:func:`analytics.report.is_uploaded_name`); the name.

        ``filename`` (the name on the user's machine) is only used in messages.
        """
        shown = _shown(filename)
        if len(data) > max_bytes:
            raise ReportStoreError(
                f"{shown} is too large ({len(data) / 2**20:.1f} MiB; "
                f"the limit is {max_bytes / 2**20:g} MiB)"
            )
        try:
            report = load_report(data)
        except ReportError as error:
            raise ReportStoreError(
                f"{shown} is not a report this program can read: {error}"
            ) from None
        kind = report["analysis_type"]
        return self.write(kind, data, when=datetime.now(UTC), uploaded=True).name

    def path_of(self, name: str) -> Path:
        """The path of report ``name``; ReportStoreError unless it is a valid report name and,
        when it exists, not a symbolic link."""
        self._check_name(name)
        path = self.output_dir / name
        if path.is_symlink():
            raise ReportStoreError(f"refused report {name}: it is a symbolic link")
        return path

    def _check_name(self, name: str) -> None:
        if not isinstance(name, str) or report_kind(name) is None:
            raise ReportStoreError(
                f"invalid report name {_shown(name)}: expected "
                "cumulative_availability_analysis_YYYYMMDD_HHMMSS_<id>.json or "
                "resilience_analysis_YYYYMMDD_HHMMSS_<id>.json"
            )

    def _entry(self, name: str, kind: ReportKind, created: datetime | None) -> ReportEntry:
        """The entry of one report file; ``created`` None means: take the modification time."""
        uploaded = is_uploaded_name(name)
        try:
            descriptor = open_regular_file(self.output_dir, name)
        except OSError as error:
            return ReportEntry(
                name=name,
                kind=kind,
                created=created or _EPOCH,
                error=f"unreadable: {_reason(error)}",
                uploaded=uploaded,
            )
        with os.fdopen(descriptor, "rb") as handle:
            stat = os.fstat(handle.fileno())
            created = created or datetime.fromtimestamp(stat.st_mtime, tz=UTC)
            summary = _SUMMARY_CACHE.get(self.output_dir, name, stat)
            if summary is None:
                summary = _summarize_file(handle, stat.st_size)
                _SUMMARY_CACHE.put(self.output_dir, name, stat, summary)
        if isinstance(summary, str):
            return ReportEntry(
                name=name, kind=kind, created=created, error=summary, uploaded=uploaded
            )
        if summary.kind != kind:
            return ReportEntry(
                name=name,
                kind=kind,
                created=created,
                error=f"unreadable: holds a {summary.kind} report under a {kind} name",
                uploaded=uploaded,
            )
        return ReportEntry(
            name=name,
            kind=kind,
            created=created,
            window_start=summary.window_start,
            window_end=summary.window_end,
            aggregated_score=summary.aggregated_score,
            status_counts=dict(summary.status_counts),
            uploaded=uploaded,
            data_quality_problems=summary.data_quality_problems,
        )


def companion_path(report_path: Path, suffix: str) -> Path:
    """Where an export of a report goes: beside it, its name without ``.json`` plus ``suffix``
    (``..._summary.csv``)."""
    return report_path.with_name(report_path.stem + suffix)


class _SummaryCache:
    """Report headers by (directory, name, mtime, size): a report is parsed once per change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[tuple[int, int], ReportSummary | str]] = {}

    def get(self, directory: Path, name: str, stat: os.stat_result) -> ReportSummary | str | None:
        with self._lock:
            found = self._entries.get((str(directory), name))
        if found is None or found[0] != (stat.st_mtime_ns, stat.st_size):
            return None
        return found[1]

    def put(
        self, directory: Path, name: str, stat: os.stat_result, summary: ReportSummary | str
    ) -> None:
        with self._lock:
            self._entries[(str(directory), name)] = ((stat.st_mtime_ns, stat.st_size), summary)

    def forget_others(self, directory: Path, present: list[str]) -> None:
        """Drop the entries of files no longer in ``directory`` so the cache stays small."""
        keep = set(present)
        with self._lock:
            for key in [
                key for key in self._entries if key[0] == str(directory) and key[1] not in keep
            ]:
                del self._entries[key]


_SUMMARY_CACHE = _SummaryCache()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _summarize_file(handle: BinaryIO, size: int) -> ReportSummary | str:
    """The header of an open report file, or the reason it cannot be read ("unreadable: ...").

    Reports written here have their header in the first kilobytes; only other files (the older
    tool's layout puts the summary last) are read whole, and only up to a sane size.
    """
    try:
        head = handle.read(HEAD_BYTES)
        # The header alone would make a cut-off copy look whole: check its end too.
        handle.seek(max(size - 64, 0))
        if not handle.read().rstrip().endswith(b"}"):
            return "unreadable: the file is truncated (it does not end the JSON document)"
        handle.seek(len(head))
        summary = summarize_report(head, partial=True)
        if summary is None:
            if size > FULL_READ_LIMIT:
                return f"unreadable: no report header in its first {HEAD_BYTES // 1024} KiB"
            summary = summarize_report(head + handle.read())
    except ReportError as error:
        return f"unreadable: {error}"
    except OSError as error:
        return f"unreadable: {error.strerror or error}"
    return summary


def _created_from_name(match: re.Match[str]) -> datetime | None:
    try:
        return datetime.strptime(match["date"] + match["time"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:  # e.g. month 13: fall back to the file's modification time
        return None


def _explain(error: OSError, directory: Path) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"not enough disk space to write in {directory}: free some space, "
            "or set OUTPUT_DIR to a directory on another disk"
        )
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"cannot write in {directory}: it is read-only or not writable by this user; "
            "make it writable, or set OUTPUT_DIR to a writable directory"
        )
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return f"cannot write in {directory}: a file is in the way of the directory; set OUTPUT_DIR to a directory"
    return f"cannot write in {directory}: {error.strerror or error}"


def _reason(error: OSError) -> str:
    """Why a file cannot be opened, without its path (or a link's target)."""
    if isinstance(error, UnsafeFileError):
        return f"it is {error.strerror}"
    return error.strerror or type(error).__name__


def _shown(name: object) -> str:
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "..."
