"""One analysis run, end to end: load data, score, build the report, write it atomically.

The command line and the web app's background jobs both call :func:`run_analysis`, so a report
written from either is the same. Nothing here imports Dash: the headless path stays light.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from analytics.availability import score_availability
from analytics.classify import AvailabilityThresholds, ResilienceThresholds
from analytics.config import (
    AnalysisDefaults,
    AvailabilityConfig,
    ResilienceConfig,
    default_availability_window,
    default_resilience_window,
    resolve_availability,
    resolve_resilience,
)
from analytics.report import (
    Classification,
    DataQuality,
    build_availability_report,
    build_resilience_report,
    load_report,
    summary_csv,
    timeline_csv,
)
from analytics.resilience import score_resilience
from data_access.base import DataSource, DataValidationError
from data_access.config_store import load_defaults
from data_access.report_store import ReportStore, companion_path
from data_access.sources import open_source
from data_access.statuses import StatusRules, StatusWords
from metrics_dashboard.settings import Settings

AnalysisKind = Literal["availability", "resilience"]
ProgressCallback = Callable[[str, float], None]

STAGE_LOADING = "loading data"
STAGE_SCORING = "scoring"
STAGE_WRITING = "writing report"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run produced."""

    kind: AnalysisKind
    report_name: str
    report_path: Path
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    aggregated_score: float
    rows_scored: int
    seconds: float
    data_quality: dict[str, Any]  # the report's data_quality section
    extra_paths: tuple[Path, ...] = ()  # the CSV exports written with the report


def _no_progress(_stage: str, _fraction: float) -> None:
    return None


@cache
def _defaults_for(config_dir: Path) -> AnalysisDefaults:
    return load_defaults(config_dir)


def analysis_defaults(settings: Settings) -> AnalysisDefaults:
    """The defaults in ``settings.config_dir``, read once per process."""
    return _defaults_for(settings.config_dir)


def status_rules(settings: Settings) -> StatusRules:
    """The status words of ``configs/defaults.json`` and the ``UNKNOWN_STATUS_POLICY``."""
    defaults = analysis_defaults(settings)
    availability, resilience = defaults.availability, defaults.resilience
    return StatusRules(
        checks=StatusWords.of(
            failure=availability.failure_statuses,
            success=availability.success_statuses,
            name="availability",
        ),
        backups=StatusWords.of(
            failure=resilience.failure_statuses,
            success=resilience.success_statuses,
            name="resilience",
        ),
        unknown_policy=settings.unknown_status_policy,
    )


def data_source_for(settings: Settings, spec: str | None = None) -> DataSource:
    """The data source named by ``spec`` (default: the configured one)."""
    return open_source(
        spec or settings.data_source,
        cache_dir=settings.cache_dir,
        mongodb_database=settings.mongodb_database_name,
        statuses=status_rules(settings),
        mapping_path=settings.config_dir / "mongodb_mapping.json",
    )


