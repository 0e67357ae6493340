"""The MongoDB source: the operator's database, read through aggregation pipelines.

The layout (collection and field names, optional filters, status words) comes from a
:class:`MongoMapping`, by default ``configs/mongodb_mapping.json``, so that an existing database
is read without code changes. Selection by id and time window and the per (service, timestamp)
failure counting run inside MongoDB (``$match`` on the indexed fields first, then ``$group``):
only the compact result crosses the network, which is what lets a sharded cluster carry large
deployments. The pipelines are built by pure functions (:func:`metrics_pipeline`,
:func:`backups_pipeline`, :func:`last_success_pipeline`) so they can be checked on their own.

Ids that reach a query are validated as plain strings (never operators), and an unreachable
server fails in seconds with :class:`DataSourceUnavailable`: short server-selection timeout, two
attempts.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import (
    ConnectionFailure,
    InvalidName,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from analytics.report.quality import DataQuality
from analytics.utc import as_utc
from data_access.base import (
    DataExtent,
    DataSourceError,
    DataSourceUnavailable,
    DataValidationError,
    Progress,
    checked_ids,
)
from data_access.demo import DemoFrames
from data_access.files_source import events_frame, sorting_order
from data_access.statuses import StatusRules, StatusWords, unknown_status_message

logger = logging.getLogger(__name__)

DEFAULT_MAPPING_FILE = Path(__file__).resolve().parent.parent / "configs" / "mongodb_mapping.json"
ATTEMPTS = 2
INSERT_BATCH = 20_000
# Distinct unknown status words read back by name (the report keeps fewer; rows are all counted).
UNKNOWN_WORDS_READ = 1000
_T = TypeVar("_T")


def _field_name(name: str) -> str:
    if not name or name.startswith("$") or "\x00" in name:
        raise ValueError(f"{name!r} is not a field name (non-empty, not starting with '$')")
    return name


def _collection_name(name: str) -> str:
    if not name or "$" in name or "\x00" in name or name.startswith("system."):
        raise ValueError(f"{name!r} is not a collection name")
    return name


FieldName = Annotated[str, AfterValidator(_field_name)]
CollectionName = Annotated[str, AfterValidator(_collection_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServicesMapping(_Strict):
    """Where services live; ``filter`` is an extra query, e.g. ``{"kind": "service"}``."""

    collection: CollectionName = "assets"
    filter: dict[str, Any] = Field(default_factory=dict)
    service_id: FieldName = "service_id"
    display_name: FieldName = "display_name"
    service_type: FieldName = "service_type"


class BackupTargetsMapping(_Strict):
    collection: CollectionName = "backup_jobs"
    filter: dict[str, Any] = Field(default_factory=dict)
    target_id: FieldName = "target_id"
    display_name: FieldName = "display_name"
    target_type: FieldName = "target_type"


class MetricsMapping(_Strict):
    collection: CollectionName = "metrics"
    filter: dict[str, Any] = Field(default_factory=dict)
    service_id: FieldName = "service_id"
    timestamp: FieldName = "timestamp"
    status: FieldName = "status"


class BackupsMapping(_Strict):
    collection: CollectionName = "backups"
    filter: dict[str, Any] = Field(default_factory=dict)
    target_id: FieldName = "target_id"
    timestamp: FieldName = "timestamp"
    status: FieldName = "status"


class MongoMapping(_Strict):
    """The database layout. Every part is optional in the file; what is left out keeps the
    default. The status sets, when given, replace the configured ones for this database (its
    status words may differ from the defaults): ``failure_statuses`` and
    ``availability_success_statuses`` for health checks, ``success_statuses`` and
    ``resilience_failure_statuses`` for backup runs."""

    services: ServicesMapping = Field(default_factory=ServicesMapping)
    metrics: MetricsMapping = Field(default_factory=MetricsMapping)
    backup_targets: BackupTargetsMapping = Field(default_factory=BackupTargetsMapping)
    backups: BackupsMapping = Field(default_factory=BackupsMapping)
    failure_statuses: list[str] | None = None
    availability_success_statuses: list[str] | None = None
    success_statuses: list[str] | None = None
    resilience_failure_statuses: list[str] | None = None

    def status_rules(self, configured: StatusRules) -> StatusRules:
        """``configured`` with this database's status sets where the mapping gives them."""
        checks, backups = configured.checks, configured.backups
        try:
            return StatusRules(
                checks=StatusWords.of(
                    failure=self.failure_statuses or checks.failure,
                    success=self.availability_success_statuses or checks.success,
                    name="availability",
                ),
                backups=StatusWords.of(
                    failure=self.resilience_failure_statuses or backups.failure,
                    success=self.success_statuses or backups.success,
                    name="resilience",
                ),
                unknown_policy=configured.unknown_policy,
            )
        except ValueError as error:
            raise DataSourceError(f"MongoDB mapping: {error}") from None


