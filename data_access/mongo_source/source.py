"""The MongoDB source: the operator's database, read through the aggregation pipelines of
:mod:`data_access.mongo_source.pipelines`.

Ids that reach a query are validated as plain strings (never operators), and an unreachable
server fails in seconds with :class:`DataSourceUnavailable`: short server-selection timeout, two
attempts (:mod:`data_access.mongo_source.connection`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database

from analytics.report.quality import DataQuality
from analytics.utc import as_utc
from data_access.base import DataExtent, DataValidationError, checked_ids
from data_access.frames import events_frame, sorting_order
from data_access.mongo_source.connection import connect, redacted, with_retry
from data_access.mongo_source.mapping import (
    BackupsMapping,
    BackupTargetsMapping,
    MetricsMapping,
    MongoMapping,
    ServicesMapping,
    table_fields,
)
from data_access.mongo_source.pipelines import (
    backups_pipeline,
    last_success_pipeline,
    metrics_pipeline,
    undated_pipeline,
    unknown_statuses_pipeline,
    window_condition,
)
from data_access.statuses import StatusRules, StatusWords, unknown_status_message

logger = logging.getLogger(__name__)


class MongoSource:
    """A :class:`data_access.base.DataSource` over a MongoDB database laid out as ``mapping``.

    Nothing is cached: every call asks the database, so the dashboards see new data at once.
    What a call leaves out (documents without id, status or date; unknown status words) is
    counted in the ``quality`` it is given.
    """

    def __init__(
        self,
        client_or_uri: MongoClient | str,
        database: str,
        *,
        mapping: MongoMapping,
        statuses: StatusRules,
        server_selection_timeout_ms: int = 3000,
    ) -> None:
        if isinstance(client_or_uri, str):
            self._db = connect(
                client_or_uri, database, server_selection_timeout_ms=server_selection_timeout_ms
            )
            self._where = f"{redacted(client_or_uri)}/{database}"
        else:
            self._db = client_or_uri[database]
            self._where = f"database {database!r}"
        self.description = f"MongoDB {self._where}"
        self.mapping = mapping
        self.statuses = mapping.status_rules(statuses)

    @property
    def database(self) -> Database:
        return self._db

    def services(self, *, quality: DataQuality | None = None) -> pd.DataFrame:
        return self._id_table(self.mapping.services, quality)

    def backup_targets(self, *, quality: DataQuality | None = None) -> pd.DataFrame:
        return self._id_table(self.mapping.backup_targets, quality)

    def metrics(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        service_ids: Sequence[str] | None = None,
        quality: DataQuality | None = None,
    ) -> pd.DataFrame:
        m = self.mapping.metrics
        selection = checked_ids(service_ids, kind="service")  # before any query
        ids = self.services(quality=quality)["service_id"]
        selected = _selected(ids, selection)
        rows = []
        words = self.statuses.checks
        if selected:
            pipeline = metrics_pipeline(
                m, service_ids=selected, start=_bound(start), end=_bound(end), words=words
            )
            rows = self._aggregate(m.collection, pipeline, "reading metrics")
            self._count_undated(m, m.service_id, selected, quality)
        blank = _column(rows, "blank", np.int64)
        unknown = _column(rows, "unknown", np.int64)
        total = _column(rows, "rows", np.int64)
        failures = _column(rows, "failures", np.int32)
        self._note_blank(int(blank.sum()), m.collection, m.status, quality)
        if unknown.any():
            time_range = window_condition(_bound(start), _bound(end), end_operator="$lt")
            self._note_unknown(
                m, m.service_id, selected, time_range, words, quality, rows=int(unknown.sum())
            )
        if self.statuses.unknown_policy == "failure":
            failures = failures + unknown.astype(np.int32)
            keep = total > blank
        else:
            keep = total > blank + unknown
        codes, timestamps = self._codes_and_times(ids, rows, m.collection, m.timestamp)
        return _canonical(
            codes[keep], timestamps[keep], failures[keep], ids, "service_id", "failures", np.int32
        )

    def backups(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        target_ids: Sequence[str] | None = None,
        quality: DataQuality | None = None,
    ) -> pd.DataFrame:
        """Runs with ``start <= timestamp <= end``, plus per target the latest successful run
        before ``start``."""
        m = self.mapping.backups
        selection = checked_ids(target_ids, kind="target")  # before any query
        ids = self.backup_targets(quality=quality)["target_id"]
        selected = _selected(ids, selection)
        words = self.statuses.backups
        rows, earlier = [], []
        if selected:
            window = backups_pipeline(
                m, target_ids=selected, start=_bound(start), end=_bound(end), words=words
            )
            rows = self._aggregate(m.collection, window, "reading backups")
            self._count_undated(m, m.target_id, selected, quality)
            if start is not None:
                lookback = last_success_pipeline(
                    m,
                    target_ids=selected,
                    before=_bound(start),
                    success_statuses=words.success,
                )
                earlier = [
                    {
                        "s": row["_id"],
                        "t": row["t"],
                        "succeeded": True,
                        "unknown": False,
                        "blank": False,
                    }
                    for row in self._aggregate(m.collection, lookback, "reading earlier backups")
                ]
        rows = earlier + rows
        blank = _column(rows, "blank", bool)
        unknown = _column(rows, "unknown", bool)
        self._note_blank(int(blank.sum()), m.collection, m.status, quality)
        if unknown.any():
            time_range = window_condition(_bound(start), _bound(end), end_operator="$lte")
            self._note_unknown(
                m, m.target_id, selected, time_range, words, quality, rows=int(unknown.sum())
            )
        # A run with an unknown word is a failed run under the "failure" policy, else left out.
        keep = ~blank if self.statuses.unknown_policy == "failure" else ~(blank | unknown)
        codes, timestamps = self._codes_and_times(ids, rows, m.collection, m.timestamp)
        succeeded = _column(rows, "succeeded", bool)
        return _canonical(
            codes[keep], timestamps[keep], succeeded[keep], ids, "target_id", "succeeded", bool
        )

    def extent(self) -> DataExtent:
        metrics, backups = self.mapping.metrics, self.mapping.backups
        return DataExtent(
            *self._first_last(metrics.collection, metrics.filter, metrics.timestamp),
            *self._first_last(backups.collection, backups.filter, backups.timestamp),
        )

    def ping(self) -> None:
        with_retry("answering ping", self._where, lambda: self._db.client.admin.command("ping"))

    # -- helpers ---------------------------------------------------------------------------------

    def _aggregate(
        self, collection: str, pipeline: list[dict[str, Any]], what: str
    ) -> list[dict[str, Any]]:
        return with_retry(
            what,
            self._where,
            lambda: list(
                self._db[collection].aggregate(pipeline, allowDiskUse=True, batchSize=50_000)
            ),
        )

    def _note(
        self,
        message: str,
        quality: DataQuality | None,
        *,
        dropped_reason: str | None = None,
        rows: int = 0,
    ) -> None:
        """Record a finding of this call in the run's data quality (and in the log)."""
        logger.warning("%s: %s", self.description, message)
        if quality is not None:
            quality.warn(message)
            if dropped_reason:
                quality.add_dropped_rows(dropped_reason, rows)

    def _note_blank(
        self, count: int, collection: str, field: str, quality: DataQuality | None
    ) -> None:
        if count:
            self._note(
                f"collection {collection!r}: {count} documents without a {field!r} value (ignored)",
                quality,
                dropped_reason=f"collection {collection!r}: documents without a {field!r} value",
                rows=count,
            )

    def _note_unknown(
        self,
        table: MetricsMapping | BackupsMapping,
        id_field: str,
        ids: Sequence[str],
        time_range: dict[str, Any],
        words: StatusWords,
        quality: DataQuality | None,
        *,
        rows: int,
    ) -> None:
        """Count the unknown status words of the call's documents by word (one more query, run
        only when there are some); stop when the policy says so."""
        pipeline = unknown_statuses_pipeline(
            table, id_field, ids=ids, time_range=time_range, words=words
        )
        found = self._aggregate(table.collection, pipeline, "counting unknown statuses")
        rows_by_word = {str(row["_id"]): int(row["rows"]) for row in found}
        message = unknown_status_message(
            f"collection {table.collection!r}", rows_by_word, words, self.statuses.unknown_policy
        )
        if self.statuses.unknown_policy == "error":
            raise DataValidationError(message)
        logger.warning("%s: %s", self.description, message)
        if quality is not None:
            quality.add_unknown_statuses(rows_by_word, rows=rows)
            quality.warn(message)

    def _count_undated(
        self,
        table: MetricsMapping | BackupsMapping,
        id_field: str,
        ids: Sequence[str],
        quality: DataQuality | None,
    ) -> None:
        """Count the documents of ``ids`` whose timestamp is not a date: no time window can
        select them, so they are reported instead of being left out without a word."""
        found = self._aggregate(
            table.collection,
            undated_pipeline(table, id_field, ids=ids),
            "counting undated documents",
        )
        if not found:
            return
        rows, example = int(found[0]["rows"]), found[0]["example"]
        field = table.timestamp
        self._note(
            f"collection {table.collection!r}: {rows} documents of the selected ids have a "
            f"{field!r} that is not a date (text, a number or missing), for example _id "
            f"{str(example)[:40]}; they are not analysed: store timestamps as BSON dates (UTC)",
            quality,
            dropped_reason=f"collection {table.collection!r}: documents whose {field!r} is not a date",
            rows=rows,
        )

    def _id_table(
        self, table: ServicesMapping | BackupTargetsMapping, quality: DataQuality | None
    ) -> pd.DataFrame:
        """services or backup_targets: id, display name (the id when missing), type."""
        fields = table_fields(table)
        id_column, _, _ = fields
        id_path, name_path, type_path = fields.values()
        projection = {"_id": 0, **dict.fromkeys(fields.values(), 1)}
        documents = with_retry(
            f"reading {table.collection}",
            self._where,
            lambda: list(self._db[table.collection].find(table.filter, projection)),
        )
        records, skipped = [], 0
        for document in documents:
            identifier = _get(document, id_path)
            if not isinstance(identifier, str) or not identifier.strip():
                skipped += 1
                continue
            name, kind = _get(document, name_path), _get(document, type_path)
            records.append(
                (identifier, str(name) if name else identifier, "" if kind is None else str(kind))
            )
        if skipped:
            self._note(
                f"collection {table.collection!r}: {skipped} documents without a string "
                f"{id_path!r} (ignored)",
                quality,
                dropped_reason=f"collection {table.collection!r}: documents without a string {id_path!r}",
                rows=skipped,
            )
        frame = pd.DataFrame(records, columns=list(fields), dtype=str)
        duplicated = frame[id_column][frame[id_column].duplicated()]
        if len(duplicated):
            raise DataValidationError(
                f"collection {table.collection!r}: {id_path} {duplicated.iloc[0]!r} appears more than "
                "once; ids must be unique (metrics-dashboard init-db creates a unique index)"
            )
        return frame.sort_values(id_column, kind="stable").reset_index(drop=True)

    def _codes_and_times(
        self, ids: pd.Series, rows: list[dict[str, Any]], collection: str, field: str
    ) -> tuple[np.ndarray, np.ndarray]:
        codes = pd.Index(ids).get_indexer([row["s"] for row in rows]).astype(np.int32)
        return codes, _nanoseconds([row["t"] for row in rows], collection, field)

    def _first_last(
        self, collection: str, extra_filter: dict[str, Any], field: str
    ) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        # Dates only: in MongoDB's order, text and missing timestamps sort before every date.
        dated = (
            {"$and": [{field: {"$type": "date"}}, extra_filter]}
            if extra_filter
            else {field: {"$type": "date"}}
        )

        def find(direction: int) -> dict[str, Any] | None:
            return self._db[collection].find_one(
                dated, {"_id": 0, field: 1}, sort=[(field, direction)]
            )

        bounds = []
        for direction in (ASCENDING, DESCENDING):
            document = with_retry(
                f"reading the time range of {collection}",
                self._where,
                functools.partial(find, direction),
            )
            if document is None:
                return None, None
            bounds.append(
                pd.Timestamp(_nanoseconds([_get(document, field)], collection, field)[0], tz="UTC")
            )
        return bounds[0], bounds[1]


