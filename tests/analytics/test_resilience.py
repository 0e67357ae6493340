"""Resilience engine: every branch and boundary of the specification, table-driven."""

from __future__ import annotations

import math
from fractions import Fraction
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from analytics import resilience
from analytics.resilience import score_resilience
from analytics.results import RESILIENCE_STATUSES
from benchmarks.baselines import resilience_per_row
from tests.analytics import backups_frame, resilience_params, utc_series

START = pd.Timestamp("2026-01-01T00:00:00Z")
DEFAULT_WEIGHTS = {"w_rpo": 0.6, "w_success": 0.4}


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


def score_one_target(
    runs: list[tuple[float, bool]], *, hours: int = 4, rpo: float = 24.0, **weights: float
) -> pd.DataFrame:
    """The timeline of one target with runs at (hours after START, succeeded)."""
    backups = backups_frame([("t", at(offset), ok) for offset, ok in runs], ["t"])
    result = score_resilience(
        backups,
        resilience_params({"t": rpo}, {"t": 1}),
        start=START,
        hours=hours,
        **(weights or DEFAULT_WEIGHTS),
    )
    return result.timeline


@pytest.mark.parametrize(
    ("runs", "column", "expected"),
    [
        # A run exactly at an evaluation instant counts at that instant.
        ([(2, True)], "actual_rpo_hours", [math.nan, 0.0, 1.0, 2.0]),
        ([(2, True)], "rpo_compliance", [0.0, 1.0, 23 / 24, 22 / 24]),
        ([(2, True)], "success_rate", [0.0, 1.0, 1.0, 1.0]),
        # Just after an instant: counts from the next one.
        ([(1.5, True)], "actual_rpo_hours", [math.nan, 0.5, 1.5, 2.5]),
        # Exactly at start: in the window (start <= timestamp).
        ([(0, False)], "success_rate", [0.0, 0.0, 0.0, 0.0]),
        ([(0, True)], "success_rate", [1.0, 1.0, 1.0, 1.0]),
        ([(0, True)], "actual_rpo_hours", [1.0, 2.0, 3.0, 4.0]),
        # The last success before the window sets the RPO; it is not a run of the window.
        ([(-10, True)], "actual_rpo_hours", [11.0, 12.0, 13.0, 14.0]),
        ([(-10, True)], "success_rate", [0.0, 0.0, 0.0, 0.0]),
        ([(-30, True), (-10, False)], "actual_rpo_hours", [31.0, 32.0, 33.0, 34.0]),
        ([(-30, True), (-10, False)], "rpo_compliance", [0.0, 0.0, 0.0, 0.0]),
        # Failed runs count as runs, never as the latest success.
        (
            [(0.5, True), (1.5, False), (2.5, True), (3, False)],
            "success_rate",
            [1.0, 0.5, 0.5, 0.5],
        ),
        ([(0.5, True), (1.5, False)], "actual_rpo_hours", [0.5, 1.5, 2.5, 3.5]),
        # Never backed up: no RPO, compliance 0; no runs: success rate 0.
        ([], "actual_rpo_hours", [math.nan] * 4),
        ([], "rpo_compliance", [0.0] * 4),
        ([], "success_rate", [0.0] * 4),
        ([], "score", [0.0] * 4),
        ([(1, False)], "actual_rpo_hours", [math.nan] * 4),
        # Runs after the last instant are ignored.
        ([(4, True), (4.01, False), (50, False)], "success_rate", [0.0, 0.0, 0.0, 1.0]),
        # Compliance is clamped at 0 once the RPO exceeds the target.
        ([(-22.5, True)], "rpo_compliance", [0.5 / 24, 0.0, 0.0, 0.0]),
    ],
)
def test_timeline_columns(runs: list, column: str, expected: list[float]) -> None:
    timeline = score_one_target(runs)
    np.testing.assert_allclose(timeline[column].to_numpy(), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("runs", "rpo", "weights", "scores", "statuses"),
    [
        # Nothing yet at t=1; compliance 1 at t=2 (run at the instant) and success 1 -> 1.0.
        ([(2, True)], 24, DEFAULT_WEIGHTS, [0.0, 1.0], ["SEVERE", "EXCELLENT"]),
        # 3 of 8 runs succeed, the last exactly at t=2: 0.6 + 0.4 x 3/8 = 0.75 -> GOOD.
        (
            [(0.1 * k, k in (1, 2)) for k in range(1, 7)] + [(1.5, False), (2, True)],
            24,
            DEFAULT_WEIGHTS,
            [0.6 * (1 - 0.8 / 24) + 0.4 * 2 / 6, 0.75],
            ["ACCEPTABLE", "GOOD"],
        ),
        # RPO 1 h of 2 and 3 of 4 runs: 0.6 x 0.5 + 0.4 x 0.75 = 0.6 exactly -> ACCEPTABLE.
        (
            [(0, True), (0, True), (0, True), (0.5, False)],
            2,
            DEFAULT_WEIGHTS,
            [0.6 * 0.5 + 0.4 * 0.75, 0.4 * 0.75],
            ["ACCEPTABLE", "SEVERE"],
        ),
        # Success only: w_rpo = 0.
        (
            [(0.5, True), (1.5, False)],
            24,
            {"w_rpo": 0.0, "w_success": 1.0},
            [1.0, 0.5],
            ["EXCELLENT", "CRITICAL"],
        ),
        # RPO only: 1 - 14.4 / 24 = 0.4 exactly -> CRITICAL, then SEVERE.
        (
            [(-13.4, True)],
            24,
            {"w_rpo": 1.0, "w_success": 0.0},
            [1 - 14.4 / 24, 1 - 15.4 / 24],
            ["CRITICAL", "SEVERE"],
        ),
    ],
)
def test_scores_and_statuses(
    runs: list, rpo: float, weights: dict, scores: list[float], statuses: list[str]
) -> None:
    timeline = score_one_target(runs, hours=2, rpo=rpo, **weights)
    np.testing.assert_allclose(timeline["score"].to_numpy(), scores, rtol=0, atol=1e-15)
    assert timeline["status"].tolist() == statuses


