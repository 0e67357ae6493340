"""Data gaps, completeness and service coverage: treating missing data as unknown, not as up.

Definitions (issue 11), for a service over the window ``[start, end)``:

* A **check** is a distinct instant with data for the service (rows at the same instant are one
  check, whichever source they come from: the files source keeps one row per raw check, the
  MongoDB source one row per instant).
* **Expected interval**: the configured one, else the median of the intervals between the
  service's consecutive checks in the window (the mean of the two middle ones for an even
  count, as ``numpy.median``). With fewer than two checks and none configured it is unknown.
* **Gap**: a stretch with no check whose missing time is longer than ``gap_factor`` (default 3)
  times the expected interval. Stretches run from one check to the next, and also from the
  window start to the first check and from the last check to the window end: a service that
  stops reporting two days before the end has a gap there, and a service with no check at all
  has one gap covering the window. The missing time of a stretch is its length minus the time
  an exclusion covers (maintenance is not missing data). Gaps are listed with the check before
  (or the window start) and the check after (or the window end).
* **Completeness** = checks / (observed time / expected interval), capped at 100 %, where the
  observed time is the window length minus the service's excluded time. No check in a
  non-empty observed time is 0 %; an unknown interval or no observed time gives NaN
  (unknown, not flagged). A service under ``threshold`` (default 90 %) is flagged
  ``incomplete``.
* **Service coverage** = services with at least one check in the window / services in the
  inventory.

Vectorised over the distinct check instants: one ``diff`` gives every interval, gap candidates
are the intervals longer than the threshold, and excluded time inside them comes from cumulative
interval lengths and ``searchsorted`` (see :mod:`analytics.segments`). The medians take one
``numpy.partition`` per service: linear in the checks, one Python step per service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.availability import category_positions, timestamp_nanoseconds, utc_datetime_array
from analytics.segments import OwnerTimes, merge_intervals
from analytics.windows import window_bounds

DEFAULT_GAP_FACTOR = 3.0
CHUNK_ROWS = 1 << 17  # rows per chunk of the order check: its temporaries fit in cache
DEFAULT_COMPLETENESS_THRESHOLD = 0.9
INTERVAL_SOURCES = ("configured", "median", "unknown")


@dataclass(frozen=True)
class CompletenessResult:
    """Outcome of :func:`assess_completeness`.

    services: per service (in the order given), ``checks`` (int), ``expected_interval``
        (timedelta, NaT when unknown), ``interval_source`` (``configured``, ``median`` or
        ``unknown``), ``observed_hours`` (window minus excluded time), ``expected_checks``
        (float), ``completeness`` (fraction in [0, 1], NaN when unknown), ``incomplete``
        (bool), ``gaps`` (int) and ``missing_hours`` (float, summed over the gaps).
    gaps: one row per gap, sorted by service then start: ``service_id`` (category),
        ``start``, ``end`` (UTC), ``duration`` (end - start) and ``missing`` (duration minus
        excluded time; timedeltas).
    gap_factor, threshold: the parameters used.
    """

    services: pd.DataFrame
    gaps: pd.DataFrame
    gap_factor: float
    threshold: float


@dataclass(frozen=True)
class ServiceCoverage:
    """Services with at least one check in the window out of the services in the inventory."""

    with_data: int
    inventory: int
    without_data: tuple[str, ...]

    @property
    def coverage(self) -> float:
        """``with_data / inventory``; NaN for an empty inventory."""
        return self.with_data / self.inventory if self.inventory else float("nan")


def service_coverage(checks: pd.Series, inventory: pd.Index) -> ServiceCoverage:
    """Coverage of ``inventory`` from the checks per service id in the window (e.g. the
    ``points`` of a scoring result, or :func:`count_checks`); ids absent from ``checks`` have
    none."""
    counts = pd.Series(checks).reindex(inventory, fill_value=0).to_numpy()
    seen = counts > 0
    return ServiceCoverage(
        with_data=int(seen.sum()),
        inventory=len(inventory),
        without_data=tuple(str(each) for each in inventory[~seen]),
    )


@dataclass(frozen=True)
class _Points:
    """Distinct check instants in the window, sorted by (service position, time); service p's
    are ``[bounds[p], bounds[p + 1])``."""

    positions: npt.NDArray[np.integer]
    times: npt.NDArray[np.int64]
    bounds: npt.NDArray[np.intp]

    @property
    def checks(self) -> npt.NDArray[np.int64]:
        return np.diff(self.bounds).astype(np.int64)


def _window_points(frame: pd.DataFrame, ids: pd.Index, start_ns: int, end_ns: int) -> _Points:
    """The distinct (service, instant) pairs of ``frame`` in the window, of services in ``ids``.

    Input sorted by service with strictly increasing times (the scoring timeline, or metrics
    without repeated instants) is checked in cache-sized chunks and goes through without a
    copy; other input is sorted, rid of repeated instants and unknown services, and only rows
    outside the window cost a filter.
    """
    codes, position_of_code = category_positions(frame["service_id"], ids)
    times = timestamp_nanoseconds(frame["timestamp"], "timestamp")
    identity = np.array_equal(position_of_code[:-1], np.arange(len(position_of_code) - 1))
    positions = codes if identity else position_of_code.take(codes)
    if len(positions) and (
        positions[0] < 0
        or np.diff(positions).min(initial=0) < 0
        or not _increasing_within(positions, times)
    ):
        known = positions >= 0
        positions, times = positions[known], times[known]
        order = np.lexsort((times, positions))
        positions, times = positions[order], times[order]
        first = np.ones(len(times), dtype=bool)  # one row per instant of a service
        first[1:] = (np.diff(positions) != 0) | (np.diff(times) != 0)
        positions, times = positions[first], times[first]
    bounds = _bounds(positions, len(ids))
    held = np.flatnonzero(bounds[1:] > bounds[:-1])
    if len(held) and (
        times[bounds[held]].min() < start_ns or times[bounds[held + 1] - 1].max() >= end_ns
    ):
        inside = (times >= start_ns) & (times < end_ns)
        positions, times = positions[inside], times[inside]
        bounds = _bounds(positions, len(ids))
    return _Points(positions, times, bounds)


def _increasing_within(positions: npt.NDArray[np.integer], times: npt.NDArray[np.int64]) -> bool:
    """Whether times strictly increase within each run of equal positions, checked chunk by
    chunk so that the temporaries stay in cache."""
    for begin in range(0, len(times) - 1, CHUNK_ROWS):
        stop = min(begin + CHUNK_ROWS, len(times) - 1)
        later, earlier = slice(begin + 1, stop + 1), slice(begin, stop)
        increasing = times[later] > times[earlier]
        increasing |= positions[later] != positions[earlier]
        if not increasing.all():
            return False
    return True


def _bounds(positions: npt.NDArray[np.integer], services: int) -> npt.NDArray[np.intp]:
    """Where each service's rows begin in rows sorted by service position (and one past)."""
    return np.searchsorted(positions, np.arange(services + 1, dtype=positions.dtype))


