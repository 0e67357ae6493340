"""Data gaps, completeness and coverage: hand-computed tables over a 10-hour window."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics import completeness
from analytics.availability import score_availability
from analytics.completeness import (
    assess_completeness,
    count_checks,
    service_coverage,
)
from tests.analytics import availability_params, metrics_frame

START = pd.Timestamp("2026-01-01T00:00:00Z")
END = START + pd.Timedelta(hours=10)
IDS = pd.Index(["a", "b", "c", "d", "f", "g"], name="service_id")


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


def hours(value: float) -> pd.Timedelta:
    return pd.Timedelta(hours=value)


ROWS = [
    # a: steps 1, 1, 1, 4, 1 h: median 1 h, one 4 h stretch from 03:30 to 07:30.
    *(("a", at(h), 0) for h in (0.5, 1.5, 2.5, 3.5, 7.5, 8.5)),
    ("b", at(5), 0),  # a single check: interval unknown
    # c: two rows at 01:00 are one check; then silence from 02:00 to the end.
    ("c", at(1), 1),
    ("c", at(1), 0),
    ("c", at(2), 0),
    # d: no check at all.
    # f: steps 10, 10, 40 min then 60 min x 8: median 60 min, 12 checks for 10 expected.
    *(("f", at(h), 0) for h in (0, 1 / 6, 2 / 6, *range(1, 10))),
    # g: steps 1, 2, 3, 3.5 h: an even count, median 2.5 h.
    *(("g", at(h), 0) for h in (0, 1, 3, 6, 9.5)),
    ("z", at(1), 0),  # not analysed
]
EXCLUDED = pd.DataFrame(
    {
        "service_id": pd.Categorical(["a", "b"], categories=list(IDS)),
        "start": [at(4), at(0)],
        "end": [at(6), at(10)],
    }
)


def metrics() -> pd.DataFrame:
    return metrics_frame(ROWS, [*IDS, "z"])


def test_completeness_and_gaps_per_service() -> None:
    result = assess_completeness(metrics(), IDS, start=START, end=END)
    services = result.services
    assert services["checks"].tolist() == [6, 1, 2, 0, 12, 5]
    assert services["expected_interval"].tolist()[:1] == [hours(1)]
    assert pd.isna(services.loc["b", "expected_interval"])
    assert services.loc["g", "expected_interval"] == hours(2.5)
    assert services["interval_source"].tolist() == [
        "median",
        "unknown",
        "median",
        "unknown",
        "median",
        "median",
    ]
    completeness = services["completeness"].tolist()
    assert completeness[0] == pytest.approx(0.6)  # 6 of 10 expected
    assert math.isnan(completeness[1])  # unknown, hence not flagged
    assert completeness[2:] == pytest.approx([0.2, 0.0, 1.0, 1.0])  # f: 12 / 10, capped
    assert services["incomplete"].tolist() == [True, False, True, True, False, False]
    assert services["observed_hours"].tolist() == [10.0] * 6
    gaps = result.gaps
    assert list(zip(gaps["service_id"], gaps["start"], gaps["end"], strict=True)) == [
        ("a", at(3.5), at(7.5)),  # 4 h > 3 x 1 h
        ("c", at(2), END),  # the stretch to the window end counts
        ("d", START, END),  # no check: the whole window
    ]
    assert gaps["duration"].tolist() == [hours(4), hours(8), hours(10)]
    assert gaps["missing"].tolist() == [hours(4), hours(8), hours(10)]
    assert services["gaps"].tolist() == [1, 0, 1, 1, 0, 0]
    assert services["missing_hours"].tolist() == [4.0, 0.0, 8.0, 10.0, 0.0, 0.0]


def test_excluded_time_is_neither_observed_nor_missing() -> None:
    result = assess_completeness(metrics(), IDS, start=START, end=END, excluded=EXCLUDED)
    a, b = result.services.loc["a"], result.services.loc["b"]
    # a: 2 of the 4 silent hours are maintenance; 2 h missing is not above 3 h.
    assert (a["observed_hours"], a["expected_checks"], a["gaps"]) == (8.0, 8.0, 0)
    assert a["completeness"] == pytest.approx(0.75)
    # b is excluded the whole window: nothing observed, completeness unknown.
    assert b["observed_hours"] == 0.0 and math.isnan(b["completeness"])
    assert result.gaps["service_id"].tolist() == ["c", "d"]


def test_a_partly_excluded_gap_reports_its_missing_time() -> None:
    excluded = pd.DataFrame(
        {
            "service_id": pd.Categorical(["c"], categories=list(IDS)),
            "start": [at(3)],
            "end": [at(4)],
        }
    )
    result = assess_completeness(metrics(), IDS, start=START, end=END, excluded=excluded)
    gap = result.gaps[result.gaps["service_id"] == "c"].iloc[0]
    assert (gap["start"], gap["end"], gap["duration"], gap["missing"]) == (
        at(2),
        END,
        hours(8),
        hours(7),
    )


def test_configured_intervals_and_parameters() -> None:
    result = assess_completeness(
        metrics(),
        IDS,
        start=START,
        end=END,
        expected_intervals={"b": pd.Timedelta(hours=1), "a": pd.Timedelta(minutes=40), "x": "PT1H"},
        gap_factor=1.5,
        threshold=0.2,
    )
    services = result.services
    assert services.loc["b", "interval_source"] == "configured"
    assert services.loc["b", "completeness"] == pytest.approx(0.1)
    assert services.loc["a", "completeness"] == pytest.approx(0.4)  # 6 of 15
    assert services["incomplete"].tolist() == [False, True, False, True, False, False]
    # b with a 1 h interval and a factor 1.5: silent 5 h before and after its check.
    b_gaps = result.gaps[result.gaps["service_id"] == "b"]
    assert list(zip(b_gaps["start"], b_gaps["end"], strict=True)) == [(START, at(5)), (at(5), END)]
    # a with 40 min x 1.5 = 1 h: the 4 h stretch and the last 1.5 h; 1 h steps are not gaps.
    a_gaps = result.gaps[result.gaps["service_id"] == "a"]
    assert list(zip(a_gaps["start"], a_gaps["end"], strict=True)) == [
        (at(3.5), at(7.5)),
        (at(8.5), END),
    ]
    assert (result.gap_factor, result.threshold) == (1.5, 0.2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"gap_factor": 0}, "gap_factor must be a positive number"),
        ({"gap_factor": float("nan")}, "gap_factor must be a positive number"),
        ({"threshold": 1.5}, "threshold must be a fraction from 0 to 1"),
        (
            {"expected_intervals": {"a": pd.Timedelta(0)}},
            "expected interval of 'a' must be positive",
        ),
    ],
)
def test_bad_parameters_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assess_completeness(metrics(), IDS, start=START, end=END, **options)


def test_unsorted_input_and_the_scoring_timeline_agree_with_sorted_metrics() -> None:
    expected = assess_completeness(metrics(), IDS, start=START, end=END)
    shuffled = metrics().sample(frac=1, random_state=5).reset_index(drop=True)
    from_shuffled = assess_completeness(shuffled, IDS, start=START, end=END)
    timeline = score_availability(
        metrics(),
        availability_params(dict.fromkeys(IDS, 5), dict.fromkeys(IDS, 1)),
        start=START,
        end=END,
    ).timeline
    from_timeline = assess_completeness(timeline, IDS, start=START, end=END)
    for result in (from_shuffled, from_timeline):
        pd.testing.assert_frame_equal(result.services, expected.services)
        pd.testing.assert_frame_equal(result.gaps, expected.gaps)


def test_rows_outside_the_window_are_ignored() -> None:
    outside = metrics_frame([*ROWS, ("a", at(-1), 0), ("a", END, 0)], [*IDS, "z"])
    result = assess_completeness(outside, IDS, start=START, end=END)
    assert result.services.loc["a", "checks"] == 6


def test_check_counts_and_coverage() -> None:
    assert count_checks(metrics(), IDS, start=START, end=END).tolist() == [6, 1, 2, 0, 12, 5]
    assert count_checks(metrics(), IDS, start=at(1), end=at(2)).tolist() == [1, 0, 1, 0, 1, 1]
    checks = pd.Series([6, 1, 2, 0], index=["a", "b", "c", "d"])
    coverage = service_coverage(checks, pd.Index(["a", "b", "c", "d", "e"]))
    assert (coverage.with_data, coverage.inventory, coverage.without_data) == (3, 5, ("d", "e"))
    assert coverage.coverage == pytest.approx(0.6)
    assert math.isnan(service_coverage(checks, pd.Index([])).coverage)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7])
def test_the_order_check_finds_repeats_across_chunk_boundaries(
    chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = assess_completeness(metrics(), IDS, start=START, end=END)
    monkeypatch.setattr(completeness, "CHUNK_ROWS", chunk_rows)
    result = assess_completeness(metrics(), IDS, start=START, end=END)  # c repeats 01:00
    pd.testing.assert_frame_equal(result.services, expected.services)
    pd.testing.assert_frame_equal(result.gaps, expected.gaps)