def load_mapping(path: Path | None) -> MongoMapping:
    """Read a mapping file; ``None`` means ``configs/mongodb_mapping.json`` (or the built-in
    defaults when that file is absent)."""
    if path is None:
        if not DEFAULT_MAPPING_FILE.is_file():
            return MongoMapping()
        path = DEFAULT_MAPPING_FILE
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DataSourceError(f"MongoDB mapping file {path} not found") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DataSourceError(f"MongoDB mapping file {path} cannot be read: {error}") from error
    except json.JSONDecodeError as error:
        raise DataSourceError(
            f"MongoDB mapping file {path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    try:
        return MongoMapping.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or 'top level'}: {item['msg']}"
            for item in error.errors()[:3]
        )
        raise DataSourceError(f"MongoDB mapping file {path}: {problems}") from error


# -- pipelines (pure) -------------------------------------------------------------------------


def _normalised_status(field: str) -> dict[str, Any]:
    """The status as compared: missing -> "", lower case, surrounding whitespace removed."""
    return {"$trim": {"input": {"$toLower": {"$ifNull": [f"${field}", ""]}}}}


def _selection(
    extra_filter: dict[str, Any],
    id_field: str,
    ids: Sequence[str],
    timestamp_field: str,
    time_range: dict[str, Any],
) -> dict[str, Any]:
    """The first ``$match``: the indexed id and timestamp fields, then the mapping's filter."""
    match: dict[str, Any] = {id_field: {"$in": list(ids)}, timestamp_field: time_range}
    return {"$and": [match, extra_filter]} if extra_filter else match


def _time_range(
    start: datetime | None, end: datetime | None, *, end_operator: str
) -> dict[str, Any]:
    """The timestamp condition: BSON dates in the window (dates only, also without a window).

    MongoDB compares values of one type only, so a range of dates never matches a text, a
    number or a missing timestamp: those documents are counted apart
    (:func:`undated_pipeline`), never dropped silently.
    """
    bounds: dict[str, Any] = {}
    if start is not None:
        bounds["$gte"] = start
    if end is not None:
        bounds[end_operator] = end
    return bounds or {"$type": "date"}


def _unknown(status: str, known: Collection[str]) -> dict[str, Any]:
    """True for a (normalised) status that is neither blank nor one of ``known``.

    Written with ``$cond`` rather than ``$not``, which mongomock evaluates wrongly.
    """
    known_or_blank = {"$or": [{"$in": [status, sorted(known)]}, {"$eq": [status, ""]}]}
    return {"$cond": [known_or_blank, False, True]}


def metrics_pipeline(
    mapping: MetricsMapping,
    *,
    service_ids: Sequence[str],
    start: datetime | None,
    end: datetime | None,
    words: StatusWords,
) -> list[dict[str, Any]]:
    """One document per (service, timestamp) in ``[start, end)``: ``s``, ``t``, ``failures``
    (rows whose normalised status is a failure word), ``unknown`` (rows whose status is in
    neither set), ``blank`` (rows without a status), ``rows``; sorted by service then time."""
    return [
        {
            "$match": _selection(
                mapping.filter,
                mapping.service_id,
                service_ids,
                mapping.timestamp,
                _time_range(start, end, end_operator="$lt"),
            )
        },
        {
            "$project": {
                "_id": 0,
                "s": f"${mapping.service_id}",
                "t": f"${mapping.timestamp}",
                "status": _normalised_status(mapping.status),
            }
        },
        {
            "$group": {
                "_id": {"s": "$s", "t": "$t"},
                "failures": {
                    "$sum": {"$cond": [{"$in": ["$status", sorted(words.failure)]}, 1, 0]}
                },
                "unknown": {
                    "$sum": {"$cond": [_unknown("$status", words.failure | words.success), 1, 0]}
                },
                "blank": {"$sum": {"$cond": [{"$eq": ["$status", ""]}, 1, 0]}},
                "rows": {"$sum": 1},
            }
        },
        {"$sort": {"_id.s": 1, "_id.t": 1}},
        {
            "$project": {
                "_id": 0,
                "s": "$_id.s",
                "t": "$_id.t",
                "failures": 1,
                "unknown": 1,
                "blank": 1,
                "rows": 1,
            }
        },
    ]