def count_checks(
    metrics: pd.DataFrame, ids: pd.Index, *, start: pd.Timestamp, end: pd.Timestamp
) -> npt.NDArray[np.int64]:
    """Checks (distinct instants) per service of ``ids`` in ``[start, end)``: the N of
    budgets given as objectives, to be counted after exclusions."""
    start_ts, end_ts = window_bounds(start, end)
    return _window_points(metrics, ids, start_ts.value, end_ts.value).checks


def assess_completeness(
    points: pd.DataFrame,
    ids: pd.Index,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    expected_intervals: Mapping[str, timedelta] | None = None,
    gap_factor: float = DEFAULT_GAP_FACTOR,
    threshold: float = DEFAULT_COMPLETENESS_THRESHOLD,
    excluded: pd.DataFrame | None = None,
) -> CompletenessResult:
    """Gaps and completeness of each service of ``ids`` over ``[start, end)``.

    points: a frame with ``service_id`` and ``timestamp`` columns: the scoring timeline
        (:attr:`analytics.results.AvailabilityResult.timeline`, already distinct and sorted:
        the fast path) or canonical metrics, after exclusions.
    expected_intervals: configured intervals per service id (the others use the median).
    excluded: the excluded intervals per service (``service_id``, ``start``, ``end``, as
        :attr:`analytics.exclusions.ExcludedChecks.intervals`); their time is neither
        observed nor missing.
    """
    start_ts, end_ts = window_bounds(start, end)
    if not (np.isfinite(gap_factor) and gap_factor > 0):
        raise ValueError(f"gap_factor must be a positive number, got {gap_factor!r}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a fraction from 0 to 1, got {threshold!r}")
    services = len(ids)
    found = _window_points(points, ids, start_ts.value, end_ts.value)
    checks = found.checks
    interval, source, long_steps = _expected_intervals(found, ids, expected_intervals, gap_factor)
    exclusions = _Exclusions.build(excluded, ids, start_ts.value, end_ts.value)
    observed = (end_ts.value - start_ts.value) - exclusions.total
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_checks = observed / interval
        completeness = np.minimum(checks / expected_checks, 1.0)
    completeness[(checks == 0) & (observed > 0)] = 0.0
    completeness[observed <= 0] = np.nan
    gaps = _gaps(found, long_steps, interval * gap_factor, exclusions, start_ts.value, end_ts.value)
    gap_positions = gaps["position"]
    summary = pd.DataFrame(
        {
            "checks": checks,
            "expected_interval": pd.to_timedelta(np.round(interval), unit="ns"),
            "interval_source": source,
            "observed_hours": observed / 3.6e12,
            "expected_checks": expected_checks,
            "completeness": completeness,
            "incomplete": completeness < threshold,
            "gaps": np.bincount(gap_positions, minlength=services),
            "missing_hours": np.bincount(gap_positions, weights=gaps["missing"], minlength=services)
            / 3.6e12,
        },
        index=pd.Index(ids, name="service_id"),
    )
    gap_frame = pd.DataFrame(
        {
            "service_id": pd.Categorical.from_codes(
                gap_positions, categories=pd.Index(ids), validate=False
            ),
            "start": utc_datetime_array(gaps["start"]),
            "end": utc_datetime_array(gaps["end"]),
            "duration": pd.to_timedelta(gaps["end"] - gaps["start"], unit="ns"),
            "missing": pd.to_timedelta(gaps["missing"], unit="ns"),
        }
    )
    return CompletenessResult(summary, gap_frame, float(gap_factor), float(threshold))


