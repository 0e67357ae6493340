"""Excluded instants (maintenance windows): they carry the values of the latest non-excluded
instant, are flagged, still see their runs counted, and the final values are the last
non-excluded ones. Hand-computed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.resilience import score_resilience
from tests.analytics import backups_frame, resilience_params

START = pd.Timestamp("2026-01-01T00:00:00Z")
NAN = math.nan
WEIGHTS = {"w_rpo": 0.6, "w_success": 0.4}


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


# Target "a", R = 10 h, runs: success at 0.5 h, failure at 2.5 h, success at 3.5 h. Unmasked:
#   t   actual RPO  compliance  success rate  score
#   1   0.5         0.95        1             0.6 x 0.95 + 0.4     = 0.97      EXCELLENT
#   2   1.5         0.85        1             0.6 x 0.85 + 0.4     = 0.91      EXCELLENT
#   3   2.5         0.75        1/2           0.6 x 0.75 + 0.4 / 2 = 0.65      ACCEPTABLE
#   4   0.5         0.95        2/3           0.6 x 0.95 + 0.8 / 3 = 0.836..   GOOD
#   5   1.5         0.85        2/3           0.6 x 0.85 + 0.8 / 3 = 0.776..   GOOD
RUNS_A = [("a", at(0.5), True), ("a", at(2.5), False), ("a", at(3.5), True)]
ACTUAL = [0.5, 1.5, 2.5, 0.5, 1.5]
COMPLIANCE = [0.95, 0.85, 0.75, 0.95, 0.85]
SUCCESS = [1.0, 1.0, 0.5, 2 / 3, 2 / 3]
SCORE = [0.97, 0.91, 0.65, 0.57 + 0.8 / 3, 0.51 + 0.8 / 3]
STATUS = ["EXCELLENT", "EXCELLENT", "ACCEPTABLE", "GOOD", "GOOD"]


def score_a(mask: list[bool] | None, **options) -> pd.DataFrame:
    return score_resilience(
        backups_frame(RUNS_A, ["a"]),
        resilience_params({"a": 10}, {"a": 1}),
        start=START,
        hours=5,
        excluded=None if mask is None else np.array([mask]),
        **WEIGHTS,
        **options,
    )


def pick(values: list, sources: list[int | None]) -> list:
    return [NAN if source is None else values[source] for source in sources]


@pytest.mark.parametrize(
    ("mask", "sources"),
    [
        # No exclusion: each instant its own values.
        ([False] * 5, [0, 1, 2, 3, 4]),
        # t2, t3 carry t1; t5 carries t4. The failure at 2.5 h (during the exclusion) still
        # counts: t4's success rate is 2/3.
        ([False, True, True, False, True], [0, 0, 0, 3, 3]),
        # Excluded from the start: nothing to carry.
        ([True, True, False, False, False], [None, None, 2, 3, 4]),
        ([True] * 5, [None] * 5),
    ],
)
def test_excluded_instants_carry_the_latest_values(mask: list[bool], sources: list) -> None:
    timeline = score_a(mask, no_run_yet_rule=True).timeline
    assert timeline["excluded"].tolist() == mask
    for column, values in [
        ("actual_rpo_hours", ACTUAL),
        ("rpo_compliance", COMPLIANCE),
        ("success_rate", SUCCESS),
        ("score", SCORE),
    ]:
        np.testing.assert_allclose(
            timeline[column], pick(values, sources), rtol=0, atol=1e-15, err_msg=column
        )
    statuses = ["NO_DATA" if source is None else STATUS[source] for source in sources]
    assert timeline["status"].astype(object).fillna("NO_DATA").tolist() == statuses
    assert timeline["no_run_yet"].tolist() == [False] * 5


@pytest.mark.parametrize(
    ("mask", "final_source"),
    [
        ([False, True, True, False, True], 3),
        ([False, False, False, False, True], 3),
        ([False, True, True, True, True], 0),
    ],
)
def test_the_final_values_are_those_of_the_last_non_excluded_instant(
    mask: list[bool], final_source: int
) -> None:
    result = score_a(mask)
    target = result.targets.loc["a"]
    assert target["final_score"] == pytest.approx(SCORE[final_source], abs=1e-15)
    assert target["final_status"] == STATUS[final_source]
    assert target["final_rpo_compliance"] == pytest.approx(COMPLIANCE[final_source])
    assert target["final_success_rate"] == pytest.approx(SUCCESS[final_source])
    assert target["actual_rpo_hours"] == pytest.approx(ACTUAL[final_source])
    assert target["final_instant"] == at(final_source + 1)
    # Facts of the whole window, exclusions or not.
    assert target["total_backups"] == 3
    assert target["successful_backups"] == 2
    assert target["last_successful_backup"] == at(3.5)
    assert result.aggregated_score == pytest.approx(SCORE[final_source], abs=1e-15)


def test_every_instant_excluded_gives_no_data() -> None:
    result = score_a([True] * 5)
    target = result.targets.loc["a"]
    assert math.isnan(target["final_score"])
    assert target["final_status"] == "NO_DATA"
    assert pd.isna(target["final_instant"])
    assert target["total_backups"] == 3
    assert math.isnan(result.aggregated_score)
    assert result.aggregated_timeline["score"].isna().all()


def test_the_no_run_yet_flag_is_carried_with_the_values() -> None:
    backups = backups_frame([("t", at(-5), True), ("t", at(1.5), True)], ["t"])
    result = score_resilience(
        backups,
        resilience_params({"t": 24}, {"t": 1}),
        start=START,
        hours=3,
        excluded=np.array([[False, True, False]]),
        no_run_yet_rule=True,
        **WEIGHTS,
    )
    timeline = result.timeline
    # t2 would have a run (1.5 h) but is excluded: it shows t1's "no run yet" values.
    assert timeline["no_run_yet"].tolist() == [True, True, False]
    np.testing.assert_allclose(timeline["success_rate"], [NAN, NAN, 1.0], rtol=0, atol=0)
    np.testing.assert_allclose(
        timeline["score"], [0.75, 0.75, 0.6 * (1 - 1.5 / 24) + 0.4], rtol=0, atol=1e-15
    )


def test_the_aggregate_averages_the_targets_that_have_a_value() -> None:
    backups = backups_frame([*RUNS_A, ("b", at(-1), True)], ["a", "b"])
    params = resilience_params({"a": 10, "b": 10}, {"a": 3, "b": 1})
    mask = np.array([[False] * 5, [True, True, False, False, True]])
    result = score_resilience(
        backups, params, start=START, hours=5, excluded=mask, no_run_yet_rule=True, **WEIGHTS
    )
    # b: success 1 h before the window, no run in it: score = compliance = 1 - (k + 1) / 10.
    b = [NAN, NAN, 0.6, 0.5, 0.5]
    expected = [SCORE[0], SCORE[1]] + [(3 * SCORE[k] + b[k]) / 4 for k in (2, 3, 4)]
    np.testing.assert_allclose(result.aggregated_timeline["score"], expected, rtol=1e-15)
    assert result.aggregated_score == pytest.approx(expected[-1], abs=1e-15)


def test_a_mask_without_exclusions_changes_nothing_but_accepts_a_frame() -> None:
    plain = score_a(None)
    masked = score_resilience(
        backups_frame(RUNS_A, ["a"]),
        resilience_params({"a": 10}, {"a": 1}),
        start=START,
        hours=5,
        excluded=pd.DataFrame([[False] * 5]),
        **WEIGHTS,
    )
    pd.testing.assert_frame_equal(plain.timeline, masked.timeline)
    pd.testing.assert_frame_equal(plain.targets, masked.targets)
    pd.testing.assert_frame_equal(plain.aggregated_timeline, masked.aggregated_timeline)


def test_the_mask_is_neither_modified_nor_shared() -> None:
    mask = np.array([[False, True, True, False, True]])
    before = mask.copy()
    result = score_a(mask[0].tolist())
    result_masked = score_resilience(
        backups_frame(RUNS_A, ["a"]),
        resilience_params({"a": 10}, {"a": 1}),
        start=START,
        hours=5,
        excluded=mask,
        **WEIGHTS,
    )
    np.testing.assert_array_equal(mask, before)
    mask[:] = False
    assert result_masked.timeline["excluded"].tolist() == before[0].tolist()
    pd.testing.assert_frame_equal(result.timeline, result_masked.timeline)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (np.zeros((1, 4), dtype=bool), r"excluded has shape \(1, 4\): it must be .* \(1, 5\)"),
        (np.zeros((2, 5), dtype=bool), r"excluded has shape \(2, 5\)"),
        (np.zeros((1, 5), dtype=int), "excluded must hold booleans, got dtype int"),
    ],
)
def test_bad_masks_are_refused(mask: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score_resilience(
            backups_frame(RUNS_A, ["a"]),
            resilience_params({"a": 10}, {"a": 1}),
            start=START,
            hours=5,
            excluded=mask,
            **WEIGHTS,
        )
