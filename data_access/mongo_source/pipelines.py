"""The aggregation pipelines of the MongoDB source, built by pure functions so that they can be
checked stage by stage. Selection by id and time window and the per (service, timestamp) failure
counting run inside MongoDB (``$match`` on the indexed fields first, then ``$group``): only the
compact result crosses the network."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from data_access.mongo_source.mapping import BackupsMapping, MetricsMapping
from data_access.statuses import StatusWords

# Distinct unknown status words read back by name (the report keeps fewer; rows are all counted).
UNKNOWN_WORDS_READ = 1000


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


def window_condition(
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
                window_condition(start, end, end_operator="$lt"),
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
                window_condition(start, end, end_operator="$lte"),
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