def _expected_intervals(
    found: _Points,
    ids: pd.Index,
    configured: Mapping[str, timedelta] | None,
    gap_factor: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.object_], npt.NDArray[np.intp]]:
    """Per service, the expected interval in ns (NaN when unknown) and where it came from;
    and the steps longer than ``gap_factor`` times it (gap candidates, as step indices).

    One pass per service over its steps (the differences of its check times, computed there
    and in cache): the median needs a selection per service, and the candidates need the
    service's own threshold. Candidate ``i`` is the step from check ``i`` to check ``i + 1``.
    """
    interval = np.full(len(ids), np.nan)
    source = np.full(len(ids), "unknown", dtype=object)
    if configured:
        values = pd.to_timedelta(pd.Series(configured, dtype=object)).dt.as_unit("ns")
        if (values <= pd.Timedelta(0)).any():
            bad = values[values <= pd.Timedelta(0)].index[0]
            raise ValueError(
                f"expected interval of {bad!r} must be positive, got {configured[bad]}"
            )
        positions = ids.get_indexer(values.index)
        known = positions >= 0
        interval[positions[known]] = values.to_numpy()[known].astype(np.int64)
        source[positions[known]] = "configured"
    candidates = []
    for position in np.flatnonzero(found.checks >= 2):
        first = found.bounds[position]
        steps = np.diff(found.times[first : found.bounds[position + 1]])
        if np.isnan(interval[position]):
            interval[position] = _median(steps)
            source[position] = "median"
        # An integer step exceeds t exactly when it exceeds floor(t).
        limit = np.int64(min(math.floor(interval[position] * gap_factor), np.iinfo(np.int64).max))
        longer = np.flatnonzero(steps > limit)
        if len(longer):
            candidates.append(longer + first)
    return interval, source, np.concatenate([np.empty(0, dtype=np.intp), *candidates])


