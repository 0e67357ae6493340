"""Availability engine: every branch and boundary of the specification, table-driven."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pandas as pd
import pytest

from analytics import availability
from analytics.availability import availability_score, score_availability
from analytics.results import AVAILABILITY_STATUSES, NO_DATA
from benchmarks.baselines import availability_per_row
from tests.analytics import availability_params, metrics_frame, utc_series

START = pd.Timestamp("2026-01-01T00:00:00Z")
END = pd.Timestamp("2026-01-02T00:00:00Z")


def at(minutes: float) -> str:
    """An ISO timestamp ``minutes`` after START."""
    return (START + pd.Timedelta(minutes=minutes)).isoformat()


def score_one_service(failures_per_point: list[int], budget: int) -> pd.DataFrame:
    metrics = metrics_frame(
        [("svc", at(minute), count) for minute, count in enumerate(failures_per_point)], ["svc"]
    )
    result = score_availability(
        metrics, availability_params({"svc": budget}, {"svc": 5}), start=START, end=END
    )
    return result.timeline


@pytest.mark.parametrize(
    ("failures", "budget", "score", "status"),
    [
        (0, 5, 1.0, "GOOD"),
        (1, 5, 0.9, "GOOD"),
        (2, 5, 0.8, "ATTENZIONE"),  # exactly 0.8 is not above 0.8
        (3, 5, 0.7, "ATTENZIONE"),
        (5, 5, 0.5, "ATTENZIONE"),  # P_f = E_b
        (6, 5, 0.4, "CRITICAL"),
        (9, 5, 0.1, "CRITICAL"),
        (10, 5, 0.0, "CRITICAL"),  # P_f = 2 E_b
        (40, 5, 0.0, "CRITICAL"),  # clamped at 0
        (1, 1, 0.5, "ATTENZIONE"),
        (2, 1, 0.0, "CRITICAL"),
        (1, 50, 0.99, "GOOD"),
        (20, 50, 0.8, "ATTENZIONE"),
        (75, 50, 0.25, "CRITICAL"),
        (150, 50, 0.0, "CRITICAL"),
    ],
)
def test_score_and_status_of_each_branch(
    failures: int, budget: int, score: float, status: str
) -> None:
    timeline = score_one_service([failures], budget)
    assert timeline["cumulative_failures"].tolist() == [failures]
    assert timeline["score"].iloc[0] == pytest.approx(score, abs=1e-15)
    assert timeline["status"].iloc[0] == status


def test_failures_accumulate_point_by_point() -> None:
    timeline = score_one_service([0, 1, 0, 2, 3, 0], budget=5)
    assert timeline["cumulative_failures"].tolist() == [0, 1, 1, 3, 6, 6]
    assert timeline["score"].tolist() == pytest.approx([1.0, 0.9, 0.9, 0.7, 0.4, 0.4])
    assert timeline["status"].tolist() == [
        "GOOD",
        "GOOD",
        "GOOD",
        "ATTENZIONE",
        "CRITICAL",
        "CRITICAL",
    ]


def test_rows_at_the_same_timestamp_form_one_point_counting_all_failures() -> None:
    metrics = metrics_frame(
        [
            ("svc", at(0), 0),
            ("svc", at(1), 1),
            ("svc", at(1), 1),
            ("svc", at(1), 0),
            ("svc", at(2), 1),
        ],
        ["svc"],
    )
    result = score_availability(
        metrics, availability_params({"svc": 5}, {"svc": 1}), start=START, end=END
    )
    assert result.timeline["timestamp"].tolist() == utc_series([at(0), at(1), at(2)]).tolist()
    assert result.timeline["cumulative_failures"].tolist() == [0, 2, 3]
    assert result.services.loc["svc", "points"] == 3
    assert result.services.loc["svc", "total_failures"] == 3


def test_timestamps_with_utc_offsets_are_compared_and_returned_in_utc() -> None:
    metrics = metrics_frame(
        [
            ("svc", "2026-01-01T00:30:00+01:00", 1),  # 2025-12-31T23:30Z: before the window
            ("svc", "2026-01-01T01:00:00+01:00", 1),  # exactly START
            ("svc", "2026-01-01T00:10:00-02:00", 1),  # 02:10Z
        ],
        ["svc"],
    )
    result = score_availability(
        metrics,
        availability_params({"svc": 5}, {"svc": 1}),
        start=pd.Timestamp("2026-01-01T01:00:00+01:00"),
        end=END,
    )
    assert result.timeline["timestamp"].tolist() == [
        pd.Timestamp("2026-01-01T00:00:00Z"),
        pd.Timestamp("2026-01-01T02:10:00Z"),
    ]
    assert str(result.timeline["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert result.services.loc["svc", "total_failures"] == 2


@pytest.mark.parametrize(
    ("timestamps", "kept"),
    [
        ([START], [START]),  # exactly at start: included
        ([END], []),  # exactly at end: excluded
        ([START - pd.Timedelta(1, "ns"), START], [START]),
        ([END - pd.Timedelta(1, "ns"), END], [END - pd.Timedelta(1, "ns")]),
        ([START - pd.Timedelta(days=1), END + pd.Timedelta(days=1)], []),
    ],
)
def test_window_is_half_open(timestamps: list[pd.Timestamp], kept: list[pd.Timestamp]) -> None:
    metrics = metrics_frame([("svc", timestamp, 1) for timestamp in timestamps], ["svc"])
    result = score_availability(
        metrics, availability_params({"svc": 5}, {"svc": 1}), start=START, end=END
    )
    assert result.timeline["timestamp"].tolist() == kept
    assert result.services.loc["svc", "total_failures"] == len(kept)


def test_service_without_data_in_the_window_is_no_data_and_left_out_of_the_aggregate() -> None:
    metrics = metrics_frame(
        [
            ("busy", at(0), 0),
            ("busy", at(10), 2),  # 0.8 with E_b = 5
            ("quiet", at(-5), 0),  # only data before the window
        ],
        ["busy", "quiet"],
    )
    params = availability_params({"busy": 5, "quiet": 3}, {"busy": 2, "quiet": 10})
    result = score_availability(metrics, params, start=START, end=END)
    quiet = result.services.loc["quiet"]
    assert math.isnan(quiet["final_score"])
    assert quiet["final_status"] == NO_DATA
    assert quiet["total_failures"] == 0
    assert quiet["points"] == 0
    assert (result.timeline["service_id"] == "busy").all()
    assert result.aggregated_score == pytest.approx(0.8)
    assert result.aggregated_timeline["score"].tolist() == pytest.approx([1.0, 0.8])


@pytest.mark.parametrize("sorted_changes_per_unit", [0, 10**9])  # sorted / added per unit
def test_aggregated_timeline_holds_each_service_at_its_latest_point_and_one_before(
    sorted_changes_per_unit: int,
) -> None:
    metrics = metrics_frame(
        [
            ("a", at(0), 1),  # a: 0.9 (E_b 5)
            ("a", at(20), 4),  # a: 0.5
            ("b", at(10), 1),  # b: 0.5 (E_b 1); a still 0.9
            ("b", at(20), 0),  # b: 0.5, same instant as a's second point
            ("b", at(30), 1),  # b: 0.0
        ],
        ["a", "b"],
    )
    params = availability_params({"a": 5, "b": 1}, {"a": 3, "b": 1})
    with mock.patch.object(availability, "SORTED_CHANGES_PER_UNIT", sorted_changes_per_unit):
        result = score_availability(metrics, params, start=START, end=END)
    assert (
        result.aggregated_timeline["timestamp"].tolist()
        == utc_series([at(0), at(10), at(20), at(30)]).tolist()
    )
    assert result.aggregated_timeline["score"].tolist() == pytest.approx(
        [
            (3 * 0.9 + 1 * 1.0) / 4,  # b has no point yet: it counts as 1
            (3 * 0.9 + 1 * 0.5) / 4,
            (3 * 0.5 + 1 * 0.5) / 4,
            (3 * 0.5 + 1 * 0.0) / 4,
        ],
        abs=1e-12,
    )
    assert result.aggregated_score == pytest.approx((3 * 0.5 + 0.0) / 4)
    assert result.services["final_status"].tolist() == ["ATTENZIONE", "CRITICAL"]


def test_metrics_of_services_outside_the_parameters_are_ignored() -> None:
    metrics = metrics_frame(
        [("other", at(0), 9), ("svc", at(1), 1), ("other", at(2), 9)], ["other", "svc"]
    )
    result = score_availability(
        metrics, availability_params({"svc": 5}, {"svc": 1}), start=START, end=END
    )
    assert result.services.index.tolist() == ["svc"]
    assert result.timeline["service_id"].tolist() == ["svc"]
    assert result.services.loc["svc", "total_failures"] == 1


def test_output_follows_parameter_order_even_when_categories_differ() -> None:
    metrics = metrics_frame([("a", at(0), 1), ("b", at(1), 2), ("c", at(2), 3)], ["a", "b", "c"])
    params = availability_params({"c": 5, "a": 5, "b": 5}, {"c": 1, "a": 1, "b": 1})
    result = score_availability(metrics, params, start=START, end=END)
    assert result.services.index.tolist() == ["c", "a", "b"]
    assert result.timeline["service_id"].tolist() == ["c", "a", "b"]
    assert result.timeline["cumulative_failures"].tolist() == [3, 1, 2]
    assert list(result.timeline["service_id"].cat.categories) == ["c", "a", "b"]


def unsorted_rows() -> list[tuple[str, str, int]]:
    return [
        ("b", at(5), 1),
        ("a", at(3), 0),
        ("a", at(1), 1),
        ("b", at(2), 1),
        ("a", at(3), 2),
        ("b", at(5), 0),
    ]


def test_unsorted_input_scores_like_sorted_input() -> None:
    rows = unsorted_rows()
    params = availability_params({"a": 2, "b": 4}, {"a": 1, "b": 7})
    shuffled = score_availability(metrics_frame(rows, ["a", "b"]), params, start=START, end=END)
    ordered = score_availability(
        metrics_frame(sorted(rows), ["a", "b"]), params, start=START, end=END
    )
    pd.testing.assert_frame_equal(shuffled.timeline, ordered.timeline)
    pd.testing.assert_frame_equal(shuffled.services, ordered.services)
    pd.testing.assert_frame_equal(shuffled.aggregated_timeline, ordered.aggregated_timeline)
    assert shuffled.timeline["cumulative_failures"].tolist() == [1, 3, 1, 2]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4, 100])
@pytest.mark.parametrize(
    "rows",
    [
        [("b", at(0), 1), ("b", at(1), 0), ("b", at(2), 1), ("a", at(3), 1)],  # code goes down
        [("a", at(0), 1), ("a", at(2), 0), ("a", at(3), 1), ("a", at(1), 1)],  # time goes back
        [("a", at(0), 1), ("b", at(2), 0), ("b", at(2), 1), ("a", at(1), 1)],
    ],
)
def test_disorder_anywhere_relative_to_chunks_is_detected(rows: list, chunk_rows: int) -> None:
    metrics = metrics_frame(rows, ["a", "b"])
    params = availability_params({"a": 3, "b": 2}, {"a": 1, "b": 2})
    with mock.patch.object(availability, "CHUNK_ROWS", chunk_rows):
        result = score_availability(metrics, params, start=START, end=END)
    assert_same_result(result, availability_per_row(metrics, params, start=START, end=END))


def test_inputs_are_not_modified() -> None:
    metrics = metrics_frame(unsorted_rows(), ["a", "b"])
    params = availability_params({"b": 4, "a": 2}, {"a": 1, "b": 7})
    metrics_before, params_before = metrics.copy(deep=True), params.copy(deep=True)
    result = score_availability(metrics, params, start=START, end=END)
    pd.testing.assert_frame_equal(metrics, metrics_before)
    pd.testing.assert_frame_equal(params, params_before)
    result.timeline.loc[0, "cumulative_failures"] = 99
    pd.testing.assert_frame_equal(metrics, metrics_before)


def test_output_columns_and_dtypes() -> None:
    metrics = metrics_frame([("a", at(0), 1), ("b", at(1), 0)], ["a", "b"])
    params = availability_params({"a": 5, "b": 5}, {"a": 1, "b": 1})
    result = score_availability(metrics, params, start=START, end=END)
    timeline = result.timeline
    assert list(timeline.columns) == [
        "service_id",
        "timestamp",
        "cumulative_failures",
        "score",
        "status",
    ]
    assert isinstance(timeline["service_id"].dtype, pd.CategoricalDtype)
    assert str(timeline["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert timeline["cumulative_failures"].dtype == np.int32
    assert timeline["score"].dtype == np.float64
    assert list(timeline["status"].cat.categories) == list(AVAILABILITY_STATUSES)
    assert list(result.services.columns) == [
        "error_budget",
        "weight",
        "final_score",
        "final_status",
        "total_failures",
        "points",
    ]
    assert result.services.index.name == "service_id"
    assert list(result.aggregated_timeline.columns) == ["timestamp", "score"]
    assert str(result.aggregated_timeline["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_empty_metrics_give_no_data_everywhere() -> None:
    result = score_availability(
        metrics_frame([], ["a"]), availability_params({"a": 5}, {"a": 1}), start=START, end=END
    )
    assert result.services["final_status"].tolist() == [NO_DATA]
    assert result.timeline.empty
    assert result.aggregated_timeline.empty
    assert math.isnan(result.aggregated_score)


def test_empty_parameters_select_nothing() -> None:
    metrics = metrics_frame([("a", at(0), 1)], ["a"])
    params = availability_params({}, {})
    result = score_availability(metrics, params, start=START, end=END)
    assert result.services.empty
    assert result.timeline.empty
    assert math.isnan(result.aggregated_score)


def test_naive_and_microsecond_timestamps_mean_utc() -> None:
    metrics = metrics_frame([("a", at(0), 1), ("a", at(1), 1)], ["a"])
    metrics["timestamp"] = metrics["timestamp"].dt.tz_localize(None).dt.as_unit("us")
    result = score_availability(
        metrics,
        availability_params({"a": 5}, {"a": 1}),
        start=pd.Timestamp("2026-01-01"),
        end=pd.Timestamp("2026-01-02"),
    )
    assert result.timeline["timestamp"].tolist() == utc_series([at(0), at(1)]).tolist()
    assert result.timeline["cumulative_failures"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("failures", "dtype"),
    [
        ([1, 0, 1], np.int32),
        ([2**30, 0, 0], np.int32),  # max x rows exceeds int32, the exact total does not
        ([2**30, 2**30, 0], np.int64),
    ],
)
def test_cumulative_column_is_int32_unless_the_total_needs_more(
    failures: list[int], dtype: type
) -> None:
    metrics = metrics_frame([("a", at(minute), 0) for minute in range(3)], ["a"])
    metrics["failures"] = np.array(failures, dtype=np.int64)
    result = score_availability(
        metrics, availability_params({"a": 5}, {"a": 1}), start=START, end=END
    )
    assert result.timeline["cumulative_failures"].dtype == dtype
    assert result.timeline["cumulative_failures"].tolist() == np.cumsum(failures).tolist()


def test_huge_failure_counts_widen_the_cumulative_column() -> None:
    metrics = metrics_frame([("a", at(0), 0), ("a", at(1), 0)], ["a"])
    metrics["failures"] = np.array([2**31 - 1, 5], dtype=np.int64)
    result = score_availability(
        metrics, availability_params({"a": 5}, {"a": 1}), start=START, end=END
    )
    assert result.timeline["cumulative_failures"].tolist() == [2**31 - 1, 2**31 + 4]
    assert result.timeline["score"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64])
def test_failure_flags_and_other_integer_dtypes_count_alike(dtype: type) -> None:
    metrics = metrics_frame([("a", at(0), 1), ("a", at(1), 0), ("a", at(2), 1)], ["a"])
    metrics["failures"] = metrics["failures"].astype(dtype)
    result = score_availability(
        metrics, availability_params({"a": 5}, {"a": 1}), start=START, end=END
    )
    assert result.timeline["cumulative_failures"].tolist() == [1, 1, 2]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 5])
def test_chunk_boundaries_do_not_change_the_result(chunk_rows: int) -> None:
    """Points split or carried across chunks: duplicates, a service spanning chunks, rows of an
    unknown service and rows outside the window in between."""
    rows = [
        ("a", at(-1), 3),
        ("a", at(0), 1),
        ("a", at(0), 1),
        ("a", at(0), 1),
        ("a", at(1), 0),
        ("a", at(2), 2),
        ("b", at(0.5), 1),
        ("x", at(1), 1),
        ("x", at(2), 1),
        ("c", at(0), 0),
        ("c", at(0), 1),
        ("c", at(2), 1),
        ("c", at(3), 1),
        ("c", at(60 * 24), 1),
    ]
    metrics = metrics_frame(rows, ["a", "b", "x", "c"])
    params = availability_params({"a": 5, "b": 1, "c": 2}, {"a": 2, "b": 3, "c": 4})
    expected = availability_per_row(metrics, params, start=START, end=END)
    with mock.patch.object(availability, "CHUNK_ROWS", chunk_rows):
        result = score_availability(metrics, params, start=START, end=END)
    assert_same_result(result, expected)


def test_a_long_run_of_duplicates_is_never_split_between_chunks() -> None:
    rows = [("a", at(0), 0)] + [("a", at(1), 1)] * 300 + [("a", at(2), 1)]
    metrics = metrics_frame(rows, ["a"])
    params = availability_params({"a": 50}, {"a": 1})
    with mock.patch.object(availability, "CHUNK_ROWS", 10):
        result = score_availability(metrics, params, start=START, end=END)
    assert result.timeline["cumulative_failures"].tolist() == [0, 300, 301]


def test_sub_second_timestamps_refine_the_time_unit_mid_scan() -> None:
    rows = [("a", at(0), 1), ("a", at(1), 0), ("b", at(0.5), 1)]
    rows += [("b", START + pd.Timedelta(minutes=2, microseconds=3), 1)]
    rows += [("c", START + pd.Timedelta(minutes=1, milliseconds=1), 0)]
    rows += [("c", START + pd.Timedelta(minutes=1, milliseconds=1, nanoseconds=1), 2)]
    metrics = metrics_frame(rows, ["a", "b", "c"])
    params = availability_params({"a": 5, "b": 1, "c": 2}, {"a": 2, "b": 3, "c": 4})
    expected = availability_per_row(metrics, params, start=START, end=END)
    with mock.patch.object(availability, "CHUNK_ROWS", 2):
        result = score_availability(metrics, params, start=START, end=END)
    assert_same_result(result, expected)
    assert len(result.aggregated_timeline) == 6


def test_sparse_instants_use_the_sorting_path_with_the_same_result() -> None:
    rows = [("a", at(0), 1), ("a", at(60 * 20), 1), ("b", at(0.25), 1), ("b", at(7), 2)]
    metrics = metrics_frame(rows, ["a", "b"])
    params = availability_params({"a": 5, "b": 3}, {"a": 2, "b": 3})
    dense = score_availability(metrics, params, start=START, end=END)
    with mock.patch.object(availability, "MAX_WINDOW_UNITS_PER_ROW", 0):
        sparse = score_availability(metrics, params, start=START, end=END)
    pd.testing.assert_frame_equal(dense.aggregated_timeline, sparse.aggregated_timeline)
    assert_same_result(sparse, availability_per_row(metrics, params, start=START, end=END))


def assert_same_result(result, expected) -> None:
    tolerance = {"check_dtype": False, "rtol": 1e-12, "atol": 1e-12}
    pd.testing.assert_frame_equal(result.services, expected.services, **tolerance)
    pd.testing.assert_frame_equal(result.timeline, expected.timeline, **tolerance)
    pd.testing.assert_frame_equal(
        result.aggregated_timeline, expected.aggregated_timeline, **tolerance
    )
    assert result.aggregated_score == pytest.approx(expected.aggregated_score, abs=1e-12)


def test_the_literal_formula_on_arrays() -> None:
    failures = np.array([0, 1, 2, 5, 6, 10, 11])
    assert availability_score(failures, 5).tolist() == pytest.approx(
        [1.0, 0.9, 0.8, 0.5, 0.4, 0.0, 0.0]
    )


@pytest.mark.parametrize(
    ("budgets", "weights", "message"),
    [
        (
            {"a": 0},
            {"a": 1},
            "error_budget of 'a' is 0: it must be an integer from 1 to 2147483647",
        ),
        ({"a": 2**31}, {"a": 1}, "error_budget of 'a' is 2147483648"),
        ({"a": 2.5}, {"a": 1}, "error_budget of 'a' is 2.5"),
        ({"a": float("nan")}, {"a": 1}, "error_budget of 'a' is nan"),
        ({"a": 5}, {"a": 0}, "weight of 'a' is 0: it must be an integer from 1 to 10"),
        ({"a": 5}, {"a": 11}, "weight of 'a' is 11"),
    ],
)
def test_out_of_range_parameters_are_rejected(budgets: dict, weights: dict, message: str) -> None:
    metrics = metrics_frame([("a", at(0), 1)], ["a"])
    with pytest.raises(ValueError, match=message):
        score_availability(metrics, availability_params(budgets, weights), start=START, end=END)


def test_integer_valued_float_parameters_are_accepted() -> None:
    metrics = metrics_frame([("a", at(0), 2)], ["a"])
    params = availability_params({"a": 5.0}, {"a": 2.0})
    result = score_availability(metrics, params, start=START, end=END)
    assert result.services.loc["a", "final_score"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m, p: (m, p.drop(columns="weight")), "lack the column 'weight'"),
        (lambda m, p: (m, pd.concat([p, p])), "more than once"),
        (
            lambda m, p: (m.assign(failures=m["failures"].astype(float)), p),
            "failures must hold integers",
        ),
        (lambda m, p: (m.assign(failures=-m["failures"]), p), "must not be negative"),
        (lambda m, p: (m.assign(timestamp="x"), p), "timestamp must hold datetimes"),
    ],
)
def test_malformed_inputs_are_rejected(change, message: str) -> None:
    metrics = metrics_frame([("a", at(0), 1)], ["a"])
    metrics, params = change(metrics, availability_params({"a": 5}, {"a": 1}))
    with pytest.raises(ValueError, match=message):
        score_availability(metrics, params, start=START, end=END)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (END, START, "the window is empty"),
        (START, START, "the window is empty"),
        (pd.NaT, END, "start must be a timestamp"),
    ],
)
def test_bad_windows_are_rejected(start, end, message: str) -> None:
    metrics = metrics_frame([("a", at(0), 1)], ["a"])
    with pytest.raises(ValueError, match=message):
        score_availability(metrics, availability_params({"a": 5}, {"a": 1}), start=start, end=end)