def _get(document: dict[str, Any], path: str) -> Any:
    """A possibly dotted field of a document, ``None`` when absent."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _bound(timestamp: pd.Timestamp | None) -> datetime | None:
    """A window bound as an aware UTC datetime (a naive bound means UTC); None: unbounded."""
    stamp = as_utc(timestamp)
    return None if stamp is pd.NaT else stamp.to_pydatetime()


def _selected(ids: pd.Series, selection: list[str] | None) -> list[str]:
    """The selected ids that exist, without repeats: only known ids ever reach a query."""
    if selection is None:
        return list(ids)
    known = set(ids)
    return [identifier for identifier in dict.fromkeys(selection) if identifier in known]


def _column(rows: list[dict[str, Any]], key: str, dtype: type) -> np.ndarray:
    return np.fromiter((row[key] for row in rows), dtype=dtype, count=len(rows))


def _nanoseconds(values: list[Any], collection: str, field: str) -> np.ndarray:
    """BSON dates as int64 UTC nanoseconds; anything else is a clear error (a string timestamp
    would silently fall outside every time window)."""
    if not values:
        return np.empty(0, dtype=np.int64)
    if pd.api.types.infer_dtype(values, skipna=False) not in ("datetime", "datetime64"):
        example = next(value for value in values if not isinstance(value, datetime))
        raise DataValidationError(
            f"collection {collection!r}: field {field!r} holds {type(example).__name__} values such as "
            f"{example!r:.40}; store timestamps as BSON dates (UTC)"
        )
    return pd.to_datetime(values, utc=True).as_unit("ns").asi8


def _canonical(
    codes: np.ndarray,
    timestamps: np.ndarray,
    flags: np.ndarray,
    ids: pd.Series,
    id_column: str,
    flag_column: str,
    flag_dtype: type,
) -> pd.DataFrame:
    """The canonical frame; the database sorted already, but a collection's default collation
    may order ids differently from Python, so the order is checked (O(n)) and fixed if needed."""
    order = sorting_order(codes, timestamps)
    if order is not None:
        codes, timestamps, flags = codes[order], timestamps[order], flags[order]
    return events_frame(
        codes,
        timestamps,
        flags,
        ids,
        id_column=id_column,
        flag_column=flag_column,
        flag_dtype=flag_dtype,
    )
