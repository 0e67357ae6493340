"""The "no run yet" rule of issue 14: before the window's first run the success rate is unknown
and the score is the RPO compliance alone. Hand-computed tables, boundaries included."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analytics.resilience import score_resilience
from tests.analytics import backups_frame, resilience_params

START = pd.Timestamp("2026-01-01T00:00:00Z")
NAN = math.nan
DEFAULT_WEIGHTS = {"w_rpo": 0.6, "w_success": 0.4}


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


def one_target_timeline(
    runs: list[tuple[pd.Timestamp, bool]],
    *,
    rpo: float = 24.0,
    hours: int = 4,
    rule: bool = True,
    **weights: float,
) -> pd.DataFrame:
    backups = backups_frame([("t", when, ok) for when, ok in runs], ["t"])
    return score_resilience(
        backups,
        resilience_params({"t": rpo}, {"t": 1}),
        start=START,
        hours=hours,
        no_run_yet_rule=rule,
        **(weights or DEFAULT_WEIGHTS),
    ).timeline


# (runs, target RPO, no_run_yet, success_rate, score, status) at t = 1, 2, 3, 4 h.
CASES = {
    "never backed up": (
        [],
        24,
        [True] * 4,
        [NAN] * 4,
        [0.0] * 4,
        ["SEVERE"] * 4,
    ),
    "a run exactly at the first instant counts there": (
        [(at(1), True)],
        24,
        [False] * 4,
        [1.0] * 4,
        [1.0, 0.6 * 23 / 24 + 0.4, 0.6 * 22 / 24 + 0.4, 0.6 * 21 / 24 + 0.4],
        ["EXCELLENT"] * 4,
    ),
    "a run exactly at the window start is a run of the window": (
        [(START, False)],
        24,
        [False] * 4,
        [0.0] * 4,
        [0.0] * 4,
        ["SEVERE"] * 4,
    ),
    "a run 1 ns before the window start is not": (
        [(START - pd.Timedelta(1, "ns"), False)],
        24,
        [True] * 4,
        [NAN] * 4,
        [0.0] * 4,
        ["SEVERE"] * 4,
    ),
    "a success just before the window: the compliance alone": (
        [(at(-0.5), True)],
        24,
        [True] * 4,
        [NAN] * 4,
        [1 - 1.5 / 24, 1 - 2.5 / 24, 1 - 3.5 / 24, 1 - 4.5 / 24],
        ["EXCELLENT", "GOOD", "GOOD", "GOOD"],
    ),
    # The acronis-erp-daily: backed up 5 h before the window, RPO 24 h. A 6-hour-old
    # backup is 75 % compliant: GOOD, where the old rule gave 0.6 x 0.75 = 0.45 (CRITICAL).
    "backed up 5 h before the window": (
        [(at(-5), True)],
        24,
        [True] * 4,
        [NAN] * 4,
        [0.75, 1 - 7 / 24, 1 - 8 / 24, 1 - 9 / 24],
        ["GOOD", "ACCEPTABLE", "ACCEPTABLE", "ACCEPTABLE"],
    ),
    "from the first run on, nothing changes": (
        [(at(-5), True), (at(2.5), False)],
        24,
        [True, True, False, False],
        [NAN, NAN, 0.0, 0.0],
        [0.75, 1 - 7 / 24, 0.6 * (1 - 8 / 24), 0.6 * (1 - 9 / 24)],
        ["GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE"],
    ),
    "a run just after an instant counts from the next one": (
        [(at(1.5), True)],
        24,
        [True, False, False, False],
        [NAN, 1.0, 1.0, 1.0],
        [0.0, 0.6 * (1 - 0.5 / 24) + 0.4, 0.6 * (1 - 1.5 / 24) + 0.4, 0.6 * (1 - 2.5 / 24) + 0.4],
        ["SEVERE", "EXCELLENT", "EXCELLENT", "EXCELLENT"],
    ),
    "all runs failed: a known success rate of 0": (
        [(at(-2), True), (at(0.5), False), (at(1.5), False)],
        24,
        [False] * 4,
        [0.0] * 4,
        [0.525, 0.5, 0.475, 0.45],  # 0.6 x (1 - 3/24) ... 0.6 x (1 - 6/24)
        ["CRITICAL"] * 4,
    ),
    # R = 2.5 h: 1 - 1.5 / 2.5 = 0.4 exactly on the CRITICAL boundary, then 0 once older than R.
    "fractional RPO": (
        [(at(-0.5), True)],
        2.5,
        [True] * 4,
        [NAN] * 4,
        [0.4, 0.0, 0.0, 0.0],
        ["CRITICAL", "SEVERE", "SEVERE", "SEVERE"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_run_yet_table(case: str) -> None:
    runs, rpo, no_run_yet, success_rate, score, status = CASES[case]
    timeline = one_target_timeline(runs, rpo=rpo)
    assert timeline["no_run_yet"].tolist() == no_run_yet
    np.testing.assert_allclose(timeline["success_rate"], success_rate, rtol=0, atol=1e-15)
    np.testing.assert_allclose(timeline["score"], score, rtol=0, atol=1e-15)
    assert timeline["status"].tolist() == status


def test_before_the_first_run_the_score_is_the_compliance_whatever_the_weights() -> None:
    # Success only (w_RPO = 0): renormalised over the one known term, the compliance has
    # weight 1 until the first run; then the score is the success rate.
    timeline = one_target_timeline([(at(-5), True), (at(2.5), True)], w_rpo=0.0, w_success=1.0)
    np.testing.assert_allclose(timeline["score"], [0.75, 1 - 7 / 24, 1.0, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(
        timeline["score"].iloc[:2], timeline["rpo_compliance"].iloc[:2], rtol=0, atol=0
    )


def test_without_the_rule_the_flag_is_kept_and_the_success_rate_is_zero() -> None:
    """The older tool's behaviour, the default until reports store an unknown success rate."""
    timeline = one_target_timeline([(at(-5), True), (at(2.5), False)], rule=False)
    assert timeline["no_run_yet"].tolist() == [True, True, False, False]
    np.testing.assert_allclose(timeline["success_rate"], [0.0] * 4, rtol=0, atol=0)
    np.testing.assert_allclose(
        timeline["score"],
        [0.6 * 0.75, 0.6 * (1 - 7 / 24), 0.6 * (1 - 8 / 24), 0.6 * (1 - 9 / 24)],
        rtol=0,
        atol=1e-15,
    )