def backups_pipeline(
    mapping: BackupsMapping,
    *,
    target_ids: Sequence[str],
    start: datetime | None,
    end: datetime | None,
    words: StatusWords,
) -> list[dict[str, Any]]:
    """One document per backup run in ``[start, end]`` (closed): ``s``, ``t``, ``succeeded``,
    ``unknown`` (a status in neither set), ``blank``; sorted by target then time (the index
    order)."""
    return [
        {
            "$match": _selection(
                mapping.filter,
                mapping.target_id,
                target_ids,
                mapping.timestamp,
                _time_range(start, end, end_operator="$lte"),
            )
        },
        {"$sort": {mapping.target_id: 1, mapping.timestamp: 1}},
        {
            "$project": {
                "_id": 0,
                "s": f"${mapping.target_id}",
                "t": f"${mapping.timestamp}",
                "status": _normalised_status(mapping.status),
            }
        },
        {
            "$project": {
                "s": 1,
                "t": 1,
                "succeeded": {"$in": ["$status", sorted(words.success)]},
                "unknown": _unknown("$status", words.failure | words.success),
                "blank": {"$eq": ["$status", ""]},
            }
        },
    ]


def last_success_pipeline(
    mapping: BackupsMapping,
    *,
    target_ids: Sequence[str],
    before: datetime,
    success_statuses: Collection[str],
) -> list[dict[str, Any]]:
    """Per target, the latest successful run strictly before ``before``: ``_id`` (target),
    ``t``."""
    return [
        {
            "$match": _selection(
                mapping.filter, mapping.target_id, target_ids, mapping.timestamp, {"$lt": before}
            )
        },
        {"$sort": {mapping.target_id: 1, mapping.timestamp: -1}},
        {
            "$project": {
                "_id": 0,
                "s": f"${mapping.target_id}",
                "t": f"${mapping.timestamp}",
                "status": _normalised_status(mapping.status),
            }
        },
        {"$match": {"status": {"$in": sorted(success_statuses)}}},
        {"$group": {"_id": "$s", "t": {"$first": "$t"}}},
    ]


def unknown_statuses_pipeline(
    mapping: MetricsMapping | BackupsMapping,
    id_field: str,
    *,
    ids: Sequence[str],
    time_range: dict[str, Any],
    words: StatusWords,
) -> list[dict[str, Any]]:
    """The status words in neither set, as written, with their document counts (most first):
    ``_id`` (the word), ``rows``. Run only when the main pipeline counted some."""
    return [
        {"$match": _selection(mapping.filter, id_field, ids, mapping.timestamp, time_range)},
        {
            "$project": {
                "_id": 0,
                "written": {"$ifNull": [f"${mapping.status}", ""]},
                "status": _normalised_status(mapping.status),
            }
        },
        {"$match": {"$expr": _unknown("$status", words.failure | words.success)}},
        {"$group": {"_id": "$written", "rows": {"$sum": 1}}},
        {"$sort": {"rows": -1, "_id": 1}},
        {"$limit": UNKNOWN_WORDS_READ},
    ]


def undated_pipeline(
    mapping: MetricsMapping | BackupsMapping, id_field: str, *, ids: Sequence[str]
) -> list[dict[str, Any]]:
    """Documents of ``ids`` whose timestamp is not a BSON date (text, a number, null or
    missing), at any time: ``rows`` and an ``example`` ``_id``; nothing when there are none.

    Each alternative is one type bracket of the (id, timestamp) index, so on a real server the
    count reads only the index entries of such documents, not every document of the ids.
    """
    field = mapping.timestamp
    undated = {"$or": [{field: {"$type": "string"}}, {field: {"$type": "number"}}, {field: None}]}
    match = {
        "$and": [
            {id_field: {"$in": list(ids)}},
            undated,
            *([mapping.filter] if mapping.filter else []),
        ]
    }
    return [
        {"$match": match},
        {"$group": {"_id": None, "rows": {"$sum": 1}, "example": {"$first": "$_id"}}},
    ]


