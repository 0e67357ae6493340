"""Backup insights beyond the score (issue 12), per target, vectorised like the engine.

For a target with target RPO R hours, a window of H hours from ``start``, the engine's hourly
instants ``t_k = start + k h`` (k = 1 .. H, last instant ``T = t_H``), and its latest successful
run at or before ``t`` at time ``s(t)`` (looking back before the window too):

* **Time to RPO breach** at ``t_k``: ``s(t_k) + R - t_k`` hours, computed as R - actual RPO with
  the engine's actual RPO; negative: in breach for that long; NaN (none) without any success.
  It is a fact of the clock: excluded instants do not carry it. A target is **within RPO** at
  ``t`` when its time to breach is >= 0 (a backup exactly R old is still within).
* **Schedule check**: the typical interval is the median gap between consecutive runs
  (successful or not), over every run given at or before T: the window and whatever lookback
  the caller loaded (see :func:`schedule_lookback_hours`). Fewer than 3 runs: ``UNKNOWN``.
  Interval > R: ``CANNOT_MEET_RPO``; otherwise interval > ``at_risk_fraction`` x R (0.8 by
  default): ``AT_RISK``; otherwise ``ON_SCHEDULE``. Both comparisons are strict and exact
  (integer nanoseconds; R rounded to the nanosecond, the fraction to the nearest ratio with a
  denominator up to 1000): an interval of exactly R is ``AT_RISK``, one of exactly 0.8 R is
  ``ON_SCHEDULE``. Runs at the same instant give a gap of 0.
* **Restore-point compliance**: expected = max(1, floor(H / R)) (exact: H and R in integer
  nanoseconds); made = successful runs with ``start <= timestamp <= T``; compliance =
  min(1, made / expected). Per target, and the unweighted mean over targets (NaN without any).
* **Consecutive failures**: over the runs with ``start <= timestamp <= T`` in time order (runs at
  the same instant in input order), the longest run of consecutive failed runs, and the run of
  failures ongoing at the end (failed runs after the window's last success; 0 when the last run
  succeeded or there is none). Runs before the window do not extend a run of failures.
* **Trend**: the least-squares slope of the target's score, in percent points, against time over
  its non-excluded instants, in points per day (NaN with fewer than two). The score **fell**
  when its value at the first non-excluded instant minus its value at the last non-excluded
  instant exceeds ``score_fall_alert_points`` (20 by default; strictly more, within 1e-9 points).

Excluded instants (maintenance windows) change only the trend: the other figures are facts
about the runs and the clock.

No loop over rows, targets or hours: gaps and streaks come from ``np.diff`` and cumulative sums
over the runs sorted by (target, time), medians from one sort of all gaps, the trend from sums
along the hour axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.availability import utc_datetime_array
from analytics.config import StrictModel, bounded_float
from analytics.resilience import (
    NEVER,
    NS_PER_HOUR,
    TargetRuns,
    latest_success_grid,
    target_rpo_hours,
    target_runs,
)
from analytics.results import ResilienceResult

SCHEDULE_STATUSES = ("ON_SCHEDULE", "AT_RISK", "CANNOT_MEET_RPO", "UNKNOWN")
MIN_SCHEDULE_RUNS = 3
DEFAULT_AT_RISK_FRACTION = 0.8
DEFAULT_SCORE_FALL_ALERT_POINTS = 20.0
FALL_TOLERANCE_POINTS = 1e-9
# The lookback that lets a schedule meeting its RPO show 3 runs: 3 times the largest RPO.
SCHEDULE_LOOKBACK_RPO_MULTIPLE = 3
_MAX_FRACTION_DENOMINATOR = 1000
_HOURS_PER_DAY = 24.0
_PERCENT = 100.0


class BackupInsightSettings(StrictModel):
    """Settings of the insights; proposed as ``resilience.insights`` in ``configs/defaults.json``.

    at_risk_fraction: a schedule whose typical interval exceeds this fraction of the RPO is at
        risk (0 to 1).
    score_fall_alert_points: flag a target whose score fell by more than this many percent
        points over the window (0 to 100).
    """

    at_risk_fraction: bounded_float(0, 1) = DEFAULT_AT_RISK_FRACTION
    score_fall_alert_points: bounded_float(0, 100) = DEFAULT_SCORE_FALL_ALERT_POINTS


@dataclass(frozen=True)
class BackupInsights:
    """Outcome of :func:`backup_insights`.

    targets: one row per target, indexed by ``target_id`` in parameter order:
        ``hours_to_rpo_breach`` (float hours at the last instant, NaN when never backed up),
        ``within_rpo`` (bool, at the last instant), ``typical_interval_hours`` (float, NaN when
        unknown), ``schedule_runs`` (int: runs the interval was taken from), ``schedule``
        (category of SCHEDULE_STATUSES), ``expected_restore_points``, ``restore_points`` (int),
        ``restore_point_compliance`` (float 0..1), ``longest_failure_streak``,
        ``current_failure_streak`` (int runs), ``score_trend_points_per_day`` (float percent
        points per day, NaN with fewer than 2 instants), ``score_change_points`` (float: last
        minus first non-excluded score, in percent points; NaN when none), ``score_fell`` (bool).
    hours_to_rpo_breach: (targets x hours) float grid, the time to breach at every instant;
        ``.ravel()`` lines up with the rows of the engine's timeline.
    instants: the evaluation instants (UTC).
    mean_restore_point_compliance: unweighted mean over targets; NaN without targets.
    """

    targets: pd.DataFrame
    hours_to_rpo_breach: npt.NDArray[np.float64]
    instants: pd.DatetimeIndex
    mean_restore_point_compliance: float

    def counts(self) -> dict[str, int]:
        """Targets not within RPO at the last instant (never backed up included), per schedule
        flag, and whose score fell: the figures of a report summary."""
        targets = self.targets
        schedule = targets["schedule"]
        return {
            "not_within_rpo": int((~targets["within_rpo"]).sum()),
            "cannot_meet_rpo": int((schedule == "CANNOT_MEET_RPO").sum()),
            "at_risk": int((schedule == "AT_RISK").sum()),
            "schedule_unknown": int((schedule == "UNKNOWN").sum()),
            "score_fell": int(targets["score_fell"].sum()),
        }


def _rpo_nanoseconds(target_rpo: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    return np.rint(np.asarray(target_rpo, dtype=np.float64) * NS_PER_HOUR).astype(np.int64)


def _checked_rpo(runs: TargetRuns, target_rpo: npt.ArrayLike) -> npt.NDArray[np.float64]:
    values = np.asarray(target_rpo, dtype=np.float64)
    if values.shape != (len(runs.target_ids),):
        raise ValueError(
            f"target_rpo_hours has shape {values.shape}: one value per target "
            f"({len(runs.target_ids)}) is needed"
        )
    if not np.all(values > 0):
        raise ValueError("target_rpo_hours must be positive")
    return values


def hours_to_rpo_breach(runs: TargetRuns, target_rpo: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The (targets x hours) time to RPO breach ``s(t_k) + R - t_k`` in hours; NaN where the
    target has no success at or before ``t_k``. ``target_rpo`` is in hours, one per target."""
    rpo = _checked_rpo(runs, target_rpo)
    columns, instants = runs.hours + 1, runs.instants
    first_instant = runs.first_instant
    remaining = np.empty((len(runs.target_ids), runs.hours))
    for block, rows in runs.blocks(columns):
        cells = (runs.position[rows] - block.start).astype(np.intp) * columns
        cells += first_instant[rows]
        latest = latest_success_grid(
            cells,
            runs.succeeded[rows],
            runs.timestamp[rows],
            shape=(block.stop - block.start, columns),
        )[:, 1:]
        # As the engine computes the actual RPO (the int64 subtraction wraps for "never").
        out = remaining[block]
        np.divide(instants - latest, NS_PER_HOUR, out=out)
        out[latest == NEVER] = np.nan
        np.subtract(rpo[block, np.newaxis], out, out=out)
    return remaining


