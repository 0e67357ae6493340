"""The files source: four CSV or Parquet files in one directory (see docs/data-model.md).

This is how the embedded demo data set is served and how a user without MongoDB analyses their
own exports. Each table is parsed once, on first use, into the canonical frame of all its rows,
sorted by (id, timestamp), over compact arrays (ids as category codes, timestamps as int64
nanoseconds, statuses as the frame's flag column); every later call only selects: per id a
binary search for the window, then one copy-on-write slice of the cached frame when the
selected rows are consecutive (every id's whole data, say), one gather otherwise.

Parquet is read with column projection and dictionary-encoded id/status columns, so ids and
statuses are looked up per distinct string, not per row: 10 million rows load in about 0.3 s.
"""

from __future__ import annotations

import csv
import functools
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analytics.availability import code_dtype
from analytics.report.quality import DataQuality
from analytics.utc import as_utc
from data_access.base import (
    SERVICE_COLUMNS,
    TARGET_COLUMNS,
    DataExtent,
    DataSourceUnavailable,
    DataValidationError,
    checked_ids,
)
from data_access.frames import events_frame, sorting_order
from data_access.statuses import (
    StatusRules,
    StatusWords,
    classify_statuses,
    unknown_status_message,
)

logger = logging.getLogger(__name__)

TABLES = ("services", "metrics", "backup_targets", "backups")
# How many unknown ids a warning names before it says "...".
UNKNOWN_ID_EXAMPLES = 5

_STRING_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
_UTC_NS = pa.timestamp("ns", tz="UTC")
_T = TypeVar("_T")


@dataclass(frozen=True)
class _RawTable:
    """The requested columns of one file, plus how to name a row of it in an error message."""

    path: Path
    table: pa.Table

    def row_label(self, position: int) -> str:
        if self.path.suffix == ".csv":
            return f"line {position + 2}"  # line 1 is the header
        return f"row {position + 1}"

    def where(self, position: int) -> str:
        return f"{self.path.name} {self.row_label(position)}"


