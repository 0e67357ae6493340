"""Report files in ``OUTPUT_DIR``: written atomically under unique names, listed, read back.

Security: a report is only ever opened by a *name* that matches one of the report file-name
patterns (so it holds no path separator, no ``..`` and no encoded form of them) and whose
resolved path lies directly in the output directory (so a symbolic link cannot lead outside).
Uploads are size-limited and validated before they are stored under a fresh name.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import tempfile
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics.report import (
    REPORT_KINDS,
    REPORT_NAME_PATTERNS,
    REPORT_NAME_PREFIXES,
    ReportError,
    ReportKind,
    ReportSummary,
    load_report,
    report_kind,
    summarize_report,
)
from analytics.utc import as_utc

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
    name's date is impossible. A file that matches a report name but cannot be read is still
    listed, with ``error`` saying why and the figures left empty.
    """

    name: str
    kind: ReportKind
    created: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    aggregated_score: float | None = None  # percent
    status_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that nobody ever sees a partial file.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the file
    is renamed over ``path``; on any failure the temporary file is removed. The directory is
    created when missing. Raises :class:`ReportStoreError` with a message that names the
    directory and says what to do (read-only, disk full, ...). Files are readable by their
    owner only, as :func:`tempfile.mkstemp` creates them.
    """
    directory = Path(path).parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise ReportStoreError(_explain(error, directory)) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:  # interrupted too: never leave the temporary file behind
        with suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise ReportStoreError(_explain(error, directory)) from None
        raise
    _sync_directory(directory)


class ReportStore:
    """The reports in one output directory."""

    def __init__(self, output_dir: Path | str) -> None:
        self.output_dir = Path(output_dir)

    def write(self, kind: ReportKind, payload: bytes, *, when: datetime) -> Path:
        """Store a report under ``<prefix>_YYYYMMDD_HHMMSS_<8 hex>.json`` (``when`` in UTC).

        The random short id keeps names unique even for analyses finished in the same second.
        """
        if kind not in REPORT_KINDS:
            raise ValueError(f"unknown report kind {kind!r} (expected one of {REPORT_KINDS})")
        stamp = as_utc(when).strftime("%Y%m%d_%H%M%S")
        for _ in range(_NAME_ATTEMPTS):
            path = (
                self.output_dir
                / f"{REPORT_NAME_PREFIXES[kind]}_{stamp}_{secrets.token_hex(4)}.json"
            )
            if not path.exists():
                write_atomic(path, payload)
                return path
        raise ReportStoreError(f"could not find a free report name in {self.output_dir}")

    def list(self, kind: ReportKind | None = None) -> list[ReportEntry]:
        """The reports (of one kind, or all), newest first.

        Files whose names do not match the report patterns are ignored; a matching file that
        is corrupt or foreign is listed with an ``error`` and never breaks the list. Parsed
        headers are cached by (directory, name, modification time, size).
        """
        try:
            with os.scandir(self.output_dir) as scan:
                names = [item.name for item in scan]
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ReportStoreError(
                f"cannot list reports in {self.output_dir}: {error.strerror or error}; "
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
        """The newest readable report of ``kind``, or None when there is none."""
        return next((entry for entry in self.list(kind) if entry.error is None), None)

    def read(self, name: str) -> bytes:
        """The bytes of the report file ``name`` (a bare file name, validated)."""
        path = self.path_of(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ReportStoreError(f"there is no report {name} in {self.output_dir}") from None
        except OSError as error:
            raise ReportStoreError(
                f"cannot read report {name}: {error.strerror or error}"
            ) from None

    def load(self, name: str) -> dict[str, Any]:
        """The report ``name``, validated and normalised (see :func:`analytics.report.load_report`)."""
        try:
            return load_report(self.read(name))
        except ReportError as error:
            raise ReportStoreError(f"report {name} is unreadable: {error}") from None

    def save_upload(self, filename: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> str:
        """Validate an uploaded report and store it under a fresh name of its kind; the name.

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
        return self.write(report["analysis_type"], data, when=datetime.now(UTC)).name

    def path_of(self, name: str) -> Path:
        """The path of report ``name``; ReportStoreError unless it is a valid report name whose
        file (symbolic links followed) lies directly in the output directory."""
        if not isinstance(name, str) or report_kind(name) is None:
            raise ReportStoreError(
                f"invalid report name {_shown(name)}: expected "
                "cumulative_availability_analysis_YYYYMMDD_HHMMSS_<id>.json or "
                "resilience_analysis_YYYYMMDD_HHMMSS_<id>.json"
            )
        directory = self.output_dir.resolve()
        path = (directory / name).resolve()
        if path.parent != directory:
            raise ReportStoreError(f"refused report {name}: it points outside {self.output_dir}")
        return path

    def _entry(self, name: str, kind: ReportKind, created: datetime | None) -> ReportEntry:
        """The entry of one report file; ``created`` None means: take the modification time."""
        try:
            path = self.path_of(name)
            stat = path.stat()
        except ReportStoreError as error:
            return ReportEntry(
                name=name, kind=kind, created=created or _EPOCH, error=f"unreadable: {error}"
            )
        except OSError as error:
            return ReportEntry(
                name=name,
                kind=kind,
                created=created or _EPOCH,
                error=f"unreadable: {error.strerror}",
            )
        created = created or datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        summary = _SUMMARY_CACHE.get(self.output_dir, name, stat)
        if summary is None:
            summary = _summarize_file(path, stat.st_size)
            _SUMMARY_CACHE.put(self.output_dir, name, stat, summary)
        if isinstance(summary, str):
            return ReportEntry(name=name, kind=kind, created=created, error=summary)
        if summary.kind != kind:
            return ReportEntry(
                name=name,
                kind=kind,
                created=created,
                error=f"unreadable: holds a {summary.kind} report under a {kind} name",
            )
        return ReportEntry(
            name=name,
            kind=kind,
            created=created,
            window_start=summary.window_start,
            window_end=summary.window_end,
            aggregated_score=summary.aggregated_score,
            status_counts=dict(summary.status_counts),
        )


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


def _summarize_file(path: Path, size: int) -> ReportSummary | str:
    """The header of a report file, or the reason it cannot be read ("unreadable: ...").

    Reports written here have their header in the first kilobytes; only other files (the older
    tool's layout puts the summary last) are read whole, and only up to a sane size.
    """
    try:
        with path.open("rb") as handle:
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


def _sync_directory(directory: Path) -> None:
    """Flush the rename to disk too (best effort: not every platform can open a directory)."""
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _shown(name: object) -> str:
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "..."