def needs_attention_order(hours_to_breach: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Positions ordered for a "needs attention" list: never backed up (NaN) first, then by time
    to breach ascending (longest in breach first, then soonest to breach); ties keep order."""
    values = np.asarray(hours_to_breach, dtype=np.float64)
    return np.argsort(np.where(np.isnan(values), -np.inf, values), kind="stable")


def _fraction(value: float) -> tuple[int, int]:
    ratio = Fraction(value).limit_denominator(_MAX_FRACTION_DENOMINATOR)
    return ratio.numerator, ratio.denominator


def _gaps_sorted_per_target(
    gaps: npt.NDArray[np.int64], owners: npt.NDArray[np.integer], counts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``gaps`` (grouped by their ``owners``, in owner order) sorted within each owner."""
    span = int(gaps.max()) + 1 if len(gaps) else 1
    if len(counts) * span - 1 > np.iinfo(np.int64).max:
        return gaps[np.lexsort((gaps, owners))]
    # One key per gap, owner first: a plain sort (much faster than lexsort) with no overflow.
    offsets = np.arange(len(counts), dtype=np.int64) * span
    keys = np.sort(owners.astype(np.int64) * span + gaps)
    return keys - np.repeat(offsets, counts)


def schedule_check(
    runs: TargetRuns,
    target_rpo: npt.ArrayLike,
    *,
    at_risk_fraction: float = DEFAULT_AT_RISK_FRACTION,
) -> pd.DataFrame:
    """Per target: ``typical_interval_hours`` (median gap between consecutive runs, NaN with
    fewer than 3 runs), ``schedule_runs`` and ``schedule`` (see the module docstring)."""
    rpo_ns = _rpo_nanoseconds(_checked_rpo(runs, target_rpo))
    targets = len(runs.target_ids)
    positions, timestamps = runs.position, runs.timestamp
    run_counts = np.bincount(positions, minlength=targets)
    same_target = positions[1:] == positions[:-1]
    gaps = np.diff(timestamps)[same_target]
    gap_targets = positions[1:][same_target]
    gap_counts = np.bincount(gap_targets, minlength=targets)
    sorted_gaps = _gaps_sorted_per_target(gaps, gap_targets, gap_counts)
    first_gap = np.cumsum(gap_counts) - gap_counts
    known = run_counts >= MIN_SCHEDULE_RUNS
    # The median of n sorted gaps is the mean of those at (n - 1) // 2 and n // 2; their sum
    # (twice the median) stays an exact integer.
    lower = np.where(known, first_gap + (gap_counts - 1) // 2, 0)
    upper = np.where(known, first_gap + gap_counts // 2, 0)
    # Unsigned: two gaps of up to 2**63 ns add up without wrapping around.
    doubled = np.zeros(targets, dtype=np.uint64)
    if len(sorted_gaps):
        middle = sorted_gaps.astype(np.uint64)
        doubled = np.where(known, middle.take(lower) + middle.take(upper), 0).astype(np.uint64)
    doubled_rpo = 2 * rpo_ns.astype(np.uint64)
    cannot_meet = known & (doubled > doubled_rpo)
    numerator, denominator = _fraction(at_risk_fraction)
    # Only intervals up to R are compared here, so the products stay far below 2**63.
    at_risk = known & ~cannot_meet
    at_risk &= denominator * np.minimum(doubled, doubled_rpo) > numerator * doubled_rpo
    codes = np.select([~known, cannot_meet, at_risk], [3, 2, 1], 0).astype(np.int8)
    return pd.DataFrame(
        {
            "typical_interval_hours": np.where(known, doubled / (2 * NS_PER_HOUR), np.nan),
            "schedule_runs": run_counts,
            "schedule": pd.Categorical.from_codes(codes, categories=list(SCHEDULE_STATUSES)),
        },
        index=pd.Index(runs.target_ids, name="target_id"),
    )


def schedule_lookback_hours(hours: int, target_rpo: npt.ArrayLike) -> int:
    """How many hours before the window the data layer should load every run for the schedule
    check: max(H, 3 x the largest RPO), in whole hours. With the window that spans at least
    3 R + H, so a schedule that meets its RPO always shows 3 runs and its interval is known."""
    rpo = np.asarray(target_rpo, dtype=np.float64)
    largest = float(rpo.max()) if rpo.size else 0.0
    return max(int(hours), math.ceil(SCHEDULE_LOOKBACK_RPO_MULTIPLE * largest))


def restore_point_compliance(runs: TargetRuns, target_rpo: npt.ArrayLike) -> pd.DataFrame:
    """Per target: ``expected_restore_points`` = max(1, floor(H / R)), ``restore_points`` (the
    successful runs in the window) and ``restore_point_compliance`` = min(1, made / expected)."""
    rpo_ns = _rpo_nanoseconds(_checked_rpo(runs, target_rpo))
    expected = np.maximum(1, (runs.hours * NS_PER_HOUR) // rpo_ns)
    made = np.bincount(
        runs.position[runs.in_window & runs.succeeded], minlength=len(runs.target_ids)
    )
    return pd.DataFrame(
        {
            "expected_restore_points": expected,
            "restore_points": made,
            "restore_point_compliance": np.minimum(1.0, made / expected),
        },
        index=pd.Index(runs.target_ids, name="target_id"),
    )


def failure_streaks(runs: TargetRuns) -> pd.DataFrame:
    """Per target, over the runs of the window: ``longest_failure_streak`` and
    ``current_failure_streak`` (consecutive failed runs; see the module docstring)."""
    targets = len(runs.target_ids)
    in_window = runs.in_window
    positions, succeeded = runs.position[in_window], runs.succeeded[in_window]
    longest = np.zeros(targets, dtype=np.int64)
    current = np.zeros(targets, dtype=np.int64)
    if len(positions):
        failed = ~succeeded
        failures_so_far = np.cumsum(failed, dtype=np.int64)
        first_of_target = np.concatenate(([True], positions[1:] != positions[:-1]))
        # The failure count at the start of the current streak: at a success, the count there;
        # at a target's first run, the count before it. Counts never decrease, so the latest
        # such level is a running maximum.
        level = np.where(succeeded, failures_so_far, -1)
        np.maximum(level, np.where(first_of_target, failures_so_far - failed, -1), out=level)
        np.maximum.accumulate(level, out=level)
        streak = failures_so_far - level
        first_rows = np.flatnonzero(first_of_target)
        last_rows = np.concatenate((first_rows[1:] - 1, [len(positions) - 1]))
        owners = positions[first_rows]
        longest[owners] = np.maximum.reduceat(streak, first_rows)
        current[owners] = streak[last_rows]
    return pd.DataFrame(
        {"longest_failure_streak": longest, "current_failure_streak": current},
        index=pd.Index(runs.target_ids, name="target_id"),
    )


def _least_squares_slopes(
    values: npt.NDArray[np.float64], kept: npt.NDArray[np.bool_] | None, x: npt.NDArray
) -> npt.NDArray[np.float64]:
    """Per row of ``values``, the least-squares slope against ``x`` over the ``kept`` cells (all
    when None); NaN for rows with fewer than two."""
    # einsum's own loops rather than BLAS products: OpenBLAS threads spin on a busy machine.
    if kept is None:
        centred = x - x.mean()
        if len(x) < 2:
            return np.full(len(values), np.nan)
        return np.einsum("th,h->t", values, centred) / (centred @ centred)
    counts = kept.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = np.where(kept, x - (kept * x).sum(axis=1, keepdims=True) / counts[:, None], 0)
        kept_values = np.where(kept, values, 0.0)
        slope = np.einsum("th,th->t", centred, kept_values) / np.einsum(
            "th,th->t", centred, centred
        )
    return np.where(counts >= 2, slope, np.nan)


def score_trend(
    result: ResilienceResult,
    *,
    score_fall_alert_points: float = DEFAULT_SCORE_FALL_ALERT_POINTS,
) -> pd.DataFrame:
    """Per target of the engine's ``result``: ``score_trend_points_per_day``,
    ``score_change_points`` and ``score_fell`` (see the module docstring)."""
    targets = len(result.targets)
    timeline = result.timeline
    hours = len(timeline) // targets if targets else 1  # no targets: an empty (0 x 1) grid
    if len(timeline) != targets * hours:
        raise ValueError("result.timeline must hold the same number of instants per target")
    shape = (targets, hours)
    score = timeline["score"].to_numpy(dtype=np.float64).reshape(shape)
    kept = ~timeline["excluded"].to_numpy(dtype=np.bool_).reshape(shape)
    kept &= ~np.isnan(score)
    days = np.arange(1, hours + 1, dtype=np.float64) / _HOURS_PER_DAY
    rows = np.arange(targets)
    if kept.all():  # the common case, without exclusions: one product
        slope = _least_squares_slopes(score, None, days)
        change = score[:, -1] - score[:, 0]
    else:
        slope = _least_squares_slopes(score, kept, days)
        first = np.argmax(kept, axis=1)
        last = hours - 1 - np.argmax(kept[:, ::-1], axis=1)
        change = np.where(kept.any(axis=1), score[rows, last] - score[rows, first], np.nan)
    change *= _PERCENT
    return pd.DataFrame(
        {
            "score_trend_points_per_day": slope * _PERCENT,
            "score_change_points": change,
            # NaN compares False: no score, no fall.
            "score_fell": -change > score_fall_alert_points + FALL_TOLERANCE_POINTS,
        },
        index=pd.Index(result.targets.index, name="target_id"),
    )


def backup_insights(
    backups: pd.DataFrame,
    params: pd.DataFrame,
    result: ResilienceResult,
    *,
    start: pd.Timestamp,
    hours: int,
    settings: BackupInsightSettings | None = None,
) -> BackupInsights:
    """Every insight of the module docstring for the targets of ``params``, given the same
    ``backups``, ``params``, ``start`` and ``hours`` as :func:`score_resilience` and its
    ``result``. ``backups`` may hold more history before the window than the engine needs: the
    schedule check uses every run given. Raises ValueError on bad input; inputs are unmodified.
    """
    settings = settings or BackupInsightSettings()
    if not result.targets.index.equals(params.index):
        raise ValueError("result must be the engine's result for the same params")
    rpo = target_rpo_hours(params)
    runs = target_runs(backups, params.index, start=start, hours=hours)
    remaining = hours_to_rpo_breach(runs, rpo)
    final_remaining = remaining[:, -1]
    restore_points = restore_point_compliance(runs, rpo)
    targets = pd.concat(
        [
            pd.DataFrame(
                {"hours_to_rpo_breach": final_remaining, "within_rpo": final_remaining >= 0},
                index=pd.Index(params.index, name="target_id"),
            ),
            schedule_check(runs, rpo, at_risk_fraction=settings.at_risk_fraction),
            restore_points,
            failure_streaks(runs),
            score_trend(result, score_fall_alert_points=settings.score_fall_alert_points),
        ],
        axis=1,
    )
    compliance = restore_points["restore_point_compliance"]
    return BackupInsights(
        targets=targets,
        hours_to_rpo_breach=remaining,
        instants=pd.DatetimeIndex(utc_datetime_array(runs.instants), name="timestamp"),
        mean_restore_point_compliance=float(compliance.mean()) if len(compliance) else math.nan,
    )
