"""The one small interface every data source implements, and the errors it raises.

Pages, callbacks, the runner and the CLI only ever see this interface: whether the rows come from
CSV/Parquet files, the embedded demo data set or MongoDB is decided once, by
:func:`data_access.sources.open_source`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

from analytics.report.quality import DataQuality
from data_access.statuses import StatusRules

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
    statuses: StatusRules
    """The status words and the unknown-status policy the source reads with (a MongoDB
    mapping may set its own words)."""

    def services(self, *, quality: DataQuality | None = None) -> pd.DataFrame: ...

    def backup_targets(self, *, quality: DataQuality | None = None) -> pd.DataFrame: ...

    def metrics(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        service_ids: Sequence[str] | None = None,
        quality: DataQuality | None = None,
    ) -> pd.DataFrame:
        """Health checks with ``start <= timestamp < end``. What the call leaves out or cannot
        classify is counted in ``quality`` (one per analysis run), when given."""
        ...

    def backups(
        self,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        target_ids: Sequence[str] | None = None,
        quality: DataQuality | None = None,
    ) -> pd.DataFrame:
        """Backup runs with ``start <= timestamp <= end`` (closed: a run at ``end`` counts), plus,
        per target, the latest successful run before ``start`` so that RPO can look back."""
        ...

    def extent(self) -> DataExtent: ...

    def ping(self) -> None:
        """Raise :class:`DataSourceUnavailable` when the source does not answer."""
        ...


def checked_ids(ids: Sequence[str] | None, *, kind: str) -> list[str] | None:
    """Return ``ids`` as a list of plain strings, or ``None`` for "all".

    Ids arrive from the browser, config files and the command line and end up inside database
    queries; anything but a plain string (a dict, a list, a ``$``-prefixed operator name) could
    change the meaning of a query, so it is refused here, once, for every source.
    """
    if ids is None:
        return None
    if isinstance(ids, str | bytes | Mapping) or not isinstance(ids, Iterable):
        raise DataValidationError(
            f"{kind} ids must be a list of strings, got {type(ids).__name__} {ids!r:.60}"
        )
    checked: list[str] = []
    for value in ids:
        if not isinstance(value, str):
            raise DataValidationError(
                f"{kind} ids must be plain strings, got {type(value).__name__} {value!r:.60}"
            )
        if value.startswith("$"):
            raise DataValidationError(
                f"{kind} id {value!r:.60} starts with '$', which is reserved for query operators"
            )
        checked.append(str(value))  # plain str, also for numpy.str_ and other subclasses
    return checked


Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: long operations report what they are doing, 0.0 to 1.0."""
