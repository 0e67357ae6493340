"""What a dashboard shows of one report, computed without Dash: numpy in, plain data out.

A report reaches the dashboards as data (the JSON dict, never a file). :func:`report_arrays`
turns it into :class:`ReportArrays`, columns of its items and of their points; everything else
here works on those arrays, so that a columnar companion of the report (see the scale issue) can
feed :func:`dashboard_model` directly, without the JSON dict.

Timeline playback: the server computes, once per report, what every gauge, count and the
aggregated score show at each frame instant (:class:`PlaybackFrames`); the browser replays it
(assets/playback.js). Frames are up to :data:`MAX_FRAMES` evenly spaced instants of the
aggregated timeline, the last one always included. An item (service or backup target) shows, at
a frame, its latest point at or before the frame instant; before its first point it shows
:data:`PENDING` ("no data yet"), never a healthy default; an item without any point in the window
shows its final status (NO_DATA) throughout. The last frame shows the report's final values
exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.config import ConfigError
from analytics.report import report_data_quality

Kind = Literal["availability", "resilience"]

MAX_FRAMES = 500
PENDING = "PENDING"
NO_DATA = "NO_DATA"
PENDING_TEXT = "no data yet"
THEMES = ("light", "dark")


@dataclass(frozen=True)
class ReportShape:
    """Where one kind of report keeps its items, their points and their statuses."""

    kind: Kind
    items_key: str  # "services" | "targets"
    points_key: str  # "detailed_metrics" | "timeline"
    point_status_key: str  # "status_type" | "status"
    statuses: tuple[str, ...]  # the counted statuses, in display order
    item_noun: str  # what one item is called, short: "service" | "target"
    item_name: str  # ... and in full: "service" | "backup target"
    count_key: str | None = None  # a per-point count replayed on the cards ...
    final_count_key: str | None = None  # ... and its final value per item

    @property
    def status_order(self) -> tuple[str, ...]:
        """Status codes of the playback: no data yet first, then the report's statuses."""
        return (PENDING, *self.statuses)


AVAILABILITY = ReportShape(
    kind="availability",
    items_key="services",
    points_key="detailed_metrics",
    point_status_key="status_type",
    statuses=("GOOD", "ATTENZIONE", "CRITICAL", NO_DATA),
    item_noun="service",
    item_name="service",
    count_key="cumulative_failures",
    final_count_key="total_failures",
)
RESILIENCE = ReportShape(
    kind="resilience",
    items_key="targets",
    points_key="timeline",
    point_status_key="status",
    statuses=("EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE"),
    item_noun="target",
    item_name="backup target",
)
SHAPES: dict[str, ReportShape] = {shape.kind: shape for shape in (AVAILABILITY, RESILIENCE)}


