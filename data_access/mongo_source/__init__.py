"""The MongoDB source, by purpose:

- :mod:`~data_access.mongo_source.mapping`: the layout (:class:`MongoMapping`, :func:`load_mapping`);
- :mod:`~data_access.mongo_source.pipelines`: the aggregation pipelines (pure);
- :mod:`~data_access.mongo_source.connection`: :func:`connect`, :func:`with_retry`, :func:`redacted`;
- :mod:`~data_access.mongo_source.source`: :class:`MongoSource`;
- :mod:`~data_access.mongo_source.loading`: :func:`create_indexes`, :func:`load_frames_into_mongo`.

See docs/data-model.md for the layout, the pipelines and the failure behaviour.
"""

from data_access.mongo_source.connection import ATTEMPTS, connect, redacted, with_retry
from data_access.mongo_source.loading import INSERT_BATCH, create_indexes, load_frames_into_mongo
from data_access.mongo_source.mapping import (
    DEFAULT_MAPPING_FILE,
    BackupsMapping,
    BackupTargetsMapping,
    MetricsMapping,
    MongoMapping,
    ServicesMapping,
    load_mapping,
    table_fields,
)
from data_access.mongo_source.pipelines import (
    backups_pipeline,
    last_success_pipeline,
    metrics_pipeline,
    undated_pipeline,
    unknown_statuses_pipeline,
)
from data_access.mongo_source.source import MongoSource

__all__ = [
    "ATTEMPTS",
    "DEFAULT_MAPPING_FILE",
    "INSERT_BATCH",
    "BackupTargetsMapping",
    "BackupsMapping",
    "MetricsMapping",
    "MongoMapping",
    "MongoSource",
    "ServicesMapping",
    "backups_pipeline",
    "connect",
    "create_indexes",
    "last_success_pipeline",
    "load_frames_into_mongo",
    "load_mapping",
    "metrics_pipeline",
    "redacted",
    "table_fields",
    "undated_pipeline",
    "unknown_statuses_pipeline",
    "with_retry",
]
