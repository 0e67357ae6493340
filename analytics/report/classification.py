"""The classification section of a report: how its scores were turned into statuses.

A report records the status thresholds and status word sets it was classified with, so that
after a configuration change an old report's gauge bands still match its stored statuses.
Reports written before schema version 2 did not record them: :func:`report_thresholds` then
gives the built-in defaults (those of the shipped ``configs/defaults.json``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from analytics.classify import (
    DEFAULT_AVAILABILITY_THRESHOLDS,
    DEFAULT_RESILIENCE_THRESHOLDS,
    AvailabilityThresholds,
    ResilienceThresholds,
)

UnknownStatusPolicy = Literal["failure", "unknown", "error"]
UNKNOWN_STATUS_POLICIES: tuple[UnknownStatusPolicy, ...] = get_args(UnknownStatusPolicy)
DEFAULT_UNKNOWN_STATUS_POLICY: UnknownStatusPolicy = "unknown"


@dataclass(frozen=True)
class Classification:
    """What a report's statuses were computed with.

    ``failure_statuses`` and ``success_statuses`` are the status words of the module's data
    (health checks for availability, backup runs for resilience), as compared: lower case,
    trimmed. ``unknown_status_policy`` says what happened to rows with any other word:
    counted as failures, left out of the scores (``unknown``), or stopped the run (``error``).
    """

    thresholds: AvailabilityThresholds | ResilienceThresholds
    failure_statuses: Collection[str]
    success_statuses: Collection[str]
    unknown_status_policy: UnknownStatusPolicy = DEFAULT_UNKNOWN_STATUS_POLICY

    def section(self) -> dict[str, Any]:
        """The report's ``classification`` object (see docs/report-format.md)."""
        return {
            "status_thresholds": asdict(self.thresholds),
            "failure_statuses": sorted(self.failure_statuses),
            "success_statuses": sorted(self.success_statuses),
            "unknown_status_policy": self.unknown_status_policy,
        }


def report_thresholds(report: Mapping[str, Any]) -> AvailabilityThresholds | ResilienceThresholds:
    """The status thresholds a loaded report was classified with: those it records, else (a
    report written before schema version 2) the built-in defaults of its kind."""
    availability = report.get("analysis_type", "availability") == "availability"
    recorded = (report.get("classification") or {}).get("status_thresholds")
    if availability:
        return (
            AvailabilityThresholds.from_mapping(recorded)
            if recorded
            else DEFAULT_AVAILABILITY_THRESHOLDS
        )
    return (
        ResilienceThresholds.from_mapping(recorded) if recorded else DEFAULT_RESILIENCE_THRESHOLDS
    )
