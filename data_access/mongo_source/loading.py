"""``metrics-dashboard init-db`` and ``demo-data --mongo``: the recommended indexes, and the raw
tables loaded with bulk inserts."""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

import pandas as pd
from pymongo import ASCENDING
from pymongo.database import Database

from data_access.base import DataSourceError, Progress
from data_access.frames import RawTables
from data_access.mongo_source.connection import with_retry
from data_access.mongo_source.mapping import MongoMapping, table_fields

INSERT_BATCH = 20_000


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
    frames: RawTables,
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
