"""Property tests: both engines equal the per-row references on random data, and the formulas
keep their invariants (bounded, monotone, continuous at P_f = E_b)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import availability, resilience
from analytics.availability import availability_score, score_availability
from analytics.resilience import score_resilience
from analytics.results import ResilienceResult
from benchmarks.baselines import availability_per_row, resilience_per_row
from tests.analytics import (
    availability_params,
    backups_frame,
    metrics_frame,
    resilience_params,
)

START = pd.Timestamp("2026-01-01T00:00:00Z")
IDS = ("a", "b", "c", "d")
UNKNOWN_ID = "zz"  # present in the data, never selected
NS_PER_SECOND = 1_000_000_000
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Offsets from START: whole seconds (often equal, giving duplicates), milliseconds, nanoseconds.
metric_offsets_ns = st.one_of(
    st.integers(-3, 40).map(lambda seconds: seconds * NS_PER_SECOND),
    st.integers(-3_000, 40_000).map(lambda milliseconds: milliseconds * 1_000_000),
    st.integers(-3 * NS_PER_SECOND, 40 * NS_PER_SECOND),
)


@st.composite
def availability_cases(draw: st.DrawFn) -> dict:
    ids = list(IDS[: draw(st.integers(1, len(IDS)))])
    selected = draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))]
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from([*ids, UNKNOWN_ID]), metric_offsets_ns, st.integers(0, 3)),
            max_size=40,
        )
    )
    if draw(st.booleans()):
        rows.sort()
    return {
        "metrics": metrics_frame(
            [
                (service, START + pd.Timedelta(offset, "ns"), count)
                for service, offset, count in rows
            ],
            [*ids, UNKNOWN_ID],
        ),
        "params": availability_params(
            {service: draw(st.integers(1, 50)) for service in selected},
            {service: draw(st.integers(1, 10)) for service in selected},
        ),
        "end": START + pd.Timedelta(seconds=draw(st.integers(1, 30))),
        "chunk_rows": draw(st.sampled_from([availability.CHUNK_ROWS, 1, 3])),
        "window_units_per_row": draw(st.sampled_from([availability.MAX_WINDOW_UNITS_PER_ROW, 0])),
        # 0: always sort the score changes; 10**9: add them per unit whenever possible.
        "sorted_changes_per_unit": draw(
            st.sampled_from([availability.SORTED_CHANGES_PER_UNIT, 0, 10**9])
        ),
    }


@PROPERTY_SETTINGS
@given(availability_cases())
def test_availability_engine_equals_the_per_row_reference(case: dict) -> None:
    metrics, params = case["metrics"], case["params"]
    window = {"start": START, "end": case["end"]}
    with (
        mock.patch.object(availability, "CHUNK_ROWS", case["chunk_rows"]),
        mock.patch.object(availability, "MAX_WINDOW_UNITS_PER_ROW", case["window_units_per_row"]),
        mock.patch.object(availability, "SORTED_CHANGES_PER_UNIT", case["sorted_changes_per_unit"]),
    ):
        result = score_availability(metrics, params, **window)
    expected = availability_per_row(metrics, params, **window)

    # Scores come from the same formula evaluated in IEEE doubles: they must agree bit for bit.
    exact = {"check_dtype": False, "check_categorical": False, "check_exact": True}
    pd.testing.assert_frame_equal(result.services, expected.services, **exact)
    pd.testing.assert_frame_equal(result.timeline, expected.timeline, **exact)
    pd.testing.assert_frame_equal(
        result.aggregated_timeline, expected.aggregated_timeline, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(result.aggregated_score, expected.aggregated_score, atol=1e-12)

    scores = np.concatenate([result.timeline["score"], result.aggregated_timeline["score"]])
    assert ((scores >= 0) & (scores <= 1)).all()
    if len(result.aggregated_timeline):
        assert result.aggregated_timeline["score"].iloc[-1] == pytest.approx(
            result.aggregated_score, abs=1e-12
        )
        assert result.aggregated_timeline["timestamp"].is_monotonic_increasing


@PROPERTY_SETTINGS
@given(st.integers(1, 50), st.integers(0, 200))
def test_score_never_increases_with_failures(budget: int, failures: int) -> None:
    assert availability_score(failures + 1, budget) <= availability_score(failures, budget)


@PROPERTY_SETTINGS
@given(
    st.integers(1, 50),
    st.floats(min_value=0, max_value=1000, allow_nan=False),
    st.floats(min_value=0, max_value=1000, allow_nan=False),
)
def test_score_is_monotone_and_bounded_for_real_failure_counts(
    budget: int, first: float, second: float
) -> None:
    low, high = sorted((first, second))
    s_low, s_high = availability_score(low, budget), availability_score(high, budget)
    assert 0.0 <= s_high <= s_low <= 1.0


@PROPERTY_SETTINGS
@given(st.integers(1, 50), st.floats(min_value=1e-12, max_value=1e-3))
def test_score_is_continuous_at_the_error_budget(budget: int, step: float) -> None:
    at_budget = availability_score(budget, budget)
    assert at_budget == 0.5
    # Both branches move by step / (2 E_b) away from P_f = E_b: no jump at the boundary.
    for beside in (budget - step, budget + step):
        assert abs(availability_score(beside, budget) - at_budget) <= step / (2 * budget) + 1e-15


backup_offsets_minutes = st.one_of(
    st.integers(-60, 14).map(lambda hours: hours * 60),  # exactly on an instant
    st.integers(-3_600, 14 * 60),
)


@st.composite
def resilience_cases(draw: st.DrawFn) -> dict:
    ids = list(IDS[: draw(st.integers(1, len(IDS)))])
    selected = draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))]
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from([*ids, UNKNOWN_ID]), backup_offsets_minutes, st.booleans()),
            max_size=40,
        )
    )
    if draw(st.booleans()):
        rows.sort()
    w_rpo = draw(st.sampled_from([0.0, 0.25, 0.5, 0.6, 0.7, 1.0]))
    return {
        "backups": backups_frame(
            [(target, START + pd.Timedelta(minutes=offset), ok) for target, offset, ok in rows],
            [*ids, UNKNOWN_ID],
        ),
        "params": resilience_params(
            {
                target: draw(st.one_of(st.sampled_from([1, 2, 12, 24, 168]), st.floats(1, 168)))
                for target in selected
            },
            {target: draw(st.integers(1, 10)) for target in selected},
        ),
        # One target per block, a few, or all in one block.
        "block_cells": draw(st.sampled_from([resilience.BLOCK_CELLS, 1, 30])),
        "arguments": {
            "start": START,
            "hours": draw(st.integers(1, 12)),
            "w_rpo": w_rpo,
            "w_success": 1.0 - w_rpo,
        },
    }


def assert_same_resilience_results(result: ResilienceResult, expected: ResilienceResult) -> None:
    """Same operations on the same doubles per cell: bit for bit. Only the weighted mean over
    targets adds in a different order."""
    exact = {"check_dtype": False, "check_exact": True}
    pd.testing.assert_frame_equal(result.targets, expected.targets, **exact)
    pd.testing.assert_frame_equal(result.timeline, expected.timeline, **exact)
    pd.testing.assert_frame_equal(
        result.aggregated_timeline, expected.aggregated_timeline, rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(result.aggregated_score, expected.aggregated_score, atol=1e-12)


@PROPERTY_SETTINGS
@given(resilience_cases())
def test_resilience_engine_equals_the_per_row_reference(case: dict) -> None:
    with mock.patch.object(resilience, "BLOCK_CELLS", case["block_cells"]):
        result = score_resilience(case["backups"], case["params"], **case["arguments"])
    expected = resilience_per_row(case["backups"], case["params"], **case["arguments"])
    assert_same_resilience_results(result, expected)

    timeline = result.timeline
    for column in ("rpo_compliance", "success_rate", "score"):
        assert timeline[column].between(0.0, 1.0).all(), column
    rpo = timeline["actual_rpo_hours"]
    assert (rpo.isna() | (rpo >= 0)).all()
    assert (result.targets["successful_backups"] <= result.targets["total_backups"]).all()