def run_analysis(
    config: AvailabilityConfig | ResilienceConfig,
    *,
    settings: Settings,
    source: DataSource | None = None,
    output_dir: Path | None = None,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    csv: bool = False,
) -> RunOutcome:
    """Run one analysis and write its JSON report (and, with ``csv``, its summary and timeline
    CSV exports beside it, all or none); return where it went.

    Raises ``ConfigError`` for an invalid configuration, ``DataSourceError`` subclasses for data
    problems and ``ReportStoreError`` when the report cannot be written; whatever ``progress``
    raises (a time limit, say) stops the run too. No file is left behind on any failure.
    """
    report = progress or _no_progress
    started = time.perf_counter()
    defaults = analysis_defaults(settings)
    store = ReportStore(output_dir or settings.output_dir)
    analysis_timestamp = now or datetime.now(UTC)

    report(STAGE_LOADING, 0.0)
    source = source or data_source_for(settings)
    quality = DataQuality()  # this run's findings only: sources are shared between runs
    rules = source.statuses
    if isinstance(config, AvailabilityConfig):
        services = source.services(quality=quality)
        params = resolve_availability(
            config, services, defaults, default_error_budget=settings.default_error_budget
        )
        start, end = _availability_window(config, source)
        metrics = source.metrics(
            start=start, end=end, service_ids=list(params.index), quality=quality
        )
        report(STAGE_SCORING, 0.4)
        thresholds = AvailabilityThresholds.from_mapping(
            defaults.availability.status_thresholds.model_dump()
        )
        result = score_availability(metrics, params, start=start, end=end, thresholds=thresholds)
        report(STAGE_WRITING, 0.7)
        payload = build_availability_report(
            result,
            params=params,
            start=start,
            end=end,
            analysis_timestamp=analysis_timestamp,
            classification=_classification(thresholds, rules.checks, rules),
            data_quality=quality,
            timeline_point_limit=defaults.reports.timeline_point_limit,
        )
        rows = len(metrics)
    else:
        targets = source.backup_targets(quality=quality)
        params = resolve_resilience(config, targets, defaults)
        start = _resilience_start(config, source)
        end = start + pd.Timedelta(hours=config.hours)
        backups = source.backups(
            start=start, end=end, target_ids=list(params.index), quality=quality
        )
        report(STAGE_SCORING, 0.4)
        thresholds = ResilienceThresholds.from_mapping(
            defaults.resilience.status_thresholds.model_dump()
        )
        result = score_resilience(
            backups,
            params,
            start=start,
            hours=config.hours,
            w_rpo=config.weights.rpo,
            w_success=config.weights.success,
            thresholds=thresholds,
        )
        report(STAGE_WRITING, 0.7)
        payload = build_resilience_report(
            result,
            params=params,
            start=start,
            hours=config.hours,
            weights=config.weights.model_dump(),
            analysis_timestamp=analysis_timestamp,
            classification=_classification(thresholds, rules.backups, rules),
            data_quality=quality,
            timeline_point_limit=defaults.reports.timeline_point_limit,
        )
        rows = len(backups)
    companions = _csv_exports(payload) if csv else {}
    path = store.write(
        config.analysis_type, payload, when=analysis_timestamp, companions=companions
    )
    report(STAGE_WRITING, 1.0)
    seconds = time.perf_counter() - started
    log.info(
        "analysis done kind=%s report=%s rows=%d seconds=%.3f data_quality_problems=%d",
        config.analysis_type,
        path.name,
        rows,
        seconds,
        quality.problem_rows,
    )
    for message in quality.warnings:
        log.warning("report %s: %s", path.name, message)
    return RunOutcome(
        kind=config.analysis_type,
        report_name=path.name,
        report_path=path,
        window_start=start,
        window_end=end,
        aggregated_score=result.aggregated_score,
        rows_scored=rows,
        seconds=seconds,
        data_quality=quality.section(),
        extra_paths=tuple(companion_path(path, suffix) for suffix in companions),
    )


def _classification(
    thresholds: AvailabilityThresholds | ResilienceThresholds,
    words: StatusWords,
    rules: StatusRules,
) -> Classification:
    """What the report records of how it was classified (the source's effective words)."""
    return Classification(
        thresholds=thresholds,
        failure_statuses=words.failure,
        success_statuses=words.success,
        unknown_status_policy=rules.unknown_policy,
    )


def _csv_exports(payload: bytes) -> dict[str, bytes]:
    """The CSV exports of a report, by the suffix that names them after it."""
    loaded = load_report(payload)
    return {"_summary.csv": summary_csv(loaded), "_timeline.csv": timeline_csv(loaded)}


def _availability_window(
    config: AvailabilityConfig, source: DataSource
) -> tuple[pd.Timestamp, pd.Timestamp]:
    if config.start is not None and config.end is not None:
        return pd.Timestamp(config.start).tz_convert("UTC"), pd.Timestamp(config.end).tz_convert(
            "UTC"
        )
    last = source.extent().metrics_last
    if last is None:
        raise DataValidationError("the data source holds no metrics: there is nothing to analyse")
    return default_availability_window(last)


def _resilience_start(config: ResilienceConfig, source: DataSource) -> pd.Timestamp:
    if config.start is not None:
        return pd.Timestamp(config.start).tz_convert("UTC")
    last = source.extent().backups_last
    if last is None:
        raise DataValidationError("the data source holds no backups: there is nothing to analyse")
    return default_resilience_window(last, hours=config.hours)