def test_summary_takes_the_last_instant_and_counts_runs_of_the_window() -> None:
    backups = backups_frame(
        [
            ("vm", at(-5), True),
            ("vm", at(1), False),
            ("vm", at(2.5), True),
            ("vm", at(4), False),  # the last instant: counts
            ("vm", at(4.5), True),  # after the last instant: ignored
            ("ct", at(3), True),
        ],
        ["vm", "ct", "never"],
    )
    params = resilience_params({"vm": 24, "ct": 12, "never": 48}, {"vm": 1, "ct": 2, "never": 1})
    result = score_resilience(backups, params, start=START, hours=4, **DEFAULT_WEIGHTS)
    targets = result.targets
    assert targets.index.tolist() == ["vm", "ct", "never"]
    assert targets["total_backups"].tolist() == [3, 1, 0]
    assert targets["successful_backups"].tolist() == [1, 1, 0]
    assert targets["actual_rpo_hours"].iloc[:2].tolist() == pytest.approx([1.5, 1.0])
    assert math.isnan(targets.loc["never", "actual_rpo_hours"])
    assert targets["last_successful_backup"].iloc[0] == at(2.5)
    assert pd.isna(targets.loc["never", "last_successful_backup"])
    assert targets["final_success_rate"].tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    assert targets["final_rpo_compliance"].tolist() == pytest.approx([1 - 1.5 / 24, 1 - 1 / 12, 0])
    expected_scores = [0.6 * (1 - 1.5 / 24) + 0.4 / 3, 0.6 * (1 - 1 / 12) + 0.4, 0.0]
    assert targets["final_score"].tolist() == pytest.approx(expected_scores)
    assert targets["final_status"].tolist() == ["ACCEPTABLE", "EXCELLENT", "SEVERE"]
    assert result.aggregated_score == pytest.approx(
        (expected_scores[0] + 2 * expected_scores[1] + expected_scores[2]) / 4
    )
    last_instant = result.aggregated_timeline.iloc[-1]
    assert last_instant["timestamp"] == at(4)
    assert last_instant["score"] == pytest.approx(result.aggregated_score)