# -- connection and errors ----------------------------------------------------------------------


def redacted(uri: str) -> str:
    """The scheme and hosts of a connection string, without credentials, path or options."""
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def connect(
    uri: str,
    database: str,
    *,
    server_selection_timeout_ms: int = 3000,
    socket_timeout_ms: int = 10_000,
) -> Database:
    """A database handle with short timeouts; nothing is contacted until the first query.

    A query that gets no answer within ``socketTimeoutMS`` fails (after the driver's one
    automatic retry of reads). Timeouts written in the connection string
    (``?socketTimeoutMS=...``) win over these defaults, so an operator whose aggregations
    legitimately take longer can say so there.
    """
    defaults = {
        "serverSelectionTimeoutMS": server_selection_timeout_ms,
        "connectTimeoutMS": server_selection_timeout_ms,
        "socketTimeoutMS": socket_timeout_ms,
    }
    in_uri = _uri_option_names(uri)
    options = {name: value for name, value in defaults.items() if name.lower() not in in_uri}
    try:
        client: MongoClient = MongoClient(
            uri, tz_aware=True, appname="metrics-dashboard", **options
        )
        return client[database]
    except (PyMongoError, InvalidName, ValueError, TypeError) as error:
        raise DataSourceError(
            f"cannot use MongoDB connection string {redacted(uri)} with database {database!r}: {error}"
        ) from error


def _uri_option_names(uri: str) -> set[str]:
    """The lower-cased names of the options in a connection string's query part."""
    query = uri.partition("?")[2]
    return {pair.partition("=")[0].strip().lower() for pair in query.split("&") if pair}


def with_retry(
    what: str, where: str, operation: Callable[[], _T], *, attempts: int = ATTEMPTS
) -> _T:
    """Run ``operation`` (which must consume its cursor), retrying once when the server does not
    answer; map driver errors to the source errors with a message that says what to check."""
    last_error: ConnectionFailure | None = None
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except ConnectionFailure as error:
            last_error = error
            if error.timeout and not isinstance(error, ServerSelectionTimeoutError):
                # The server took the query and did not answer in time: asking again would
                # double the wait for the same outcome.
                attempts = attempt
                break
            logger.warning(
                "MongoDB %s: %s failed (attempt %d of %d): %s",
                where,
                what,
                attempt,
                attempts,
                error,
            )
        except OperationFailure as error:
            message = (error.details or {}).get("errmsg") or str(error)
            raise DataSourceError(f"MongoDB {where} refused {what}: {message}") from error
        except PyMongoError as error:
            raise DataSourceError(f"MongoDB {where}: {what} failed: {error}") from error
    reason = str(last_error).split(" (configured timeouts")[0].split(", Timeout:")[0][:200]
    raise DataSourceUnavailable(
        f"MongoDB {where} did not answer while {what} ({attempts} attempt(s)): {reason}. Check that "
        "the server is running and reachable and that the connection string is right."
    ) from last_error


# -- the source ---------------------------------------------------------------------------------


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
            time_range = _time_range(_bound(start), _bound(end), end_operator="$lt")
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
            time_range = _time_range(_bound(start), _bound(end), end_operator="$lte")
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


def table_fields(
    table: ServicesMapping | BackupTargetsMapping | MetricsMapping | BackupsMapping,
) -> dict[str, str]:
    """Canonical column name -> database field name, in the canonical column order."""
    return {
        column: field
        for column, field in table.model_dump().items()
        if column not in ("collection", "filter")
    }


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


# -- init-db and demo-data --mongo ---------------------------------------------------------------


