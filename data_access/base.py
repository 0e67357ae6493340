"""The one small interface every data source implements, and the errors it raises.

Pages, callbacks, the runner and the CLI only ever see this interface: whether the rows come from
CSV/Parquet files, the embedded demo data set or MongoDB is decided once, by
:func:`data_access.sources.open_source`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

SERVICE_COLUMNS = ("service_id", "display_name", "service_type")
TARGET_COLUMNS = ("target_id", "display_name", "target_type")
METRIC_COLUMNS = ("service_id", "timestamp", "failures")
BACKUP_COLUMNS = ("target_id", "timestamp", "succeeded")


class DataSourceError(Exception):
    """Base class: a user-facing problem with the data, with a message that says how to fix it."""


class DataValidationError(DataSourceError):
    """The data is malformed (missing file or column, unparseable timestamp, ...)."""


class DataSourceUnavailable(DataSourceError):
    """The source cannot be reached (MongoDB down, directory gone)."""


@dataclass(frozen=True)
class DataExtent:
    """First and last timestamps present, used to choose default analysis windows."""

    metrics_first: pd.Timestamp | None
    metrics_last: pd.Timestamp | None
    backups_first: pd.Timestamp | None
    backups_last: pd.Timestamp | None


@runtime_checkable
class DataSource(Protocol):
    """Read-only access to the four canonical tables (see docs/data-model.md).

    Time windows are half-open ``[start, end)`` in UTC; ``None`` means unbounded.
    """

    description: str

    def services(self) -> pd.DataFrame: ...

    def backup_targets(self) -> pd.DataFrame: ...

    def metrics(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        service_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame: ...

    def backups(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        target_ids: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Backup runs with ``start <= timestamp <= end`` (closed: a run at ``end`` counts), plus,
        per target, the latest successful run before ``start`` so that RPO can look back."""
        ...

    def extent(self) -> DataExtent: ...

    def ping(self) -> None:
        """Raise :class:`DataSourceUnavailable` when the source does not answer."""
        ...