def _median(values: npt.NDArray[np.int64]) -> float:
    """``numpy.median`` of a non-empty integer array.

    Checks usually come at one fixed interval. When more than half of the values equal one
    value, that value is the median (once sorted, its run covers the middle), and one
    comparison confirms it; otherwise one selection on a copy finds the middle.
    """
    guess = values[len(values) // 2]
    if 2 * np.count_nonzero(values == guess) > len(values):
        return float(guess)
    middle = (len(values) - 1) // 2
    if len(values) % 2:
        return float(np.partition(values, middle)[middle])
    selected = np.partition(values, [middle, middle + 1])
    return (float(selected[middle]) + float(selected[middle + 1])) / 2


@dataclass(frozen=True)
class _Exclusions:
    """Excluded intervals per service, clipped to the window, with cumulative lengths."""

    index: OwnerTimes | None
    ends: npt.NDArray[np.int64]
    cumulative: npt.NDArray[np.int64]  # cumulative[i]: total length of the first i intervals
    total: npt.NDArray[np.int64]  # per service

    @classmethod
    def build(
        cls, excluded: pd.DataFrame | None, ids: pd.Index, start_ns: int, end_ns: int
    ) -> _Exclusions:
        if excluded is None or not len(excluded):
            return cls(
                None, np.empty(0, np.int64), np.zeros(1, np.int64), np.zeros(len(ids), np.int64)
            )
        codes, position_of_code = category_positions(excluded["service_id"], ids)
        owners = position_of_code.take(codes)
        starts = np.maximum(timestamp_nanoseconds(excluded["start"], "start"), start_ns)
        ends = np.minimum(timestamp_nanoseconds(excluded["end"], "end"), end_ns)
        known = owners >= 0
        owners, starts, ends = merge_intervals(owners[known], starts[known], ends[known])
        index = OwnerTimes.build(owners, starts, len(ids))
        lengths = ends - starts
        return cls(
            index,
            ends,
            np.concatenate(([0], np.cumsum(lengths))),
            np.bincount(owners, weights=lengths, minlength=len(ids)).astype(np.int64),
        )

    def before(
        self, owners: npt.NDArray[np.int64], instants: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Excluded time of each owner from the window start to the instant."""
        if self.index is None:
            return np.zeros(len(owners), dtype=np.int64)
        started = self.index.count_upto(owners, instants, inclusive=True)
        first = self.index.bounds[owners]
        full = self.cumulative[first + started] - self.cumulative[first]
        last = np.maximum(first + started - 1, 0)
        beyond = np.where(started > 0, np.maximum(self.ends[last] - instants, 0), 0)
        return full - beyond


def _gaps(
    found: _Points,
    between: npt.NDArray[np.intp],
    thresholds: npt.NDArray[np.float64],
    exclusions: _Exclusions,
    start_ns: int,
    end_ns: int,
) -> dict[str, npt.NDArray[np.int64]]:
    """Stretches without a check whose missing time exceeds the service's threshold:
    ``between`` are the steps longer than it (excluded time can only shorten them), to which
    the stretches before the first and after the last check are added."""
    checks = found.checks
    with_checks = np.flatnonzero(checks > 0)
    without_checks = np.flatnonzero(checks == 0)
    first_check = found.bounds[with_checks]
    last_check = found.bounds[with_checks + 1] - 1
    owners = np.concatenate(
        (with_checks, found.positions[between], with_checks, without_checks)
    ).astype(np.int64)
    starts = np.concatenate(
        (
            np.full(len(with_checks), start_ns, dtype=np.int64),
            found.times[between],
            found.times[last_check],
            np.full(len(without_checks), start_ns, dtype=np.int64),
        )
    )
    ends = np.concatenate(
        (
            found.times[first_check],
            found.times[between + 1],
            np.full(len(with_checks), end_ns, dtype=np.int64),
            np.full(len(without_checks), end_ns, dtype=np.int64),
        )
    )
    missing = (ends - starts) - (
        exclusions.before(owners, ends) - exclusions.before(owners, starts)
    )
    limit = thresholds[owners]
    # A service without checks has one gap over the window, whatever its interval.
    limit[len(owners) - len(without_checks) :] = 0.0
    is_gap = missing > limit  # NaN (an unknown interval) is never exceeded
    order = np.lexsort((starts[is_gap], owners[is_gap]))
    return {
        "position": owners[is_gap][order],
        "start": starts[is_gap][order],
        "end": ends[is_gap][order],
        "missing": missing[is_gap][order],
    }
