"""The MongoDB layout: collections, field names, filters and status words, from a mapping file
(``configs/mongodb_mapping.json`` by default), so that an existing database is read without code
changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from data_access.base import DataSourceError
from data_access.statuses import StatusRules, StatusWords

DEFAULT_MAPPING_FILE = (
    Path(__file__).resolve().parent.parent.parent / "configs" / "mongodb_mapping.json"
)


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


def table_fields(
    table: ServicesMapping | BackupTargetsMapping | MetricsMapping | BackupsMapping,
) -> dict[str, str]:
    """Canonical column name -> database field name, in the canonical column order."""
    return {
        column: field
        for column, field in table.model_dump().items()
        if column not in ("collection", "filter")
    }