def test_aggregated_timeline_is_the_weighted_mean_per_instant() -> None:
    backups = backups_frame([("a", at(1), True), ("b", at(2), False)], ["a", "b"])
    params = resilience_params({"a": 10, "b": 10}, {"a": 3, "b": 1})
    result = score_resilience(backups, params, start=START, hours=3, **DEFAULT_WEIGHTS)
    per_target = result.timeline.pivot(index="timestamp", columns="target_id", values="score")
    expected = (3 * per_target["a"] + per_target["b"]) / 4
    np.testing.assert_allclose(result.aggregated_timeline["score"], expected.to_numpy())
    assert result.aggregated_timeline["timestamp"].tolist() == [at(1), at(2), at(3)]


def test_instants_are_start_plus_whole_hours_in_utc() -> None:
    backups = backups_frame([("t", "2026-01-01T03:00:00+02:00", True)], ["t"])  # 01:00Z
    result = score_resilience(
        backups,
        resilience_params({"t": 24}, {"t": 1}),
        start=pd.Timestamp("2026-01-01T01:00:00+01:00"),  # 00:00Z
        hours=2,
        **DEFAULT_WEIGHTS,
    )
    assert (
        result.timeline["timestamp"].tolist()
        == utc_series(["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"]).tolist()
    )
    assert result.timeline["actual_rpo_hours"].tolist() == [0.0, 1.0]


def test_targets_outside_the_parameters_are_ignored_and_order_follows_parameters() -> None:
    backups = backups_frame(
        [("a", at(1), True), ("x", at(1), False), ("b", at(0.5), False)], ["a", "x", "b"]
    )
    params = resilience_params({"b": 24, "a": 24}, {"a": 1, "b": 1})
    result = score_resilience(backups, params, start=START, hours=1, **DEFAULT_WEIGHTS)
    assert result.targets.index.tolist() == ["b", "a"]
    assert result.targets["total_backups"].tolist() == [1, 1]
    assert result.timeline["target_id"].tolist() == ["b", "a"]
    assert list(result.timeline["target_id"].cat.categories) == ["b", "a"]


def test_unsorted_input_and_inputs_not_modified() -> None:
    rows = [("a", at(2), True), ("b", at(-1), True), ("a", at(0.5), False), ("b", at(1), False)]
    params = resilience_params({"a": 6, "b": 12}, {"a": 2, "b": 5})
    shuffled = backups_frame(rows, ["a", "b"])
    before = shuffled.copy(deep=True)
    params_before = params.copy(deep=True)
    result = score_resilience(shuffled, params, start=START, hours=3, **DEFAULT_WEIGHTS)
    ordered = score_resilience(
        backups_frame(sorted(rows, key=lambda row: (row[0], row[1])), ["a", "b"]),
        params,
        start=START,
        hours=3,
        **DEFAULT_WEIGHTS,
    )
    pd.testing.assert_frame_equal(result.timeline, ordered.timeline)
    pd.testing.assert_frame_equal(result.targets, ordered.targets)
    pd.testing.assert_frame_equal(shuffled, before)
    pd.testing.assert_frame_equal(params, params_before)


@pytest.mark.parametrize("block_cells", [resilience.BLOCK_CELLS, 1, 8])
@pytest.mark.parametrize("reverse", [False, True])
def test_matches_the_per_row_reference_on_a_mixed_case(block_cells: int, reverse: bool) -> None:
    rows = [
        ("a", at(-30), True),
        ("a", at(-2), False),
        ("a", at(0), True),
        ("a", at(3), True),
        ("a", at(3), False),
        ("b", at(5.999), True),
        ("b", at(6), False),
        ("b", at(7), True),
        ("c", at(-1), False),
    ]
    backups = backups_frame(rows[::-1] if reverse else rows, ["a", "b", "c"])
    params = resilience_params({"a": 2, "b": 1, "c": 168}, {"a": 10, "b": 1, "c": 3})
    arguments = {"start": START, "hours": 6, "w_rpo": 0.3, "w_success": 0.7}
    with mock.patch.object(resilience, "BLOCK_CELLS", block_cells):
        result = score_resilience(backups, params, **arguments)
    expected = resilience_per_row(backups, params, **arguments)
    for left, right in [
        (result.targets, expected.targets),
        (result.timeline, expected.timeline),
        (result.aggregated_timeline, expected.aggregated_timeline),
    ]:
        pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-12, atol=1e-12)