@dataclass(frozen=True)
class ReportArrays:
    """A report as columns. Items (N, in report order): ``ids``, ``names``, ``types``,
    ``final_statuses`` (str arrays), ``final_percents`` (NaN: none), ``final_counts`` (int64 or
    None), ``weights``. Their points, flat and in (item, time) order: item ``i`` owns
    ``point_*[point_offsets[i]:point_offsets[i + 1]]``; ``point_times`` datetime64[ns] (UTC),
    ``point_scores`` fractions, ``point_statuses`` str, ``point_counts`` int64 or None. The
    aggregated timeline: ``aggregated_times``, ``aggregated_scores`` (fractions), and
    ``final_aggregated_percent`` (NaN: none)."""

    ids: np.ndarray
    names: np.ndarray
    types: np.ndarray
    final_statuses: np.ndarray
    final_percents: np.ndarray
    final_counts: np.ndarray | None
    weights: np.ndarray
    point_offsets: np.ndarray
    point_times: np.ndarray
    point_scores: np.ndarray
    point_statuses: np.ndarray
    point_counts: np.ndarray | None
    aggregated_times: np.ndarray
    aggregated_scores: np.ndarray
    final_aggregated_percent: float

    @property
    def item_count(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class PlaybackFrames:
    """What is shown at each frame: ``instants`` (F,) datetime64[ns]; ``aggregated`` (F,)
    fractions (NaN: nothing to aggregate); ``scores`` (F, N) fractions (NaN: no data yet or no
    data); ``codes`` (F, N) indexes into ``status_order``; ``counts`` (F, N) or None."""

    instants: np.ndarray
    aggregated: np.ndarray
    scores: np.ndarray
    codes: np.ndarray
    counts: np.ndarray | None
    status_order: tuple[str, ...]


@dataclass(frozen=True)
class DashboardModel:
    """One report as a dashboard shows it: its items, their frames and the counts per frame."""

    shape: ReportShape
    arrays: ReportArrays
    frames: PlaybackFrames
    tally: np.ndarray  # (F, len(shape.statuses)) items per counted status at each frame
    labels: list[str]  # the frame instants as the user reads them

    @property
    def ids(self) -> list[str]:
        return self.arrays.ids.tolist()


# --------------------------------------------------------------------------- from the report


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def utc_ns(values: Sequence[str]) -> np.ndarray:
    """ISO timestamps (naive ones are UTC) as naive datetime64[ns] in UTC."""
    if not len(values):
        return np.empty(0, dtype="datetime64[ns]")
    index = pd.to_datetime(list(values), utc=True, format="ISO8601").as_unit("ns")
    return index.tz_localize(None).to_numpy()


def report_entries(report: Mapping[str, Any], shape: ReportShape) -> list[dict]:
    """The report's item entries, in report order."""
    return list((report.get(shape.items_key) or {}).values())


def report_arrays(report: Mapping[str, Any], shape: ReportShape) -> ReportArrays:
    """A (validated) report dict as :class:`ReportArrays`."""
    items: Mapping[str, dict] = report.get(shape.items_key) or {}
    ids = [str(item_id) for item_id in items]
    entries = list(items.values())
    points = [entry.get(shape.points_key) or [] for entry in entries]
    sizes = np.array([len(item_points) for item_points in points], dtype=np.int64)
    flat = [point for item_points in points for point in item_points]
    owner = np.repeat(np.arange(len(entries)), sizes)
    times = utc_ns([point["timestamp"] for point in flat])
    # Reports list points in time order; sorting (stable) within each item is a cheap safeguard.
    order = np.lexsort((times, owner))
    count_key = shape.count_key
    aggregated = report.get("aggregated_timeline") or []
    summary = report.get("summary") or {}
    return ReportArrays(
        ids=np.array(ids, dtype=object),
        names=np.array(
            [
                str(entry.get("display_name") or key)
                for key, entry in zip(ids, entries, strict=True)
            ],
            dtype=object,
        ),
        types=np.array(
            [
                str(entry.get("service_type") or entry.get("target_type") or "unknown")
                for entry in entries
            ],
            dtype=object,
        ),
        final_statuses=np.array(
            [_status_label(entry.get("final_status")) for entry in entries], dtype=object
        ),
        final_percents=np.array([_number(entry.get("final_score")) for entry in entries]),
        final_counts=(
            np.array([int(entry.get(shape.final_count_key) or 0) for entry in entries])
            if shape.final_count_key
            else None
        ),
        weights=np.array([_number(entry.get("weight", 1)) for entry in entries]),
        point_offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        point_times=times[order],
        point_scores=np.array([_number(point.get("score")) for point in flat], dtype=float)[order],
        point_statuses=np.array(
            [str(point.get(shape.point_status_key)) for point in flat], dtype=object
        )[order],
        point_counts=(
            np.array([int(point.get(count_key) or 0) for point in flat], dtype=np.int64)[order]
            if count_key
            else None
        ),
        aggregated_times=utc_ns([point["timestamp"] for point in aggregated]),
        aggregated_scores=np.array([_number(point["score"]) for point in aggregated]),
        final_aggregated_percent=_number(summary.get("aggregated_score")),
    )


def _status_label(status: object) -> str:
    return NO_DATA if status is None else str(status)


def point_series(entry: Mapping[str, Any], points_key: str, field: str) -> np.ndarray:
    """One numeric field of an item's points (None as NaN), for its drill-down."""
    return np.array([_number(point.get(field)) for point in entry.get(points_key) or []])


def point_times(entry: Mapping[str, Any], points_key: str) -> np.ndarray:
    return utc_ns([point["timestamp"] for point in entry.get(points_key) or []])


# --------------------------------------------------------------------------- frames


def frame_indices(point_count: int, *, limit: int = MAX_FRAMES) -> np.ndarray:
    """Up to ``limit`` evenly spaced indexes into ``point_count`` points, first and last
    included."""
    if point_count <= 0:
        return np.empty(0, dtype=np.int64)
    chosen = np.linspace(0, point_count - 1, num=min(point_count, limit))
    return np.unique(np.rint(chosen).astype(np.int64))


def status_codes(statuses: np.ndarray, status_order: Sequence[str]) -> np.ndarray:
    """Indexes into ``status_order`` (int16); ``ValueError`` names an unknown status."""
    code_of = {name: code for code, name in enumerate(status_order)}
    names, inverse = np.unique(np.asarray(statuses, dtype=str), return_inverse=True)
    unknown = [str(name) for name in names if name not in code_of]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r} in the report")
    lookup = np.array([code_of[name] for name in names], dtype=np.int16)
    return lookup[inverse.reshape(-1)]


