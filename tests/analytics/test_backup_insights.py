"""Backup insights of issue 12: every definition against hand-computed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from analytics.backup_insights import (
    BackupInsightSettings,
    backup_insights,
    failure_streaks,
    hours_to_rpo_breach,
    needs_attention_order,
    restore_point_compliance,
    schedule_check,
    schedule_lookback_hours,
    score_trend,
)
from analytics.resilience import score_resilience, target_runs
from tests.analytics import backups_frame, resilience_params

START = pd.Timestamp("2026-01-01T00:00:00Z")
NAN = math.nan
WEIGHTS = {"w_rpo": 0.6, "w_success": 0.4}


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


def runs_of(runs: list[tuple[float, bool]], *, hours: int = 4):
    """The TargetRuns of one target "t" with runs at (hours after START, succeeded)."""
    backups = backups_frame([("t", at(offset), ok) for offset, ok in runs], ["t"])
    return target_runs(backups, pd.Index(["t"]), start=START, hours=hours)


# --- time to RPO breach: s(t) + R - t ------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "rpo", "expected"),
    [
        # No runs, or only failures: no success, no countdown.
        ([], 24, [NAN] * 4),
        ([(-3, False), (1, False)], 24, [NAN] * 4),
        # One success 5 h before the window: -5 + 24 - k.
        ([(-5, True)], 24, [18.0, 17.0, 16.0, 15.0]),
        # A success exactly at t2 counts there; R = 1.5 h (fractional): in breach by 0.5 h at t4.
        ([(2, True)], 1.5, [NAN, 1.5, 0.5, -0.5]),
        # A later failure does not reset it; a later success does.
        ([(0.5, True), (1.5, False), (2.5, True)], 2, [1.5, 0.5, 1.5, 0.5]),
        # Exactly R old at t1: 0, still within (boundary), then in breach.
        ([(-23, True)], 24, [0.0, -1.0, -2.0, -3.0]),
    ],
)
def test_hours_to_rpo_breach(runs: list, rpo: float, expected: list[float]) -> None:
    grid = hours_to_rpo_breach(runs_of(runs), [rpo])
    assert grid.shape == (1, 4)
    np.testing.assert_allclose(grid[0], expected, rtol=0, atol=1e-12)


def test_needs_attention_order_puts_never_backed_up_then_breached_first() -> None:
    hours = [5.0, NAN, -2.0, 0.0, -10.0, NAN, 5.0]
    assert needs_attention_order(hours).tolist() == [1, 5, 4, 2, 3, 0, 6]


# --- schedule check ------------------------------------------------------------------------


def schedule_of(runs: list[tuple[float, bool]], rpo: float, **options) -> pd.Series:
    return schedule_check(runs_of(runs), [rpo], **options).iloc[0]


@pytest.mark.parametrize(
    ("offsets", "rpo", "interval", "schedule"),
    [
        ([], 24, NAN, "UNKNOWN"),
        ([-12], 24, NAN, "UNKNOWN"),
        ([-12, 0], 24, NAN, "UNKNOWN"),  # 2 runs: one gap is not a typical interval
        ([-24, -12, 0], 24, 12.0, "ON_SCHEDULE"),
        # R = 10: exactly 0.8 R is not above it; 9 h is at risk; exactly R is still at risk
        # (not above R); 11 h cannot meet the RPO.
        ([-16, -8, 0], 10, 8.0, "ON_SCHEDULE"),
        ([-18, -9, 0], 10, 9.0, "AT_RISK"),
        ([-20, -10, 0], 10, 10.0, "AT_RISK"),
        ([-22, -11, 0], 10, 11.0, "CANNOT_MEET_RPO"),
        # Median of an odd number of gaps (1, 2, 4), of an even number (1, 2, 4, 8): 2 and 3.
        ([-7, -6, -4, 0], 24, 2.0, "ON_SCHEDULE"),
        ([-15, -14, -12, -8, 0], 2.5, 3.0, "CANNOT_MEET_RPO"),
        # R = 2.5 h (fractional): 2.25 > 0.8 x 2.5 = 2.
        ([-4.5, -2.25, 0], 2.5, 2.25, "AT_RISK"),
        # Runs after the last instant (t4) do not count; runs at the same instant give gap 0.
        ([-4, 0, 4, 4.5, 9], 24, 4.0, "ON_SCHEDULE"),
        ([0, 0, 0, 3], 24, 0.0, "ON_SCHEDULE"),
    ],
)
def test_schedule_check(offsets: list[float], rpo: float, interval: float, schedule: str) -> None:
    row = schedule_of([(offset, False) for offset in offsets], rpo)
    assert row["typical_interval_hours"] == pytest.approx(interval, nan_ok=True)
    assert row["schedule"] == schedule


def test_schedule_boundary_to_the_nanosecond() -> None:
    eight_hours = pd.Timedelta(hours=8)
    one_ns = pd.Timedelta(1, "ns")
    for step, expected in [(eight_hours, "ON_SCHEDULE"), (eight_hours + one_ns, "AT_RISK")]:
        backups = backups_frame([("t", START - k * step, True) for k in (2, 1, 0)], ["t"])
        runs = target_runs(backups, pd.Index(["t"]), start=START, hours=1)
        assert schedule_check(runs, [10.0])["schedule"].iloc[0] == expected


def test_schedule_with_gaps_of_a_century() -> None:
    """Gaps so long that one sort key per gap would overflow int64 (the exact fallback), and
    so would the sum of two gaps."""
    start = pd.Timestamp("2100-01-01T00:00:00Z")
    runs = {
        "a": ["1700-01-01", "1900-01-01", "2100-01-01"],  # twice the median: above 2**63 ns
        "b": ["2099-12-31T22:00", "2099-12-31T23:00", "2100-01-01"],
        "c": ["1950-01-01", "2100-01-01"],
    }
    backups = backups_frame(
        [
            (target, pd.Timestamp(day, tz="UTC"), True)
            for target, days in runs.items()
            for day in days
        ],
        list(runs),
    )
    target_ns = {
        target: pd.DatetimeIndex(days, tz="UTC").as_unit("ns").asi8 for target, days in runs.items()
    }
    longest_gap = max(int(np.diff(times).max()) for times in target_ns.values())
    assert len(runs) * (longest_gap + 1) - 1 > np.iinfo(np.int64).max
    checked = schedule_check(
        target_runs(backups, pd.Index(list(runs)), start=start, hours=1), [24.0, 24.0, 24.0]
    )
    a_gaps = np.diff(target_ns["a"])
    median = sum(a_gaps.tolist()) / 2  # Python integers: no wrapping around
    assert checked["typical_interval_hours"].iloc[0] == median / 3_600_000_000_000
    assert checked["typical_interval_hours"].iloc[1] == 1.0
    assert math.isnan(checked["typical_interval_hours"].iloc[2])
    assert checked["schedule"].astype(str).tolist() == ["CANNOT_MEET_RPO", "ON_SCHEDULE", "UNKNOWN"]


def test_schedule_counts_failed_runs_and_the_given_lookback() -> None:
    row = schedule_of([(-36, True), (-24, False), (-12, False), (0, True)], 24)
    assert row["schedule_runs"] == 4
    assert row["typical_interval_hours"] == 12.0


def test_schedule_at_risk_fraction_is_a_setting() -> None:
    runs = [(-12, True), (-6, True), (0, True)]
    assert schedule_of(runs, 10)["schedule"] == "ON_SCHEDULE"
    assert schedule_of(runs, 10, at_risk_fraction=0.5)["schedule"] == "AT_RISK"


@pytest.mark.parametrize(
    ("hours", "rpo", "expected"),
    [(168, [24, 12, 48], 168), (24, [24, 168], 504), (1, [1.5], 5), (10, [], 10)],
)
def test_schedule_lookback_hours(hours: int, rpo: list[float], expected: int) -> None:
    assert schedule_lookback_hours(hours, rpo) == expected


# --- restore-point compliance ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "rpo", "runs", "expected", "made", "compliance"),
    [
        (168, 24, [(24 * k + 1, True) for k in range(5)], 7, 5, 5 / 7),
        # floor(4 / 24) = 0: at least one restore point is expected.
        (4, 24, [], 1, 0, 0.0),
        (4, 24, [(1, True), (2, True), (3, True)], 1, 3, 1.0),
        # Fractional R: floor(10 / 2.5) = 4, floor(4 / 1.5) = 2.
        (10, 2.5, [(2, True), (4, False), (6, True)], 4, 2, 0.5),
        (4, 1.5, [(1, True)], 2, 1, 0.5),
        # At the window start and at the last instant: in; before and after: out.
        (4, 1, [(-0.5, True), (0, True), (4, True), (4.5, True)], 4, 2, 0.5),
        # Failed runs are no restore points.
        (4, 2, [(1, False), (3, False)], 2, 0, 0.0),
    ],
)
def test_restore_point_compliance(
    hours: int, rpo: float, runs: list, expected: int, made: int, compliance: float
) -> None:
    row = restore_point_compliance(runs_of(runs, hours=hours), [rpo]).iloc[0]
    assert row["expected_restore_points"] == expected
    assert row["restore_points"] == made
    assert row["restore_point_compliance"] == pytest.approx(compliance)


# --- consecutive failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcomes", "longest", "current"),
    [
        ([], 0, 0),
        ([False], 1, 1),
        ([True], 0, 0),
        ([False] * 4, 4, 4),
        ([False, False, True, False], 2, 1),
        ([True, False, False, False, True], 3, 0),
        ([False, True, False, False, True, False, False, False], 3, 3),
    ],
)
def test_failure_streaks(outcomes: list[bool], longest: int, current: int) -> None:
    runs = [(0.5 * (k + 1), ok) for k, ok in enumerate(outcomes)]
    row = failure_streaks(runs_of(runs)).iloc[0]
    assert (row["longest_failure_streak"], row["current_failure_streak"]) == (longest, current)


def test_failure_streaks_stay_in_the_window_and_in_their_target() -> None:
    backups = backups_frame(
        [
            ("a", at(-5), False),  # before the window: does not extend the streak
            ("a", at(0.5), False),
            ("a", at(1), False),
            ("b", at(0.5), False),  # b's streak must not continue a's
            ("b", at(1), True),
            ("c", at(2), True),
            ("c", at(9), False),  # after the last instant
        ],
        ["a", "b", "c", "d"],
    )
    runs = target_runs(backups, pd.Index(["a", "b", "c", "d"]), start=START, hours=4)
    streaks = failure_streaks(runs)
    assert streaks["longest_failure_streak"].tolist() == [2, 1, 0, 0]
    assert streaks["current_failure_streak"].tolist() == [2, 0, 0, 0]


# --- trend -----------------------------------------------------------------------------------


def trend_of(
    runs: list[tuple[float, bool]],
    *,
    rpo: float,
    hours: int,
    mask: list[bool] | None = None,
    **options,
) -> pd.Series:
    result = score_resilience(
        backups_frame([("t", at(offset), ok) for offset, ok in runs], ["t"]),
        resilience_params({"t": rpo}, {"t": 1}),
        start=START,
        hours=hours,
        excluded=None if mask is None else np.array([mask]),
        no_run_yet_rule=True,
        **WEIGHTS,
    )
    return score_trend(result, **options).iloc[0]


@pytest.mark.parametrize(
    ("runs", "rpo", "slope_per_hour", "change", "fell"),
    [
        # Never backed up, or only failures and no success: 0 % throughout.
        ([], 24, 0.0, 0.0, False),
        ([(0.5, False), (2, False)], 24, 0.0, 0.0, False),
        # R = 2.5 h, success 0.5 h before the window: 40, 0, 0, 0 %. Least squares over
        # x = 1..4 h: sum (x - 2.5)(y - 10) = -60, sum (x - 2.5)^2 = 5: -12 points an hour.
        ([(-0.5, True)], 2.5, -12.0, -40.0, True),
        # A success exactly at t2 (R = 24): 0, 100, 97.5, 95 %: sum (x - 2.5)(y - 73.125)
        # = 141.25, so 28.25 points an hour; a rise is no fall.
        ([(2, True)], 24, 28.25, 95.0, False),
    ],
)
def test_trend_table(
    runs: list, rpo: float, slope_per_hour: float, change: float, fell: bool
) -> None:
    row = trend_of(runs, rpo=rpo, hours=4)
    assert row["score_trend_points_per_day"] == pytest.approx(slope_per_hour * 24, abs=1e-9)
    assert row["score_change_points"] == pytest.approx(change, abs=1e-9)
    assert row["score_fell"] == fell


def test_a_steady_score_has_no_trend() -> None:
    row = trend_of([(0.5 * k, True) for k in range(9)], rpo=168, hours=4)
    # A success every 30 min, one exactly at each instant: 100 % throughout.
    assert row["score_trend_points_per_day"] == pytest.approx(0.0, abs=1e-9)
    assert row["score_change_points"] == pytest.approx(0.0, abs=1e-9)
    assert not row["score_fell"]


def test_an_ageing_backup_falls_100_points_a_day_against_a_24_hour_rpo() -> None:
    # No run in the window: score = compliance = 1 - (5 + k) / 24, -1/24 a hour.
    row = trend_of([(-5, True)], rpo=24, hours=4)
    assert row["score_trend_points_per_day"] == pytest.approx(-100.0)
    assert row["score_change_points"] == pytest.approx(-12.5)  # 75 % to 62.5 %
    assert not row["score_fell"]
    assert trend_of([(-5, True)], rpo=24, hours=4, score_fall_alert_points=10)["score_fell"]


def test_a_fall_of_exactly_the_alert_amount_is_not_flagged() -> None:
    # R = 10, success 1 h before the window, none in it: 80 %, 70 %, 60 %, a fall of exactly
    # 20 points (-20.000000000000007 in floating point).
    kwargs = {"rpo": 10, "hours": 3}
    assert trend_of([(-1, True)], **kwargs)["score_change_points"] == pytest.approx(-20.0)
    assert not trend_of([(-1, True)], **kwargs)["score_fell"]
    assert trend_of([(-1, True)], score_fall_alert_points=19.9, **kwargs)["score_fell"]


def test_excluded_instants_are_left_out_of_the_trend() -> None:
    # Success at 0 (R = 10, runs in the window): 0.6 (1 - k / 10) + 0.4 at t1..t5, i.e.
    # 94, 88, 82, 76, 70 %; with t1 and t5 excluded the change is t4 - t2 = -12 points and the
    # slope over t2..t4 is -6 points an hour.
    row = trend_of([(0, True)], rpo=10, hours=5, mask=[True, False, False, False, True])
    assert row["score_change_points"] == pytest.approx(-12.0)
    assert row["score_trend_points_per_day"] == pytest.approx(-6.0 * 24)
    unmasked = trend_of([(0, True)], rpo=10, hours=5)
    assert unmasked["score_change_points"] == pytest.approx(-24.0)
    assert unmasked["score_fell"]


def test_one_or_no_scored_instant_has_no_slope() -> None:
    one = trend_of([(0, True)], rpo=10, hours=3, mask=[True, False, True])
    assert math.isnan(one["score_trend_points_per_day"])
    assert one["score_change_points"] == 0.0
    none = trend_of([(0, True)], rpo=10, hours=3, mask=[True, True, True])
    assert math.isnan(none["score_trend_points_per_day"])
    assert math.isnan(none["score_change_points"])
    assert not none["score_fell"]


def test_a_single_instant_window_has_no_slope() -> None:
    row = trend_of([(0, True)], rpo=10, hours=1)
    assert math.isnan(row["score_trend_points_per_day"])
    assert row["score_change_points"] == 0.0


# --- all together ----------------------------------------------------------------------------


def test_backup_insights_joins_every_figure_per_target() -> None:
    backups = backups_frame(
        [
            ("vm", at(-36), True),
            ("vm", at(-24), True),
            ("vm", at(-12), False),
            ("vm", at(0), True),
            ("vm", at(2), False),
            ("vm", at(4), False),
            ("db", at(-5), True),
        ],
        ["vm", "db", "never"],
    )
    params = resilience_params({"vm": 12, "db": 24, "never": 4}, {"vm": 1, "db": 1, "never": 1})
    arguments = {"start": START, "hours": 4}
    result = score_resilience(backups, params, no_run_yet_rule=True, **arguments, **WEIGHTS)
    insights = backup_insights(backups, params, result, **arguments)
    targets = insights.targets
    assert targets.index.tolist() == ["vm", "db", "never"]
    np.testing.assert_allclose(targets["hours_to_rpo_breach"], [8.0, 15.0, NAN])
    assert targets["within_rpo"].tolist() == [True, True, False]
    # vm: gaps 12, 12, 12, 2, 2 -> median 12 = R: at risk, not above R.
    assert targets["schedule"].astype(str).tolist() == ["AT_RISK", "UNKNOWN", "UNKNOWN"]
    assert targets["expected_restore_points"].tolist() == [1, 1, 1]
    assert targets["restore_points"].tolist() == [1, 0, 0]
    assert insights.mean_restore_point_compliance == pytest.approx(1 / 3)
    assert targets["longest_failure_streak"].tolist() == [2, 0, 0]
    assert targets["current_failure_streak"].tolist() == [2, 0, 0]
    assert insights.hours_to_rpo_breach.shape == (3, 4)
    np.testing.assert_allclose(insights.hours_to_rpo_breach[1], [18, 17, 16, 15])
    assert insights.instants.tolist() == [at(k) for k in (1, 2, 3, 4)]
    assert insights.counts() == {
        "not_within_rpo": 1,
        "cannot_meet_rpo": 0,
        "at_risk": 1,
        "schedule_unknown": 2,
        "score_fell": 1,
    }
    # vm: 0.6 x 11/12 + 0.4 = 95 % at t1, 0.6 x 8/12 + 0.4 / 3 = 53.3 % at t4.
    assert targets["score_change_points"].iloc[0] == pytest.approx((0.4 + 0.4 / 3 - 0.95) * 100)
    assert targets["score_fell"].tolist() == [True, False, False]
    assert list(targets.columns) == [
        "hours_to_rpo_breach",
        "within_rpo",
        "typical_interval_hours",
        "schedule_runs",
        "schedule",
        "expected_restore_points",
        "restore_points",
        "restore_point_compliance",
        "longest_failure_streak",
        "current_failure_streak",
        "score_trend_points_per_day",
        "score_change_points",
        "score_fell",
    ]


def test_backup_insights_without_targets() -> None:
    backups = backups_frame([("a", at(1), True)], ["a"])
    params = resilience_params({}, {})
    result = score_resilience(backups, params, start=START, hours=3, **WEIGHTS)
    insights = backup_insights(backups, params, result, start=START, hours=3)
    assert insights.targets.empty
    assert insights.hours_to_rpo_breach.shape == (0, 3)
    assert math.isnan(insights.mean_restore_point_compliance)


def test_backup_insights_refuses_a_result_of_other_targets_and_keeps_inputs() -> None:
    backups = backups_frame([("a", at(1), True), ("b", at(2), False)], ["a", "b"])
    params = resilience_params({"a": 24, "b": 12}, {"a": 1, "b": 1})
    other = score_resilience(
        backups, resilience_params({"a": 24}, {"a": 1}), start=START, hours=3, **WEIGHTS
    )
    with pytest.raises(ValueError, match="same params"):
        backup_insights(backups, params, other, start=START, hours=3)
    result = score_resilience(backups, params, start=START, hours=3, **WEIGHTS)
    before, params_before = backups.copy(deep=True), params.copy(deep=True)
    backup_insights(backups, params, result, start=START, hours=3)
    pd.testing.assert_frame_equal(backups, before)
    pd.testing.assert_frame_equal(params, params_before)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"at_risk_fraction": 1.5}, "at_risk_fraction"),
        ({"score_fall_alert_points": -1}, "score_fall_alert_points"),
        ({"score_fall_alert_points": True}, "is not a number"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BackupInsightSettings(**settings)


def test_settings_defaults() -> None:
    settings = BackupInsightSettings()
    assert (settings.at_risk_fraction, settings.score_fall_alert_points) == (0.8, 20.0)


@pytest.mark.parametrize("rpo", [[24.0, 12.0], [0.0]])
def test_lower_level_functions_check_the_rpo_array(rpo: list[float]) -> None:
    with pytest.raises(ValueError, match="target_rpo_hours"):
        hours_to_rpo_breach(runs_of([]), rpo)