def create_indexes(db: Database, mapping: MongoMapping) -> list[str]:
    """Create the recommended indexes (idempotent) and return their names.

    - services / backup targets: unique id (partial: only documents whose id is a string, since
      the older tool's ``assets`` collection also holds assets that are not services);
    - metrics / backups: (id, timestamp), which serves every ``$match`` + window of the
      pipelines, and (timestamp), which serves ``extent()``.
    """
    services, targets = mapping.services, mapping.backup_targets
    metrics, backups = mapping.metrics, mapping.backups
    specifications: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
        (
            services.collection,
            [(services.service_id, ASCENDING)],
            {"unique": True, "partialFilterExpression": {services.service_id: {"$type": "string"}}},
        ),
        (
            targets.collection,
            [(targets.target_id, ASCENDING)],
            {"unique": True, "partialFilterExpression": {targets.target_id: {"$type": "string"}}},
        ),
        (metrics.collection, [(metrics.service_id, ASCENDING), (metrics.timestamp, ASCENDING)], {}),
        (metrics.collection, [(metrics.timestamp, ASCENDING)], {}),
        (backups.collection, [(backups.target_id, ASCENDING), (backups.timestamp, ASCENDING)], {}),
        (backups.collection, [(backups.timestamp, ASCENDING)], {}),
    ]
    return [
        with_retry(
            f"creating an index on {collection}",
            f"database {db.name!r}",
            functools.partial(db[collection].create_index, keys, **options),
        )
        for collection, keys, options in specifications
    ]


def load_frames_into_mongo(
    db: Database,
    mapping: MongoMapping,
    frames: DemoFrames,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Load the demo tables into ``db`` with bulk inserts; returns documents written per table.

    Idempotent by replacement per id: the documents of the demo's service and target ids are
    deleted, then inserted again, so a re-run never duplicates and never touches other ids'
    documents. Each document also gets the equality fields of the mapping's ``filter`` so that
    the source reads it back. Creates the indexes first (the unique ones guard the ids).
    """
    tables = {
        "services": (mapping.services, frames.services),
        "backup_targets": (mapping.backup_targets, frames.backup_targets),
        "metrics": (mapping.metrics, frames.metrics),
        "backups": (mapping.backups, frames.backups),
    }
    for table, _ in tables.values():
        _check_loadable(table.collection, table.filter, table_fields(table).values())
    create_indexes(db, mapping)
    where = f"database {db.name!r}"
    total = sum(len(frame) for _, frame in tables.values())
    done = 0
    for table, frame in tables.values():
        collection = db[table.collection]
        fields = table_fields(table)
        id_column = next(iter(fields))
        ids = sorted(frame[id_column].astype(str).unique())
        delete_filter = {**table.filter, fields[id_column]: {"$in": ids}}
        with_retry(
            f"clearing {table.collection}",
            where,
            functools.partial(collection.delete_many, delete_filter),
        )
        columns = [
            pd.DatetimeIndex(frame[column]).to_pydatetime()
            if column == "timestamp"
            else frame[column].astype(str).to_numpy()
            for column in fields
        ]
        for first in range(0, len(frame), INSERT_BATCH):
            batch = [
                {**table.filter, **dict(zip(fields.values(), values, strict=True))}
                for values in zip(
                    *(column[first : first + INSERT_BATCH] for column in columns), strict=True
                )
            ]
            # One attempt only: retrying a half-done insert could duplicate documents.
            with_retry(
                f"inserting into {table.collection}",
                where,
                functools.partial(collection.insert_many, batch, ordered=False),
                attempts=1,
            )
            done += len(batch)
            if progress:
                progress(f"loading {table.collection}", done / total)
    return {name: len(frame) for name, (_, frame) in tables.items()}


def _check_loadable(collection: str, extra_filter: dict[str, Any], fields: Collection[str]) -> None:
    """Loading writes documents the source must read back: plain equality filters and top-level
    field names only."""
    for key, value in extra_filter.items():
        if key.startswith("$") or isinstance(value, dict):
            raise DataSourceError(
                f"cannot load demo data into {collection!r}: the mapping's filter uses an operator "
                f'({key!r}); only plain equality filters like {{"kind": "service"}} can be written'
            )
    dotted = [field for field in fields if "." in field]
    if dotted:
        raise DataSourceError(
            f"cannot load demo data into {collection!r}: field {dotted[0]!r} is a nested path; "
            "loading needs top-level field names"
        )