def build_frames(
    arrays: ReportArrays, *, status_order: Sequence[str], max_frames: int = MAX_FRAMES
) -> PlaybackFrames:
    """The frames of a report (see the module docstring), vectorised over items and points.

    When the report has no aggregated timeline (the older tool's files), the frame instants are
    the items' point instants and the aggregated score is recomputed per frame as the weighted
    mean over items with data, counting 1.0 before an item's first point.
    """
    order = tuple(status_order)
    if PENDING not in order:
        raise ValueError(f"status_order must include {PENDING}")
    aggregated_times = np.asarray(arrays.aggregated_times, dtype="datetime64[ns]")
    recompute_aggregate = len(aggregated_times) == 0
    if recompute_aggregate:
        aggregated_times = np.unique(np.asarray(arrays.point_times, dtype="datetime64[ns]"))
    chosen = frame_indices(len(aggregated_times), limit=max_frames)
    instants = aggregated_times[chosen]
    frame_count, item_count = len(instants), arrays.item_count
    offsets = np.asarray(arrays.point_offsets, dtype=np.int64)
    sizes = np.diff(offsets)

    # shown[f, i]: the index of the point item i shows at frame f (-1: none yet). A point is
    # shown from the first frame at or after its instant; of the points that reach the same
    # frame the item's last one wins, and later frames keep it until a newer point arrives.
    shown = np.full((frame_count + 1, item_count), -1, dtype=np.int64)
    owner = np.repeat(np.arange(item_count), sizes)
    first_frame = np.searchsorted(instants, arrays.point_times, side="left")
    key = owner * (frame_count + 1) + first_frame
    last_of_key = np.flatnonzero(np.append(key[1:] != key[:-1], True)) if len(key) else key
    shown[first_frame[last_of_key], owner[last_of_key]] = last_of_key
    shown = np.maximum.accumulate(shown[:frame_count], axis=0)  # point indexes grow with time
    started = shown >= 0
    at = np.where(started, shown, 0)

    point_codes = status_codes(arrays.point_statuses, order)
    scores = np.full((frame_count, item_count), np.nan)
    codes = np.full((frame_count, item_count), order.index(PENDING), dtype=np.int16)
    if len(arrays.point_times):
        scores = np.where(started, np.asarray(arrays.point_scores, dtype=float)[at], np.nan)
        codes = np.where(started, point_codes[at], codes).astype(np.int16)
    final_codes = status_codes(arrays.final_statuses, order) if frame_count else None
    if final_codes is not None:
        # No point in the window: the final status (NO_DATA) at every frame, not "no data yet".
        codes[:, sizes == 0] = final_codes[sizes == 0]
    counts = None
    if arrays.final_counts is not None:
        counts = np.zeros((frame_count, item_count), dtype=np.int64)
        if arrays.point_counts is not None and len(arrays.point_counts):
            counts = np.where(started, np.asarray(arrays.point_counts)[at], 0)

    if recompute_aggregate:
        aggregated = _weighted_aggregate(scores, sizes > 0, arrays.weights)
    else:
        aggregated = np.asarray(arrays.aggregated_scores, dtype=float)[chosen]
    if frame_count:
        # The last frame is the report's final state, exactly as its summary states it.
        scores[-1] = np.asarray(arrays.final_percents, dtype=float) / 100
        codes[-1] = final_codes
        if counts is not None:
            counts[-1] = arrays.final_counts
        aggregated = aggregated.copy()
        aggregated[-1] = arrays.final_aggregated_percent / 100
    return PlaybackFrames(instants, aggregated, scores, codes, counts, order)


