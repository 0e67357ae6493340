"""The dashboard model without Dash: playback frames (thinning, as-of lookup, "no data yet",
exact final frame), the playback data, filters, checked callback inputs, gauge bands from the
report's thresholds, the data-quality section and the configuration of a report."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.config import parse_config
from analytics.dashboard_model import (
    AVAILABILITY,
    MAX_FRAMES,
    PENDING,
    RESILIENCE,
    ReportArrays,
    UnknownValue,
    build_frames,
    checked_choices,
    checked_theme,
    config_from_report,
    dashboard_model,
    data_quality,
    frame_indices,
    gauge_bands,
    instant_labels,
    percent_values,
    playback_data,
    recorded_thresholds,
    report_arrays,
    status_tally,
    visible_items,
    worst_item,
)
from tests.components import availability_report, resilience_report

ORDER = (PENDING, "GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA")


def times(*minutes: int) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ns") + np.array(minutes, dtype="timedelta64[m]")


def arrays(
    items: Sequence[tuple[list[int], list[float], list[str], list[int] | None]],
    *,
    aggregated_times: np.ndarray,
    aggregated_scores: np.ndarray,
    final_percents: Sequence[float],
    final_statuses: Sequence[str],
    final_counts: Sequence[int] | None,
    final_aggregated_percent: float,
    weights: Sequence[float] | None = None,
) -> ReportArrays:
    """ReportArrays of items given as (minutes, scores, statuses, counts)."""
    count = len(items)
    with_counts = final_counts is not None
    return ReportArrays(
        ids=np.array([f"i{n}" for n in range(count)], dtype=object),
        names=np.array([f"Item {n}" for n in range(count)], dtype=object),
        types=np.array(["t"] * count, dtype=object),
        final_statuses=np.array(final_statuses, dtype=object),
        final_percents=np.array(final_percents, dtype=float),
        final_counts=np.array(final_counts) if with_counts else None,
        weights=np.ones(count) if weights is None else np.array(weights, dtype=float),
        point_offsets=np.concatenate([[0], np.cumsum([len(item[0]) for item in items])]),
        point_times=np.concatenate([times(*item[0]) for item in items] or [times()]),
        point_scores=np.array([score for item in items for score in item[1]], dtype=float),
        point_statuses=np.array([status for item in items for status in item[2]], dtype=object),
        point_counts=(
            np.array([n for item in items for n in (item[3] or [])], dtype=np.int64)
            if with_counts
            else None
        ),
        aggregated_times=aggregated_times,
        aggregated_scores=aggregated_scores,
        final_aggregated_percent=final_aggregated_percent,
    )


def three_services(**overrides) -> ReportArrays:
    """svc A from minute 0, svc B from minute 20 (no data before), svc C never (NO_DATA)."""
    arguments = {
        "aggregated_times": times(0, 10, 20, 30),
        "aggregated_scores": np.array([1.0, 0.95, 0.85, 0.675]),
        "final_percents": [40.0, 95.0, np.nan],
        "final_statuses": ["CRITICAL", "GOOD", "NO_DATA"],
        "final_counts": [6, 1, 0],
        "final_aggregated_percent": 67.5,
    }
    items = [
        ([0, 10, 20, 30], [1.0, 0.9, 0.7, 0.4], ["GOOD", "GOOD", "ATTENZIONE", "CRITICAL"],
         [0, 1, 3, 6]),
        ([20, 30], [1.0, 0.95], ["GOOD", "GOOD"], [0, 1]),
        ([], [], [], []),
    ]  # fmt: skip
    return arrays(items, **{**arguments, **overrides})


def frames_of(report_arrays_: ReportArrays, **options):
    return build_frames(report_arrays_, status_order=ORDER, **options)


@pytest.mark.parametrize(
    ("count", "limit", "expected"),
    [(0, 500, []), (1, 500, [0]), (4, 500, [0, 1, 2, 3]), (5, 3, [0, 2, 4]), (10, 4, [0, 3, 6, 9])],
)
def test_frame_indices_are_even_and_keep_first_and_last(count, limit, expected):
    assert frame_indices(count, limit=limit).tolist() == expected


def test_frame_indices_never_exceed_the_limit():
    chosen = frame_indices(100_000)
    assert len(chosen) == MAX_FRAMES
    assert chosen[0] == 0 and chosen[-1] == 99_999
    assert (np.diff(chosen) > 0).all()


def test_each_item_shows_its_latest_point_at_or_before_the_frame():
    frames = frames_of(three_services())
    names = np.array(ORDER)
    assert frames.scores[:-1, 0].tolist() == [1.0, 0.9, 0.7]
    assert names[frames.codes[:, 0]].tolist() == ["GOOD", "GOOD", "ATTENZIONE", "CRITICAL"]
    assert frames.counts[:, 0].tolist() == [0, 1, 3, 6]


def test_before_its_first_point_an_item_has_no_data_yet_never_a_healthy_default():
    frames = frames_of(three_services())
    names = np.array(ORDER)
    assert names[frames.codes[:, 1]].tolist() == [PENDING, PENDING, "GOOD", "GOOD"]
    assert np.isnan(frames.scores[:2, 1]).all()
    # Without any point in the window it is NO_DATA throughout.
    assert names[frames.codes[:, 2]].tolist() == ["NO_DATA"] * 4
    assert np.isnan(frames.scores[:, 2]).all()


def test_frames_between_points_hold_the_previous_point():
    frames = frames_of(
        three_services(aggregated_times=times(0, 5, 25, 30), aggregated_scores=np.ones(4))
    )
    assert frames.scores[:-1, 0].tolist() == [1.0, 1.0, 0.7]


def test_points_at_the_same_instant_show_the_last_one():
    same = arrays(
        [([0, 10, 10], [1.0, 0.8, 0.6], ["GOOD", "GOOD", "ATTENZIONE"], None)],
        aggregated_times=times(0, 10, 20),
        aggregated_scores=np.ones(3),
        final_percents=[60.0],
        final_statuses=["ATTENZIONE"],
        final_counts=None,
        final_aggregated_percent=60.0,
    )
    assert frames_of(same).scores[:, 0].tolist() == [1.0, 0.6, 0.6]


def test_the_last_frame_shows_the_reports_final_values_exactly():
    frames = frames_of(
        three_services(final_percents=[12.3456, 95.0, np.nan], final_aggregated_percent=61.234)
    )
    assert frames.scores[-1, 0] == 0.123456
    assert frames.aggregated[-1] == pytest.approx(0.61234)
    assert frames.aggregated[:-1].tolist() == [1.0, 0.95, 0.85]


def test_frames_are_thinned_to_the_limit_with_the_last_instant():
    minutes = list(range(1000))
    long = arrays(
        [(minutes, [1.0] * 1000, ["GOOD"] * 1000, None)],
        aggregated_times=times(*minutes),
        aggregated_scores=np.ones(1000),
        final_percents=[100.0],
        final_statuses=["GOOD"],
        final_counts=None,
        final_aggregated_percent=100.0,
    )
    frames = frames_of(long, max_frames=50)
    assert len(frames.instants) == 50
    assert frames.instants[-1] == times(999)[0]
    assert frames.counts is None


def test_without_an_aggregated_timeline_it_is_recomputed_with_weights():
    # The older tool's files have no aggregated timeline: 1.0 before a service's first point.
    frames = frames_of(
        three_services(
            aggregated_times=np.array([], dtype="datetime64[ns]"),
            aggregated_scores=np.array([]),
            weights=[3.0, 1.0, 5.0],
        )
    )
    assert frames.instants.tolist() == times(0, 10, 20, 30).tolist()
    expected = [(3 * 1.0 + 1.0) / 4, (3 * 0.9 + 1.0) / 4, (3 * 0.7 + 1.0) / 4, 0.675]
    assert frames.aggregated == pytest.approx(expected)


def test_unknown_statuses_are_refused():
    with pytest.raises(ValueError, match="unknown status 'MAYBE'"):
        frames_of(three_services(final_statuses=["MAYBE", "GOOD", "NO_DATA"]))


def test_status_tally_counts_no_data_yet_as_no_data():
    frames = frames_of(three_services())
    tally = status_tally(frames, ("GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA"))
    assert tally.tolist() == [[1, 0, 0, 2], [1, 0, 0, 2], [1, 1, 0, 1], [1, 0, 1, 1]]
    # ... and an order without NO_DATA leaves them out.
    assert status_tally(frames, ("GOOD",)).tolist() == [[1], [1], [1], [1]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=40), max_size=8).map(sorted),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(min_value=0, max_value=45), min_size=1, max_size=12, unique=True).map(
        sorted
    ),
)
def test_frames_match_a_point_by_point_lookup(point_minutes, frame_minutes):
    """Every frame but the last shows, per item, its latest point at or before the instant."""
    items = [
        (minutes, [index / 100 for index in range(len(minutes))], ["GOOD"] * len(minutes), None)
        for minutes in point_minutes
    ]
    model_arrays = arrays(
        items,
        aggregated_times=times(*frame_minutes),
        aggregated_scores=np.ones(len(frame_minutes)),
        final_percents=[50.0] * len(items),
        final_statuses=["GOOD" if minutes else "NO_DATA" for minutes in point_minutes],
        final_counts=None,
        final_aggregated_percent=50.0,
    )
    frames = frames_of(model_arrays)
    for frame, instant in enumerate(frame_minutes[:-1]):
        for column, minutes in enumerate(point_minutes):
            before = [at for at, minute in enumerate(minutes) if minute <= instant]
            expected = before[-1] / 100 if before else None
            shown = frames.scores[frame, column]
            assert (np.isnan(shown) and expected is None) or shown == expected


def test_instant_labels_are_utc_with_seconds_only_when_needed():
    assert instant_labels(times(0, 90)) == ["2026-01-01 00:00 UTC", "2026-01-01 01:30 UTC"]
    with_seconds = times(0) + np.array([0, 5_000_000_000], dtype="timedelta64[ns]")
    assert instant_labels(with_seconds)[1] == "2026-01-01 00:00:05 UTC"


@pytest.mark.parametrize("fraction", [0.0, 0.87345, 0.8125, 0.95, 1.0, 0.123456789])
def test_percent_values_print_like_the_server_text(fraction):
    # The browser writes value.toFixed(1) + "%": a one-decimal value prints exactly as is.
    (value,) = percent_values(np.array([fraction]))
    assert f"{value:.1f}" == f"{round(fraction * 100, 1):.1f}"


def test_percent_values_turn_nan_into_null():
    assert percent_values(np.array([np.nan, 0.5])) == [None, 50.0]


def test_playback_data_is_plain_json_with_one_row_per_frame():
    report = availability_report(services=3, points=4, no_data=[2])
    model = dashboard_model(report_arrays(report, AVAILABILITY), AVAILABILITY)
    data = playback_data(model)
    json.dumps(data, allow_nan=False)  # plain JSON: no numpy scalars, no NaN
    assert len(data["labels"]) == len(data["scores"]) == len(data["codes"]) == 4
    services = list(report["services"].values())
    assert data["scores"][-1] == [
        None if s["final_score"] is None else float(f"{s['final_score']:.1f}") for s in services
    ]
    assert data["counts"][-1] == [s["total_failures"] for s in services]
    assert data["tally"][-1] == [
        report["summary"]["services_by_status"][b] for b in data["buckets"]
    ]
    assert data["statusNames"] == [PENDING, *AVAILABILITY.statuses]
    assert data["ids"] == list(report["services"])


def test_report_arrays_keep_report_order_and_sort_points_in_time():
    report = availability_report(services=2, points=3)
    points = report["services"]["svc-001"]["detailed_metrics"]
    points.reverse()  # out of order in the file: the model still reads them in time order
    model_arrays = report_arrays(report, AVAILABILITY)
    assert model_arrays.ids.tolist() == ["svc-000", "svc-001"]
    start, end = model_arrays.point_offsets[1:3]
    assert (np.diff(model_arrays.point_times[start:end]) > np.timedelta64(0)).all()


def test_visible_items_and_the_worst_item():
    report = resilience_report(targets=6, hours=4)
    model = dashboard_model(report_arrays(report, RESILIENCE), RESILIENCE)
    assert visible_items(model, None, None) == list(range(6))
    assert visible_items(model, ["vm"], []) == [0, 3]
    severe = [i for i, e in enumerate(report["targets"].values()) if e["final_status"] == "SEVERE"]
    assert visible_items(model, None, ["SEVERE"]) == severe
    scores = [entry["final_score"] for entry in report["targets"].values()]
    assert worst_item(model) == list(report["targets"])[int(np.argmin(scores))]


@pytest.mark.parametrize(
    ("theme", "expected"), [(None, "light"), ("light", "light"), ("dark", "dark")]
)
def test_a_theme_is_light_or_dark(theme, expected):
    assert checked_theme(theme) == expected


@pytest.mark.parametrize("theme", ["solarized", "x" * 10_000, 3, ["dark"]])
def test_any_other_theme_is_refused(theme):
    with pytest.raises(UnknownValue):
        checked_theme(theme)


def test_filter_values_must_be_the_reports_own():
    assert checked_choices(None, ["a", "b"]) == ()
    assert checked_choices(["b", "a", "b"], ["a", "b"]) == ("a", "b")
    for forged in (["c"], "a", [1], {"a": 1}):
        with pytest.raises(UnknownValue):
            checked_choices(forged, ["a", "b"])


def test_gauge_bands_follow_the_thresholds():
    assert gauge_bands("availability", {"critical_below": 0.4, "good_above": 0.9}) == [
        (0, 40.0, "CRITICAL"),
        (40.0, 90.0, "ATTENZIONE"),
        (90.0, 100, "GOOD"),
    ]
    bands = gauge_bands(
        "resilience",
        {"excellent_above": 0.95, "good_from": 0.8, "acceptable_from": 0.5, "critical_from": 0.3},
    )
    assert [(low, status) for low, _, status in bands] == [
        (0, "SEVERE"),
        (30.0, "CRITICAL"),
        (50.0, "ACCEPTABLE"),
        (80.0, "GOOD"),
        (95.0, "EXCELLENT"),
    ]


DEFAULTS = {"critical_below": 0.5, "good_above": 0.8}


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        ({}, DEFAULTS),  # an older report recorded none
        ({"classification": {"status_thresholds": {"critical_below": 0.3, "good_above": 0.7}}},
         {"critical_below": 0.3, "good_above": 0.7}),
        ({"classification": {"status_thresholds": {"critical_below": 0.3}}},
         {"critical_below": 0.3, "good_above": 0.8}),
        ({"classification": {"status_thresholds": "nonsense"}}, DEFAULTS),
        ({"classification": None}, DEFAULTS),
    ],
)  # fmt: skip
def test_the_reports_recorded_thresholds_win_over_the_defaults(report, expected):
    assert recorded_thresholds(report, DEFAULTS) == expected


def test_a_data_quality_section_is_read_into_counts_and_messages():
    quality = data_quality(
        {
            "data_quality": {
                "unknown_statuses": {"DOWNN": 3, "UPP": 1},
                "unknown_status_rows": 4,
                "dropped_rows": {"string timestamp": 2},
                "warnings": ["metrics: 2 rows with a string timestamp (id 17)"],
                "warnings_omitted": 5,
            }
        }
    )
    assert quality is not None
    assert quality.counts == [
        "4 rows with an unknown status: DOWNN (3), UPP (1)",
        "2 rows dropped: string timestamp",
    ]
    assert quality.warnings == ["metrics: 2 rows with a string timestamp (id 17)"]
    assert quality.warnings_omitted == 5


@pytest.mark.parametrize(
    "report",
    [
        {},
        {"data_quality": None},
        {"data_quality": {"unknown_statuses": {}, "unknown_status_rows": 0, "dropped_rows": {},
                          "warnings": [], "warnings_omitted": 0}},
    ],
)  # fmt: skip
def test_a_clean_or_missing_data_quality_section_shows_nothing(report):
    assert data_quality(report) is None


def test_config_from_report_is_a_valid_configuration_of_the_same_analysis():
    availability = availability_report(services=3, points=4)
    config = parse_config(config_from_report(availability))
    assert config.services == list(availability["services"])
    assert config.service_weights == availability["configuration"]["service_weights"]
    resilience = resilience_report(targets=3, hours=7)
    config = parse_config(config_from_report(resilience))
    assert (config.hours, config.weights.rpo) == (7, 0.6)
    assert config.target_weights == resilience["configuration"]["target_weights"]