def test_output_columns_and_dtypes() -> None:
    backups = backups_frame([("a", at(1), True)], ["a"])
    result = score_resilience(
        backups, resilience_params({"a": 24}, {"a": 1}), start=START, hours=2, **DEFAULT_WEIGHTS
    )
    assert list(result.timeline.columns) == [
        "target_id",
        "timestamp",
        "actual_rpo_hours",
        "rpo_compliance",
        "success_rate",
        "score",
        "status",
        "no_run_yet",
        "excluded",
    ]
    assert str(result.timeline["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert list(result.timeline["status"].cat.categories) == list(RESILIENCE_STATUSES)
    assert list(result.targets.columns) == [
        "target_rpo_hours",
        "weight",
        "final_score",
        "final_status",
        "final_rpo_compliance",
        "final_success_rate",
        "actual_rpo_hours",
        "last_successful_backup",
        "total_backups",
        "successful_backups",
        "final_no_run_yet",
        "final_instant",
    ]
    assert str(result.targets["last_successful_backup"].dtype) == "datetime64[ns, UTC]"
    assert result.targets.index.name == "target_id"


def test_no_targets_selected() -> None:
    backups = backups_frame([("a", at(1), True)], ["a"])
    result = score_resilience(
        backups, resilience_params({}, {}), start=START, hours=5, **DEFAULT_WEIGHTS
    )
    assert result.targets.empty
    assert result.timeline.empty
    assert result.aggregated_timeline.empty
    assert math.isnan(result.aggregated_score)


@pytest.mark.parametrize(
    ("arguments", "params", "message"),
    [
        ({"hours": 0}, None, "hours is 0: it must be from 1 to 8760"),
        ({"hours": 8761}, None, "hours is 8761"),
        ({"hours": 2.5}, None, "hours must be an integer"),
        ({"hours": True}, None, "hours must be an integer"),
        ({"w_rpo": 1.2, "w_success": -0.2}, None, "w_rpo is 1.2"),
        ({"w_rpo": 0.5, "w_success": "0.5"}, None, "w_success is '0.5'"),
        ({"w_rpo": 0.5, "w_success": 0.4}, None, "must be 1"),
        ({}, ({"a": 0.5}, {"a": 1}), "target_rpo_hours of 'a' is 0.5: it must be a number"),
        ({}, ({"a": 169}, {"a": 1}), "target_rpo_hours of 'a' is 169.0"),
        ({}, ({"a": 24}, {"a": 0}), "weight of 'a' is 0"),
        ({}, ({"a": 24}, {"a": 1.5}), "weight of 'a' is 1.5"),
        ({"start": pd.NaT}, None, "start must be a timestamp"),
    ],
)
def test_bad_parameters_are_rejected(arguments: dict, params, message: str) -> None:
    backups = backups_frame([("a", at(1), True)], ["a"])
    frame = resilience_params(*(params or ({"a": 24}, {"a": 1})))
    call = {"start": START, "hours": 3, **DEFAULT_WEIGHTS, **arguments}
    with pytest.raises(ValueError, match=message):
        score_resilience(backups, frame, **call)


def test_non_boolean_success_column_is_rejected() -> None:
    backups = backups_frame([("a", at(1), True)], ["a"]).assign(succeeded=["success"])
    with pytest.raises(ValueError, match="succeeded must hold booleans"):
        score_resilience(
            backups,
            resilience_params({"a": 24}, {"a": 1}),
            start=START,
            hours=3,
            **DEFAULT_WEIGHTS,
        )


# Fractional target RPOs (hours), as a configuration may give them: decimals whose binary value
# is inexact (7.2, 36.6) as well as exact ones (2.5, 23.75).
FRACTIONAL_RPO_HOURS = (
    "1.5",
    "2.25",
    "2.5",
    "3.2",
    "4.8",
    "7.2",
    "12.25",
    "23.75",
    "36.6",
    "167.5",
)


@pytest.mark.parametrize("w_rpo_tenths", [10, 8, 6, 5])
def test_statuses_match_exact_rationals_for_fractional_rpos_and_sub_hour_ages(
    w_rpo_tenths: int,
) -> None:
    """The engine's statuses against integer arithmetic on the exact rationals, for fractional
    target RPOs and ages with minutes (a success at START + m minutes, m = 0 .. 59, is d hours
    old at instant k: d = k - m / 60), with success rates 1, 1/2 and 1/4 (f failed runs beside
    the success). Many cases sit exactly on a threshold (e.g. T = 2.5, w_RPO = 1: 1 - 1.5 / 2.5
    = 0.4 at k = 2, m = 30), where a float rounding the wrong way would change the status."""
    hours = 170  # past every target RPO: compliance reaches 0 for each
    cases = [
        (rpo, minute, failed)
        for rpo in FRACTIONAL_RPO_HOURS
        for minute in range(60)
        for failed in (0, 1, 3)
    ]
    ids = [f"t{index}" for index in range(len(cases))]
    rows = [
        (target, START + pd.Timedelta(minutes=minute), succeeded)
        for target, (_, minute, failed) in zip(ids, cases, strict=True)
        for succeeded in (True, *[False] * failed)
    ]
    result = score_resilience(
        backups_frame(rows, ids),
        resilience_params({t: float(rpo) for t, (rpo, _, _) in zip(ids, cases, strict=True)},
                          dict.fromkeys(ids, 1)),
        start=START,
        hours=hours,
        w_rpo=w_rpo_tenths / 10,
        w_success=(10 - w_rpo_tenths) / 10,
    )  # fmt: skip
    timeline = result.timeline
    codes = timeline["status"].cat.codes.to_numpy().reshape(len(cases), hours)

    # score x D as an integer, D = 10 x 60 x Tn x (1 + f), for T = Tn / Td and age (60 k - m) / 60:
    # w x max(0, 60 Tn - (60 k - m) Td) x (1 + f) + (10 - w) x 60 Tn.
    rpo = [Fraction(text) for text, _, _ in cases]
    tn = np.array([value.numerator for value in rpo], dtype=np.int64)[:, None]
    td = np.array([value.denominator for value in rpo], dtype=np.int64)[:, None]
    minute = np.array([m for _, m, _ in cases], dtype=np.int64)[:, None]
    runs = np.array([1 + f for _, _, f in cases], dtype=np.int64)[:, None]
    k = np.arange(1, hours + 1, dtype=np.int64)[None, :]
    compliance = np.maximum(0, 60 * tn - (60 * k - minute) * td)
    scaled = w_rpo_tenths * compliance * runs + (10 - w_rpo_tenths) * 60 * tn
    denominator = 10 * 60 * tn * runs
    exact = np.select(
        [scaled * 100 > 90 * denominator, scaled * 100 >= 75 * denominator,
         scaled * 100 >= 60 * denominator, scaled * 100 >= 40 * denominator],
        [0, 1, 2, 3],
        4,
    )  # fmt: skip
    on_a_threshold = np.isin(scaled * 100, [bound * denominator for bound in (90, 75, 60, 40)])
    assert on_a_threshold.sum() > 100  # the boundaries themselves are exercised
    mismatches = np.argwhere(codes != exact)
    assert not len(mismatches), [(cases[row], int(k[0, column])) for row, column in mismatches[:5]]
    scores = timeline["score"].to_numpy().reshape(len(cases), hours)
    np.testing.assert_allclose(scores, scaled / denominator, rtol=0, atol=1e-12)