def test_summary_and_aggregate_use_the_rule() -> None:
    backups = backups_frame(
        [("ran", at(-5), True), ("ran", at(2), True), ("waits", at(-5), True)],
        ["ran", "waits", "never"],
    )
    params = resilience_params(
        {"ran": 24, "waits": 24, "never": 12}, {"ran": 2, "waits": 1, "never": 1}
    )
    result = score_resilience(
        backups, params, start=START, hours=3, no_run_yet_rule=True, **DEFAULT_WEIGHTS
    )
    targets = result.targets
    assert targets["final_no_run_yet"].tolist() == [False, True, True]
    np.testing.assert_allclose(targets["final_success_rate"], [1.0, NAN, NAN], rtol=0, atol=0)
    final = [0.6 * (1 - 1 / 24) + 0.4, 1 - 8 / 24, 0.0]
    np.testing.assert_allclose(targets["final_score"], final, rtol=0, atol=1e-15)
    assert targets["final_status"].tolist() == ["EXCELLENT", "ACCEPTABLE", "SEVERE"]
    assert targets["final_instant"].tolist() == [at(3)] * 3
    assert result.aggregated_score == pytest.approx((2 * final[0] + final[1] + final[2]) / 4)
    # t = 1: "ran" has no run yet either: every score is a compliance.
    first = (2 * (1 - 6 / 24) + (1 - 6 / 24) + 0.0) / 4
    assert result.aggregated_timeline["score"].iloc[0] == pytest.approx(first)
