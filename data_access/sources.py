"""Choosing the data source from one setting, ``DATA_SOURCE``.

``open_source("demo", ...)`` serves the embedded demo data set (generated once per day into the
cache directory), a directory path serves its files, a ``mongodb://`` or ``mongodb+srv://`` URI
serves that database. The web app calls this on every request, so opened sources are kept in a
small process-level cache: a files source parses its tables once and a MongoDB source keeps its
connection pool.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from data_access.base import DataSource, DataSourceError, Progress
from data_access.demo import generate_demo_frames, write_demo_files
from data_access.files_source import TABLES, FilesSource
from data_access.statuses import StatusRules

ACCEPTED_FORMS = (
    "'demo' (the embedded demo data), the path of a directory holding services, metrics, "
    "backup_targets and backups .csv/.parquet files, or a mongodb:// or mongodb+srv:// URI"
)
MONGODB_SCHEMES = ("mongodb://", "mongodb+srv://")
# Each files source may hold a few hundred MB of arrays: keep only the latest few.
CACHE_SIZE = 4

_cache: OrderedDict[Hashable, DataSource] = OrderedDict()
_cache_lock = threading.Lock()


def open_source(
    spec: str,
    *,
    cache_dir: Path,
    mongodb_database: str,
    statuses: StatusRules,
    mapping_path: Path | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> DataSource:
    """The data source named by ``spec`` (see :data:`ACCEPTED_FORMS`).

    Repeated calls with the same arguments return the same object while the underlying files
    are unchanged (a changed file, by size or modification time, gives a fresh source).
    ``today`` (default: the current UTC day) names the demo day; ``progress`` reports the demo
    generation the first time.
    """
    text = spec.strip()
    if text.startswith(MONGODB_SCHEMES):
        # Imported here: pymongo takes a noticeable part of a files-only process's start-up.
        from data_access.mongo_source import MongoSource, load_mapping

        # The pid is part of the key: a MongoClient must not be shared across a fork.
        key = ("mongodb", os.getpid(), text, mongodb_database, _file_stamp(mapping_path), statuses)
        return _cached(
            key,
            lambda: MongoSource(
                text,
                mongodb_database,
                mapping=load_mapping(mapping_path),
                statuses=statuses,
            ),
        )
    if text == "demo":
        directory = _demo_directory(Path(cache_dir), today or datetime.now(UTC).date(), progress)
        description = f"demo data ({directory.name})"
    else:
        directory = Path(text).expanduser()
        if not text or not directory.is_dir():
            problem = "is empty" if not text else "is not an existing directory"
            raise DataSourceError(f"data source {spec!r} {problem}; use {ACCEPTED_FORMS}")
        description = None
    key = ("files", str(directory.resolve()), _directory_stamp(directory), statuses)
    return _cached(
        key,
        lambda: FilesSource(directory, statuses=statuses, description=description),
    )


def _cached(key: Hashable, create: Callable[[], DataSource]) -> DataSource:
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    # Created outside the lock (cheap: sources load lazily); two racing callers both create one
    # and the later insert wins, which is harmless.
    source = create()
    with _cache_lock:
        _cache[key] = source
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return source


def _file_stamp(path: Path | None) -> tuple[str, int, int] | None:
    if path is None or not Path(path).is_file():
        return None
    status = Path(path).stat()
    return str(path), status.st_mtime_ns, status.st_size


def _directory_stamp(directory: Path) -> tuple[tuple[str, int, int] | None, ...]:
    return tuple(
        _file_stamp(directory / f"{table}{suffix}")
        for table in TABLES
        for suffix in (".csv", ".parquet")
    )


def _demo_directory(cache_dir: Path, end_day: date, progress: Progress | None) -> Path:
    """``cache_dir/demo-YYYYMMDD``, generated (as Parquet) on first use.

    Concurrent first uses (several web workers) each write into their own temporary directory
    and rename it into place; the first rename wins and the others discard their copy, so a
    reader never sees a half-written data set.
    """
    directory = cache_dir / f"demo-{end_day:%Y%m%d}"
    if directory.is_dir():
        return directory
    cache_dir.mkdir(parents=True, exist_ok=True)
    frames = generate_demo_frames(end_day, progress=progress)
    staging = Path(tempfile.mkdtemp(prefix=".demo-", dir=cache_dir))
    try:
        written = write_demo_files(staging / "tables", frames, fmt="parquet", progress=progress)
        try:
            written.rename(directory)
        except OSError:
            if not directory.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_old_demo_directories(cache_dir, keep_from=end_day - timedelta(days=1))
    return directory


def _remove_old_demo_directories(cache_dir: Path, *, keep_from: date) -> None:
    """Drop demo data sets older than yesterday's (a process may still be reading that one)."""
    oldest_kept = f"demo-{keep_from:%Y%m%d}"
    for candidate in cache_dir.glob("demo-*"):
        if (
            candidate.is_dir()
            and len(candidate.name) == len(oldest_kept)
            and candidate.name < oldest_kept
        ):
            shutil.rmtree(candidate, ignore_errors=True)