@dataclass(frozen=True)
class _Events:
    """A metrics or backups table sorted by (id code, timestamp): the canonical frame of all its
    rows, plus its columns as arrays (views of the frame's data) for the binary searches.

    ``offsets[c]:offsets[c + 1]`` is the slice of rows of id code ``c``. The frame is never handed
    out itself, only copy-on-write views of it (see :meth:`rows`), so no caller can change it.
    """

    frame: pd.DataFrame
    codes: np.ndarray
    timestamps: np.ndarray
    flags: np.ndarray
    offsets: np.ndarray
    ids: pd.Series
    id_column: str
    flag_column: str

    @classmethod
    def build(
        cls,
        codes: np.ndarray,
        timestamps: np.ndarray,
        flags: np.ndarray,
        ids: pd.Series,
        *,
        id_column: str,
        flag_column: str,
    ) -> _Events:
        """From sorted arrays; ``codes`` in pandas' code dtype for ``ids`` and ``flags`` in the
        frame's dtype, so that the frame shares their memory."""
        frame = events_frame(
            codes,
            timestamps,
            flags,
            ids,
            id_column=id_column,
            flag_column=flag_column,
            flag_dtype=flags.dtype.type,
        )
        # Needles in the codes' dtype: a wider one would make numpy convert all the codes first.
        offsets = np.searchsorted(codes, np.arange(len(ids) + 1, dtype=codes.dtype), side="left")
        return cls(
            frame=frame,
            codes=codes,
            timestamps=timestamps,
            flags=flags,
            offsets=offsets,
            ids=ids,
            id_column=id_column,
            flag_column=flag_column,
        )

    def window_bounds(
        self,
        codes: np.ndarray,
        start: int | None,
        end: int | None,
        *,
        end_inclusive: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per selected id code, the row range ``[lo, hi)`` inside the time window."""
        lo = self.offsets[codes].copy()
        hi = self.offsets[codes + 1].copy()
        if start is None and end is None:
            return lo, hi
        end_side = "right" if end_inclusive else "left"
        # A loop over ids (thousands at most), each a binary search: never a loop over rows.
        for i, (first, stop) in enumerate(
            zip(self.offsets[codes], self.offsets[codes + 1], strict=True)
        ):
            segment = self.timestamps[first:stop]
            if start is not None:
                lo[i] = first + np.searchsorted(segment, start, side="left")
            if end is not None:
                hi[i] = first + np.searchsorted(segment, end, side=end_side)
        return lo, np.maximum(hi, lo)

    def rows(self, lo: np.ndarray, hi: np.ndarray) -> pd.DataFrame:
        """The canonical frame of the rows in the ranges ``[lo[i], hi[i])`` (ascending and
        disjoint), indexed from 0. Changing it never changes the cached frame."""
        present = hi > lo
        lo, hi = lo[present].tolist(), hi[present].tolist()
        if not lo:
            return self.frame.iloc[0:0].reset_index(drop=True)
        if lo[1:] == hi[:-1]:
            # The ranges are back to back (e.g. every id's whole data): a copy-on-write view of
            # one block of the cached frame, no row is copied.
            return self.frame.iloc[lo[0] : hi[-1]].reset_index(drop=True)
        codes, timestamps, flags = (
            np.concatenate([values[a:b] for a, b in zip(lo, hi, strict=True)])
            for values in (self.codes, self.timestamps, self.flags)
        )
        return events_frame(
            codes,
            timestamps,
            flags,
            self.ids,
            id_column=self.id_column,
            flag_column=self.flag_column,
            flag_dtype=self.flags.dtype.type,
        )


@dataclass(frozen=True)
class _Finding:
    """Something a load found (a file ignored, rows dropped): logged once, then recorded in the
    data quality of every run that reads the table."""

    message: str
    dropped_reason: str | None = None
    dropped_rows: int = 0

    def record(self, quality: DataQuality) -> None:
        quality.warn(self.message)
        if self.dropped_reason:
            quality.add_dropped_rows(self.dropped_reason, self.dropped_rows)


@dataclass(frozen=True)
class _Table:
    """A loaded metrics or backups table: its events, and aside (``unknown``, None when there are
    none) the rows whose status word is in neither set of ``words``, with the word's code in
    ``unknown_words`` as their flag."""

    name: str
    file_name: str
    events: _Events
    words: StatusWords
    unknown: _Events | None
    unknown_words: tuple[str, ...]


class FilesSource:
    """A :class:`data_access.base.DataSource` over ``services``, ``metrics``, ``backup_targets``
    and ``backups`` files (``.csv`` or ``.parquet``; Parquet wins when both exist) in one
    directory.

    Tables are parsed lazily, once, and kept in the instance; the instance is thread-safe.
    What a load finds (ignored rows, ignored files) is logged once and kept with the table; each
    call given a :class:`DataQuality` records there what concerns it, including the rows of its
    window whose status word is unknown (see :class:`data_access.statuses.StatusRules`).
    """

    def __init__(
        self, directory: Path, *, statuses: StatusRules, description: str | None = None
    ) -> None:
        self.directory = Path(directory)
        self.description = description or f"files in {self.directory}"
        self.statuses = statuses
        self._lock = threading.RLock()
        self._tables: dict[str, object] = {}
        self._files: dict[str, Path] = {}
        self._findings: dict[str, list[_Finding]] = {}

    # -- the DataSource interface -------------------------------------------------------------

    def services(self, *, quality: DataQuality | None = None) -> pd.DataFrame:
        self._replay_findings("services", quality)
        return self._services().copy()

    def backup_targets(self, *, quality: DataQuality | None = None) -> pd.DataFrame:
        self._replay_findings("backup_targets", quality)
        return self._targets().copy()

    def metrics(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        service_ids: Sequence[str] | None = None,
        quality: DataQuality | None = None,
    ) -> pd.DataFrame:
        table = self._metrics()
        events = table.events
        ids = self._services()["service_id"]
        codes = _selected_codes(ids, checked_ids(service_ids, kind="service"))
        start_ns, end_ns = _ns(start), _ns(end)
        self._account(table, codes, start_ns, end_ns, end_inclusive=False, quality=quality)
        lo, hi = events.window_bounds(codes, start_ns, end_ns, end_inclusive=False)
        return events.rows(lo, hi)

    def backups(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        target_ids: Sequence[str] | None = None,
        quality: DataQuality | None = None,
    ) -> pd.DataFrame:
        """Runs with ``start <= timestamp <= end``, plus per target the latest successful run
        before ``start`` (so RPO can look back past the window)."""
        table = self._backups()
        events = table.events
        ids = self._targets()["target_id"]
        codes = _selected_codes(ids, checked_ids(target_ids, kind="target"))
        start_ns, end_ns = _ns(start), _ns(end)
        self._account(table, codes, start_ns, end_ns, end_inclusive=True, quality=quality)
        lo, hi = events.window_bounds(codes, start_ns, end_ns, end_inclusive=True)
        if start_ns is not None and len(events.codes):
            row = np.arange(len(events.flags))
            latest_success = np.maximum.accumulate(np.where(events.flags, row, -1))
            target_first = events.offsets[codes]
            before = latest_success[np.maximum(lo - 1, 0)]
            # Valid only when there are rows before the window and the success is this target's.
            has_earlier = (lo > target_first) & (before >= target_first)
            # Each such success is a one-row range, inside its target's rows before the window.
            earlier = before[has_earlier]
            lo, hi = np.concatenate([lo, earlier]), np.concatenate([hi, earlier + 1])
            order = np.argsort(lo, kind="stable")
            lo, hi = lo[order], hi[order]
        return events.rows(lo, hi)

    def extent(self) -> DataExtent:
        metrics, backups = self._metrics().events, self._backups().events
        return DataExtent(*_first_last(metrics.timestamps), *_first_last(backups.timestamps))

    def ping(self) -> None:
        if not self.directory.is_dir() or not os.access(self.directory, os.R_OK | os.X_OK):
            raise DataSourceUnavailable(
                f"data directory {self.directory} does not exist or is not readable; "
                "check the DATA_SOURCE setting"
            )

    # -- loading --------------------------------------------------------------------------------

    def _cached(self, key: str, load: Callable[[], _T]) -> _T:
        with self._lock:
            if key not in self._tables:
                self._tables[key] = load()
            return self._tables[key]  # type: ignore[return-value]

    def _services(self) -> pd.DataFrame:
        return self._cached("services", lambda: self._load_id_table("services", SERVICE_COLUMNS))

    def _targets(self) -> pd.DataFrame:
        return self._cached(
            "backup_targets", lambda: self._load_id_table("backup_targets", TARGET_COLUMNS)
        )

    def _metrics(self) -> _Table:
        return self._cached(
            "metrics",
            lambda: self._load_events(
                "metrics",
                "service_id",
                self._services(),
                "services",
                self.statuses.checks,
                flag_column="failures",
                flag_dtype=np.int32,
            ),
        )

    def _backups(self) -> _Table:
        return self._cached(
            "backups",
            lambda: self._load_events(
                "backups",
                "target_id",
                self._targets(),
                "backup_targets",
                self.statuses.backups,
                flag_column="succeeded",
                flag_dtype=bool,
            ),
        )

    def _note(self, table: str, finding: _Finding) -> None:
        """Log a load-time finding once and keep it for the calls that read ``table``."""
        logger.warning("%s: %s", self.description, finding.message)
        with self._lock:
            self._findings.setdefault(table, []).append(finding)

    def _replay_findings(self, table: str, quality: DataQuality | None) -> None:
        if quality is None:
            return
        self._table_file(table)  # finds the file, and so its findings, on first use
        with self._lock:
            findings = list(self._findings.get(table, ()))
        for finding in findings:
            finding.record(quality)

    def _account(
        self,
        table: _Table,
        codes: np.ndarray,
        start: int | None,
        end: int | None,
        *,
        end_inclusive: bool,
        quality: DataQuality | None,
    ) -> None:
        """Record in ``quality`` what the table's load found, and the rows of the selected ids
        and window whose status word is unknown; stop when the policy says so."""
        self._replay_findings(table.name, quality)
        if table.unknown is None:
            return
        lo, hi = table.unknown.window_bounds(codes, start, end, end_inclusive=end_inclusive)
        flags = table.unknown.flags
        words = np.concatenate([flags[a:b] for a, b in zip(lo, hi, strict=True)] or [flags[:0]])
        counts = np.bincount(words, minlength=len(table.unknown_words))
        rows_by_word = {
            word: int(rows) for word, rows in zip(table.unknown_words, counts, strict=True) if rows
        }
        if not rows_by_word:
            return
        message = unknown_status_message(
            table.file_name, rows_by_word, table.words, self.statuses.unknown_policy
        )
        if self.statuses.unknown_policy == "error":
            raise DataValidationError(message)
        if quality is not None:
            quality.add_unknown_statuses(rows_by_word)
            quality.warn(message)

    def _table_file(self, table: str) -> Path:
        with self._lock:
            if table not in self._files:
                self._files[table] = self._find_table_file(table)
            return self._files[table]

    def _find_table_file(self, table: str) -> Path:
        parquet, csv_file = self.directory / f"{table}.parquet", self.directory / f"{table}.csv"
        if parquet.is_file():
            if csv_file.is_file():
                self._note(
                    table,
                    _Finding(
                        f"both {csv_file.name} and {parquet.name} exist: reading "
                        f"{parquet.name}, ignoring {csv_file.name}"
                    ),
                )
            return parquet
        if csv_file.is_file():
            return csv_file
        self.ping()
        raise DataValidationError(
            f"{self.directory}: missing {table}.csv (or {table}.parquet); a files source needs "
            f"{', '.join(TABLES)} (see docs/data-model.md)"
        )

    def _load_id_table(self, table: str, columns: tuple[str, str, str]) -> pd.DataFrame:
        """services or backup_targets: unique non-empty ids, sorted by id; an empty display name
        falls back to the id."""
        raw = _read(self._table_file(table), columns, dictionary_columns=())
        frame = raw.table.to_pandas().fillna("").astype(str)
        id_column, name_column, _ = columns
        blank_line = (frame == "").all(axis=1).to_numpy()
        frame = frame[~blank_line]
        missing_id = (frame[id_column].str.strip() == "").to_numpy()
        if missing_id.any():
            raise DataValidationError(
                f"{raw.where(int(frame.index[missing_id.argmax()]))}: empty {id_column}"
            )
        duplicated = frame[id_column].duplicated(keep=False).to_numpy()
        if duplicated.any():
            first_id = frame[id_column].to_numpy()[duplicated.argmax()]
            rows = [raw.row_label(int(i)) for i in frame.index[frame[id_column] == first_id][:2]]
            raise DataValidationError(
                f"{raw.path.name}: {id_column} {first_id!r} appears on {' and on '.join(rows)}; "
                "ids must be unique"
            )
        frame[name_column] = frame[name_column].where(frame[name_column] != "", frame[id_column])
        return frame.sort_values(id_column, kind="stable").reset_index(drop=True)

    def _load_events(
        self,
        table: str,
        id_column: str,
        known: pd.DataFrame,
        known_table: str,
        words: StatusWords,
        *,
        flag_column: str,
        flag_dtype: type,
    ) -> _Table:
        """Read, check and sort one events table; ``flag_column`` flags the rows whose status is
        a failure (metrics) or a success (backups), per ``words``.

        Rows whose status word is in neither set are kept aside with their word (to be counted
        per call) and, as the policy says, counted as failures or left out of the table.

        Touching fresh memory costs more than the arithmetic on ten million rows (measured: page
        faults dominated the load), so a clean file costs one row array per column, each
        allocated once in its final dtype: ids and statuses are looked up per distinct value of
        the dictionary-encoded columns and gathered straight into the result, and problem masks
        are only built when some value can cause a problem.
        """
        raw = _read(
            self._table_file(table),
            (id_column, "timestamp", "status"),
            dictionary_columns=(id_column, "status"),
        )
        id_values, status_values = raw.table.column(id_column), raw.table.column("status")
        known_ids = pd.Index(known[id_column])
        # -1 for ids that are unknown, blank or missing; the known ids are never blank.
        codes = _gather_by_value(
            id_values,
            lambda values: known_ids.get_indexer(values),
            missing=-1,
            dtype=code_dtype(len(known_ids)),
        )
        id_missing = _rows_where(id_values, _is_blank)
        timestamps, timestamp_missing, timestamp_bad = _timestamps_ns(raw)
        is_failures = flag_column == "failures"
        members = words.failure if is_failures else words.success
        known_words = words.failure | words.success
        # Unknown words count as failures only under the "failure" policy; a backup run with an
        # unknown word never counts as a success.
        unknown_flagged = is_failures and self.statuses.unknown_policy == "failure"

        def flagged(values: pd.Series) -> np.ndarray:
            outcome = classify_statuses(values, members, known_words)
            return outcome.in_set | outcome.unknown if unknown_flagged else outcome.in_set

        flags = _gather_by_value(status_values, flagged, missing=False, dtype=flag_dtype)
        status_blank = _rows_where(
            status_values, lambda values: classify_statuses(values, members).blank
        )
        status_unknown = _rows_where(
            status_values,
            lambda values: classify_statuses(values, members, known_words).unknown,
            missing=False,
        )
        blank_line = _all_of(id_missing, timestamp_missing, status_blank)
        problem = _any_of(id_missing, timestamp_bad, status_blank)
        if problem is not None and blank_line is not None:
            problem = problem & ~blank_line
        if problem is not None and problem.any():
            position = int(problem.argmax())
            if id_missing is not None and id_missing[position]:
                what = f"empty {id_column}"
            elif timestamp_missing is not None and timestamp_missing[position]:
                what = "empty timestamp"
            elif timestamp_bad is not None and timestamp_bad[position]:
                value = raw.table.column("timestamp")[position].as_py()
                what = f"timestamp {value!r} is not ISO-8601 (for example 2024-05-01T12:00:00Z)"
            else:
                what = "empty status"
            raise DataValidationError(f"{raw.where(position)}: {what}")

        # What is left without a code are blank lines and unknown ids: both are dropped.
        dropped = codes < 0 if codes.min(initial=0) < 0 else None
        if dropped is not None:
            unknown_ids = dropped if blank_line is None else dropped & ~blank_line
            if unknown_ids.any():
                self._note_unknown_ids(raw, table, id_values, unknown_ids, known_table)
        unknown = None
        if status_unknown is not None:
            aside = status_unknown if dropped is None else status_unknown & ~dropped
            unknown = self._aside(raw, status_values, aside, codes, timestamps, known[id_column])
            if self.statuses.unknown_policy != "failure":
                dropped = aside if dropped is None else dropped | aside
        if dropped is not None:
            kept = ~dropped
            codes, timestamps, flags = codes[kept], timestamps[kept], flags[kept]
        order = sorting_order(codes, timestamps)
        if order is not None:
            codes, timestamps, flags = codes[order], timestamps[order], flags[order]
        events = _Events.build(
            codes,
            timestamps,
            flags,
            known[id_column],
            id_column=id_column,
            flag_column=flag_column,
        )
        return _Table(
            name=table,
            file_name=raw.path.name,
            events=events,
            words=words,
            unknown=unknown[0] if unknown else None,
            unknown_words=unknown[1] if unknown else (),
        )

    @staticmethod
    def _aside(
        raw: _RawTable,
        status_values: pa.ChunkedArray,
        rows: np.ndarray,
        codes: np.ndarray,
        timestamps: np.ndarray,
        ids: pd.Series,
    ) -> tuple[_Events, tuple[str, ...]] | None:
        """The rows ``rows`` (unknown status words) as events whose flag is the word's code in
        the returned words (as written in the file), sorted like the table; None when none."""
        if not rows.any():
            return None
        written = status_values.filter(pa.array(rows)).to_pandas()
        categorical = pd.Categorical(written)
        word_codes = np.asarray(categorical.codes, dtype=np.int32)
        aside_codes, aside_times = codes[rows], timestamps[rows]
        order = sorting_order(aside_codes, aside_times)
        if order is not None:
            aside_codes, aside_times, word_codes = (
                aside_codes[order],
                aside_times[order],
                word_codes[order],
            )
        events = _Events.build(
            aside_codes, aside_times, word_codes, ids, id_column="id", flag_column="word"
        )
        return events, tuple(str(word) for word in categorical.categories)

    def _note_unknown_ids(
        self,
        raw: _RawTable,
        table: str,
        ids: pa.ChunkedArray,
        unknown: np.ndarray,
        known_table: str,
    ) -> None:
        names = sorted(set(ids.filter(pa.array(unknown)).to_pylist()))
        examples = ", ".join(names[:UNKNOWN_ID_EXAMPLES]) + (
            "..." if len(names) > UNKNOWN_ID_EXAMPLES else ""
        )
        noun = "services" if known_table == "services" else "backup targets"
        count = int(unknown.sum())
        rows = "1 row names" if count == 1 else f"{count} rows name"
        known_file = self._table_file(known_table).name
        self._note(
            table,
            _Finding(
                f"{raw.path.name}: {rows} {noun} not in {known_file} (ignored): {examples}",
                dropped_reason=f"{raw.path.name}: rows naming {noun} not in {known_file}",
                dropped_rows=count,
            ),
        )


def _read(path: Path, columns: Sequence[str], *, dictionary_columns: Collection[str]) -> _RawTable:
    """Read exactly ``columns`` (as strings, or dictionary-encoded strings) from a CSV or Parquet
    file; a timestamp column of a Parquet file keeps its timestamp type."""
    if path.suffix == ".csv":
        return _RawTable(path, _read_csv(path, columns, dictionary_columns))
    return _RawTable(path, _read_parquet(path, columns, dictionary_columns))


def _check_columns(path: Path, columns: Sequence[str], present: Sequence[str]) -> None:
    missing = [column for column in columns if column not in present]
    if missing:
        raise DataValidationError(
            f"{path.name}: missing column {', '.join(map(repr, missing))}; it has "
            f"{', '.join(map(repr, present)) or 'no columns'} and needs {', '.join(columns)} "
            "(exact, lower-case names)"
        )
    repeated = [column for column in columns if list(present).count(column) > 1]
    if repeated:
        raise DataValidationError(f"{path.name}: column {repeated[0]!r} appears more than once")


def _read_csv(path: Path, columns: Sequence[str], dictionary_columns: Collection[str]) -> pa.Table:
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            header = next(csv.reader(stream), None)
    except UnicodeDecodeError as error:
        raise DataValidationError(
            f"{path.name}: not UTF-8 text ({error.reason}); save it as UTF-8 CSV"
        ) from error
    if header is None:
        raise DataValidationError(
            f"{path.name}: the file is empty; it needs a header line {','.join(columns)}"
        )
    _check_columns(path, columns, header)

    invalid_rows: list[pa_csv.InvalidRow] = []

    def remember_invalid_row(row: pa_csv.InvalidRow) -> str:
        invalid_rows.append(row)
        return "skip"

    try:
        table = pa_csv.read_csv(
            path,
            # Single-threaded so that the parser knows each invalid row's line number.
            read_options=pa_csv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
            # Empty lines stay rows (dropped later) so that row index + 2 is the line number.
            parse_options=pa_csv.ParseOptions(
                ignore_empty_lines=False, invalid_row_handler=remember_invalid_row
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(columns),
                column_types={
                    c: _STRING_DICTIONARY if c in dictionary_columns else pa.string()
                    for c in columns
                },
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:
        raise DataValidationError(
            f"{path.name}: cannot read it as UTF-8 comma-separated text: {error}"
        ) from error
    if invalid_rows:
        row = invalid_rows[0]
        raise DataValidationError(
            f"{path.name} line {row.number}: {row.actual_columns} comma-separated fields where the "
            f"header has {row.expected_columns}: {row.text!r:.80}"
        )
    return table


def _read_parquet(
    path: Path, columns: Sequence[str], dictionary_columns: Collection[str]
) -> pa.Table:
    try:
        parquet = pq.ParquetFile(path, read_dictionary=list(dictionary_columns))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataValidationError(f"{path.name}: not a readable Parquet file: {error}") from error
    with parquet:
        schema = parquet.schema_arrow
        _check_columns(path, columns, schema.names)
        for column in columns:
            column_type = schema.field(column).type
            if pa.types.is_dictionary(column_type):
                column_type = column_type.value_type
            allowed = pa.types.is_string(column_type) or pa.types.is_large_string(column_type)
            if column == "timestamp":
                allowed = allowed or pa.types.is_timestamp(column_type)
            if not allowed:
                expected = "timestamps or ISO-8601 strings" if column == "timestamp" else "strings"
                raise DataValidationError(
                    f"{path.name}: column {column!r} has type {column_type}; expected {expected}"
                )
        try:
            # One chunk per row group (pq.read_table would give one per 64 Ki rows and load the
            # dataset machinery).
            return parquet.read(columns=list(columns))
        except (pa.ArrowInvalid, OSError) as error:
            raise DataValidationError(f"{path.name}: cannot read it: {error}") from error


def _timestamps_ns(
    raw: _RawTable,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The timestamp column as int64 UTC nanoseconds, with its missing and unparseable masks
    (None when no value is missing).

    Parquet timestamp columns convert directly (naive ones are UTC); strings go through the
    ISO-8601 parser, where naive means UTC and any offset is honoured.
    """
    column = raw.table.column("timestamp")
    try:
        if pa.types.is_timestamp(column.type):
            missing = column.is_null().to_numpy(zero_copy_only=False) if column.null_count else None
            # Joined by Arrow, whose memory pool reuses the pages the Parquet decoder has just
            # freed: numpy would fault in fresh pages, which costs more than the copy here.
            joined = pc.cast(column, _UTC_NS).combine_chunks()
            values = joined.to_numpy(zero_copy_only=False).view(np.int64)
            return values, missing, missing
        text = column.to_pandas()
        missing = (text.isna() | (text == "")).to_numpy()
        parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce").dt.as_unit("ns")
    except (pa.ArrowInvalid, pd.errors.OutOfBoundsDatetime, OverflowError) as error:
        raise DataValidationError(
            f"{raw.path.name}: a timestamp lies outside the years 1677-2262: {error}"
        ) from error
    bad = parsed.isna().to_numpy()
    return parsed.to_numpy(dtype="datetime64[ns]").view(np.int64), missing, bad


def _by_dictionary(
    column: pa.ChunkedArray, per_value: Callable[[pd.Series], npt.ArrayLike]
) -> Iterator[tuple[pa.DictionaryArray, np.ndarray]]:
    """Each chunk of a dictionary-encoded column with ``per_value`` of its dictionary (one result
    per distinct value). Files are read in chunks (Parquet row groups, CSV blocks) that usually
    share one dictionary: ``per_value`` runs once per different dictionary, not per chunk."""
    dictionary, results = None, np.empty(0)
    for chunk in column.chunks:
        if dictionary is None or not chunk.dictionary.equals(dictionary):
            dictionary = chunk.dictionary
            results = np.asarray(per_value(dictionary.to_pandas()))
        yield chunk, results


def _gather_by_value(
    column: pa.ChunkedArray,
    per_value: Callable[[pd.Series], npt.ArrayLike],
    *,
    missing: object,
    dtype: npt.DTypeLike,
) -> np.ndarray:
    """Per row of a dictionary-encoded column, ``per_value`` of the row's value (``missing`` for
    a null row), as an array of ``dtype``: the only per-row work is one gather, straight into
    the result (see :func:`_by_dictionary`)."""
    out = np.empty(len(column), dtype=dtype)
    stop = 0
    for chunk, results in _by_dictionary(column, per_value):
        start, stop = stop, stop + len(chunk)
        by_value = np.append(results, missing).astype(dtype)
        indices = chunk.indices
        if chunk.null_count:  # null rows pick the last entry (int32: int8 indices may be full)
            indices = indices.cast(pa.int32()).fill_null(len(chunk.dictionary))
        # "clip" skips numpy's buffered bounds check: the indices are valid.
        np.take(by_value, indices.to_numpy(), out=out[start:stop], mode="clip")
    return out


def _rows_where(
    column: pa.ChunkedArray,
    per_value: Callable[[pd.Series], npt.ArrayLike],
    *,
    missing: bool = True,
) -> np.ndarray | None:
    """The rows of a dictionary-encoded column whose value is flagged by ``per_value`` (see
    :func:`_gather_by_value`), and the missing ones when ``missing``; None when no row can be,
    so that clean data builds no mask."""
    if not any(
        (missing and chunk.null_count) or results.any()
        for chunk, results in _by_dictionary(column, per_value)
    ):
        return None
    return _gather_by_value(column, per_value, missing=missing, dtype=bool)


def _is_blank(values: pd.Series) -> np.ndarray:
    """Values that are missing, empty or only spaces."""
    return (values.isna() | (values.str.strip() == "")).to_numpy()


def _all_of(*masks: np.ndarray | None) -> np.ndarray | None:
    """The rows flagged in every mask; None (no row) when some mask is None."""
    if any(mask is None for mask in masks):
        return None
    return functools.reduce(np.logical_and, masks)


def _any_of(*masks: np.ndarray | None) -> np.ndarray | None:
    """The rows flagged in some mask; None (no row) when every mask is None."""
    present = [mask for mask in masks if mask is not None]
    return functools.reduce(np.logical_or, present) if present else None


def _selected_codes(ids: pd.Series, selection: list[str] | None) -> np.ndarray:
    """Codes (positions in ``ids``) of the selected ids, ascending; unknown ids select nothing."""
    if selection is None:
        return np.arange(len(ids))
    codes = pd.Index(ids).get_indexer(pd.Index(selection).unique())
    return np.unique(codes[codes >= 0])


def _ns(timestamp: pd.Timestamp | None) -> int | None:
    """A window bound as UTC nanoseconds (a naive bound means UTC); None means unbounded."""
    stamp = as_utc(timestamp)
    return None if stamp is pd.NaT else int(stamp.as_unit("ns").value)


def _first_last(timestamps: np.ndarray) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    if not len(timestamps):
        return None, None
    return pd.Timestamp(int(timestamps.min()), tz="UTC"), pd.Timestamp(
        int(timestamps.max()), tz="UTC"
    )