def _weighted_aggregate(
    scores: np.ndarray, has_data: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    item_weights = np.where(has_data, np.asarray(weights, dtype=float), 0.0)
    total = item_weights.sum()
    if total == 0:
        return np.full(scores.shape[0], np.nan)
    return np.where(np.isnan(scores), 1.0, scores) @ item_weights / total


def status_tally(frames: PlaybackFrames, buckets: Sequence[str]) -> np.ndarray:
    """(F, len(buckets)) counts of items per status at each frame. Items with no data yet
    count as ``NO_DATA`` when that is a bucket (gaps never read as healthy)."""
    tally = np.zeros((len(frames.instants), len(buckets)), dtype=np.int64)
    for column, bucket in enumerate(buckets):
        members = [frames.status_order.index(bucket)] if bucket in frames.status_order else []
        if bucket == NO_DATA:
            members.append(frames.status_order.index(PENDING))
        tally[:, column] = np.isin(frames.codes, members).sum(axis=1)
    return tally


def instant_labels(instants: np.ndarray) -> list[str]:
    """UTC labels of the frame instants; seconds only when some instant has them."""
    index = pd.DatetimeIndex(instants)
    pattern = "%Y-%m-%d %H:%M:%S UTC" if (index.second != 0).any() else "%Y-%m-%d %H:%M UTC"
    return list(index.strftime(pattern))


def dashboard_model(
    arrays: ReportArrays, shape: ReportShape, *, max_frames: int = MAX_FRAMES
) -> DashboardModel:
    """Frames, counts per frame and frame labels of a report's arrays."""
    frames = build_frames(arrays, status_order=shape.status_order, max_frames=max_frames)
    return DashboardModel(
        shape=shape,
        arrays=arrays,
        frames=frames,
        tally=status_tally(frames, shape.statuses),
        labels=instant_labels(frames.instants),
    )


# --------------------------------------------------------------------------- what the page reads


def percent_values(fractions: np.ndarray) -> list:
    """Fractions as percentages with one decimal, NaN as None: compact JSON, and the browser's
    ``toFixed(1)`` then writes exactly what the server's one-decimal text writes."""
    rounded = np.round(np.asarray(fractions, dtype=float) * 100, 1)
    values = rounded.astype(object)
    values[np.isnan(rounded)] = None
    return values.tolist()


def one_decimal(value_percent: float | None) -> float | None:
    """A percentage rounded by Python's formatting, as the server writes it (None for none)."""
    if value_percent is None or np.isnan(value_percent):
        return None
    return float(f"{value_percent:.1f}")


def playback_data(model: DashboardModel) -> dict[str, Any]:
    """The data the browser replays (assets/playback.js), as plain JSON: one row per frame of
    the aggregated value, the items' scores and status codes (and counts), the counts per
    status, and the items. How it looks (texts, colours) is added by the page."""
    frames, arrays = model.frames, model.arrays
    aggregated = percent_values(frames.aggregated)
    scores = [percent_values(row) for row in frames.scores]
    if scores:
        # The final values are rounded from the report's percentages by Python's formatting,
        # exactly like the numbers the server writes, so that both always agree.
        aggregated[-1] = one_decimal(arrays.final_aggregated_percent)
        scores[-1] = [one_decimal(value) for value in arrays.final_percents.tolist()]
    data = {
        "labels": model.labels,
        "aggregated": aggregated,
        "scores": scores,
        "codes": frames.codes.tolist(),
        "statusNames": list(frames.status_order),
        "buckets": list(model.shape.statuses),
        "tally": model.tally.tolist(),
        "ids": arrays.ids.tolist(),
        "names": arrays.names.tolist(),
        "types": arrays.types.tolist(),
        "finalStatuses": arrays.final_statuses.tolist(),
    }
    if frames.counts is not None:
        data["counts"] = frames.counts.tolist()
    return data


def final_counts(model: DashboardModel) -> list[int]:
    """Items per counted status at the last frame: what the report's summary says."""
    return model.tally[-1].tolist() if len(model.tally) else [0] * len(model.shape.statuses)


def visible_items(
    model: DashboardModel, types: Sequence[str] | None, statuses: Sequence[str] | None
) -> list[int]:
    """Indexes of the items the filters keep (no selection keeps everything), as the browser
    filters the cards (assets/playback.js ``filter``)."""
    keep = np.ones(model.arrays.item_count, dtype=bool)
    if types:
        keep &= np.isin(model.arrays.types, list(types))
    if statuses:
        keep &= np.isin(model.arrays.final_statuses, list(statuses))
    return np.flatnonzero(keep).tolist()


def worst_item(model: DashboardModel) -> str | None:
    """The item with the lowest final score (the first one with data when they tie)."""
    ids = model.ids
    scores = model.frames.scores[-1] if len(model.frames.instants) else np.array([])
    if not len(scores) or np.isnan(scores).all():
        return ids[0] if ids else None
    return ids[int(np.nanargmin(scores))]


# --------------------------------------------------------------------------- checked inputs


class UnknownValue(ValueError):
    """A value the browser sent that this report does not have (a forged request)."""


def checked_theme(theme: object) -> str:
    """The theme a callback was sent: ``light`` (also for None) or ``dark``."""
    if theme is None:
        return "light"
    if theme not in THEMES:
        raise UnknownValue(f"unknown theme {str(theme)[:40]!r}")
    return str(theme)


def checked_choices(values: object, allowed: Sequence[str]) -> tuple[str, ...]:
    """Filter values as a sorted tuple, each one of ``allowed`` (None: no filter)."""
    if values is None:
        return ()
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise UnknownValue("a filter must be a list of names")
    unknown = set(values) - set(allowed)
    if unknown:
        raise UnknownValue(f"unknown filter value {sorted(unknown)[0][:40]!r}")
    return tuple(sorted(set(values)))


# --------------------------------------------------------------------------- the report's facts


def gauge_bands(kind: str, thresholds: Mapping[str, float]) -> list[tuple[float, float, str]]:
    """The status ranges ``(from, to, status)`` of the aggregated gauge, in percent, from
    status thresholds keyed as in configs/defaults.json."""
    if kind == "availability":
        critical, good = thresholds["critical_below"] * 100, thresholds["good_above"] * 100
        return [(0, critical, "CRITICAL"), (critical, good, "ATTENZIONE"), (good, 100, "GOOD")]
    severe, critical = thresholds["critical_from"] * 100, thresholds["acceptable_from"] * 100
    acceptable, good = thresholds["good_from"] * 100, thresholds["excellent_above"] * 100
    return [
        (0, severe, "SEVERE"),
        (severe, critical, "CRITICAL"),
        (critical, acceptable, "ACCEPTABLE"),
        (acceptable, good, "GOOD"),
        (good, 100, "EXCELLENT"),
    ]


def recorded_thresholds(
    report: Mapping[str, Any], defaults: Mapping[str, float]
) -> dict[str, float]:
    """The status thresholds the report was classified with, ``defaults`` for older reports
    (and for any key an older report lacks)."""
    classification = report.get("classification")
    recorded = classification.get("status_thresholds") if isinstance(classification, dict) else None
    if not isinstance(recorded, Mapping):
        return dict(defaults)
    return {
        key: float(recorded[key]) if isinstance(recorded.get(key), int | float) else value
        for key, value in defaults.items()
    }


@dataclass(frozen=True)
class DataQuality:
    """What the data sources dropped or could not classify for this report."""

    unknown_statuses: dict[str, int]
    unknown_status_rows: int
    dropped_rows: dict[str, int]
    warnings: list[str]
    warnings_omitted: int

    @property
    def counts(self) -> list[str]:
        """One line per count, in words."""
        lines = []
        if self.unknown_status_rows:
            words = ", ".join(f"{word} ({rows})" for word, rows in self.unknown_statuses.items())
            lines.append(
                f"{self.unknown_status_rows} rows with an unknown status"
                + (f": {words}" if words else "")
            )
        lines += [f"{count} rows dropped: {reason}" for reason, count in self.dropped_rows.items()]
        return lines


def data_quality(report: Mapping[str, Any]) -> DataQuality | None:
    """The report's data-quality section, or None when it has none or it reports nothing."""
    section = report_data_quality(report)

    def counts(value: Any) -> dict[str, int]:
        if not isinstance(value, Mapping):
            return {}
        return {str(k): int(v) for k, v in value.items() if isinstance(v, int) and v > 0}

    unknown = counts(section.get("unknown_statuses"))
    rows = section.get("unknown_status_rows")
    warnings = section.get("warnings")
    omitted = section.get("warnings_omitted")
    quality = DataQuality(
        unknown_statuses=unknown,
        unknown_status_rows=rows if isinstance(rows, int) else sum(unknown.values()),
        dropped_rows=counts(section.get("dropped_rows")),
        warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [],
        warnings_omitted=omitted if isinstance(omitted, int) else 0,
    )
    if not (quality.counts or quality.warnings or quality.warnings_omitted):
        return None
    return quality


def config_from_report(report: Mapping[str, Any]) -> dict:
    """The configuration that re-runs a report's analysis over the same window and items."""
    window = report.get("window") or {}
    if not window.get("start"):
        raise ConfigError("this report has no analysis window (an older tool's file)")
    configuration = report.get("configuration") or {}
    if report.get("analysis_type") == "resilience":
        targets = report.get("targets") or {}
        return {
            "analysis_type": "resilience",
            "start": window["start"],
            "hours": int(window.get("hours") or 168),
            "targets": list(targets),
            "target_rpo_hours": {key: entry["target_rpo_hours"] for key, entry in targets.items()},
            **({"weights": configuration["weights"]} if configuration.get("weights") else {}),
            **(
                {"target_weights": configuration["target_weights"]}
                if configuration.get("target_weights")
                else {}
            ),
        }
    services = report.get("services") or {}
    return {
        "analysis_type": "availability",
        "start": window["start"],
        "end": window["end"],
        "services": list(services),
        "service_error_budgets": {key: entry["error_budget"] for key, entry in services.items()},
        "service_weights": {key: entry["weight"] for key, entry in services.items()},
    }
