"""Playback frames and payload: thinning, as-of lookup, "no data yet", exact final frame."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dash import dcc, html

from components.gauges import percent_text
from components.timeline import (
    MAX_FRAMES,
    PENDING,
    ItemTimeline,
    build_frames,
    frame_indices,
    instant_labels,
    percent_values,
    playback_payload,
    status_tally,
    timeline_controls,
)

ORDER = (PENDING, "GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA")


def times(*minutes: int) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ns") + np.array(minutes, dtype="timedelta64[m]")


def item(minutes: list[int], scores: list[float], statuses: list[str], counts=None):
    return ItemTimeline(
        timestamps=times(*minutes),
        scores=np.array(scores, dtype=float),
        statuses=np.array(statuses),
        counts=None if counts is None else np.array(counts),
    )


def two_services(**overrides):
    """svc A from minute 0, svc B from minute 20 (no data before), svc C never (NO_DATA)."""
    a = item([0, 10, 20, 30], [1.0, 0.9, 0.7, 0.4], ["GOOD", "GOOD", "ATTENZIONE", "CRITICAL"],
             [0, 1, 3, 6])  # fmt: skip
    b = item([20, 30], [1.0, 0.95], ["GOOD", "GOOD"], [0, 1])
    c = item([], [], [], [])
    arguments = {
        "aggregated_times": times(0, 10, 20, 30),
        "aggregated_scores": np.array([1.0, 0.95, 0.85, 0.675]),
        "items": [a, b, c],
        "final_scores": np.array([0.4, 0.95, np.nan]),
        "final_statuses": ["CRITICAL", "GOOD", "NO_DATA"],
        "final_counts": np.array([6, 1, 0]),
        "final_aggregated": 0.675,
        "status_order": ORDER,
    }
    return build_frames(**{**arguments, **overrides})


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
    frames = two_services()
    names = np.array(ORDER)
    assert frames.scores[:, 0].tolist() == [1.0, 0.9, 0.7, 0.4]
    assert names[frames.codes[:, 0]].tolist() == ["GOOD", "GOOD", "ATTENZIONE", "CRITICAL"]
    assert frames.counts[:, 0].tolist() == [0, 1, 3, 6]


def test_before_its_first_point_an_item_has_no_data_yet_never_a_healthy_default():
    frames = two_services()
    names = np.array(ORDER)
    assert names[frames.codes[:, 1]].tolist() == [PENDING, PENDING, "GOOD", "GOOD"]
    assert np.isnan(frames.scores[:2, 1]).all()
    # Without any point in the window it is NO_DATA throughout.
    assert names[frames.codes[:, 2]].tolist() == ["NO_DATA"] * 4
    assert np.isnan(frames.scores[:, 2]).all()


def test_frames_between_points_hold_the_previous_point():
    frames = two_services(aggregated_times=times(0, 5, 25, 30), aggregated_scores=np.ones(4))
    assert frames.scores[:, 0].tolist() == [1.0, 1.0, 0.7, 0.4]


def test_the_last_frame_shows_the_reports_final_values_exactly():
    frames = two_services(final_scores=np.array([0.123456, 0.95, np.nan]), final_aggregated=0.61234)
    assert frames.scores[-1, 0] == 0.123456
    assert frames.aggregated[-1] == 0.61234
    assert frames.aggregated[:-1].tolist() == [1.0, 0.95, 0.85]


def test_frames_are_thinned_to_the_limit_with_the_last_instant():
    minutes = list(range(0, 1000))
    long = item(minutes, [1.0] * 1000, ["GOOD"] * 1000)
    frames = build_frames(
        aggregated_times=times(*minutes),
        aggregated_scores=np.ones(1000),
        items=[long],
        final_scores=np.array([1.0]),
        final_statuses=["GOOD"],
        final_counts=None,
        final_aggregated=1.0,
        status_order=ORDER,
        max_frames=50,
    )
    assert len(frames.instants) == 50
    assert frames.instants[-1] == times(999)[0]
    assert frames.counts is None


def test_without_an_aggregated_timeline_it_is_recomputed_with_weights():
    # The older tool's files have no aggregated timeline: 1.0 before a service's first point.
    frames = two_services(
        aggregated_times=np.array([], dtype="datetime64[ns]"),
        aggregated_scores=np.array([]),
        weights=np.array([3.0, 1.0, 5.0]),
    )
    assert frames.instants.tolist() == times(0, 10, 20, 30).tolist()
    expected = [(3 * 1.0 + 1.0) / 4, (3 * 0.9 + 1.0) / 4, (3 * 0.7 + 1.0) / 4, 0.675]
    assert frames.aggregated == pytest.approx(expected)


def test_unknown_statuses_are_refused():
    with pytest.raises(ValueError, match="unknown status 'MAYBE'"):
        two_services(final_statuses=["MAYBE", "GOOD", "NO_DATA"])


def test_status_tally_counts_no_data_yet_as_no_data():
    tally = status_tally(two_services(), ("GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA"))
    assert tally.tolist() == [[1, 0, 0, 2], [1, 0, 0, 2], [1, 1, 0, 1], [1, 0, 1, 1]]
    # ... and an order without NO_DATA leaves them out.
    assert status_tally(two_services(), ("GOOD",)).tolist() == [[1], [1], [1], [1]]


def test_instant_labels_are_utc_with_seconds_only_when_needed():
    assert instant_labels(times(0, 90)) == ["2026-01-01 00:00 UTC", "2026-01-01 01:30 UTC"]
    with_seconds = times(0) + np.array([0, 5_000_000_000], dtype="timedelta64[ns]")
    assert instant_labels(with_seconds)[1] == "2026-01-01 00:00:05 UTC"


@pytest.mark.parametrize("fraction", [0.0, 0.87345, 0.8125, 0.95, 1.0, 0.123456789])
def test_percent_values_print_like_the_server_text(fraction):
    # The browser writes value.toFixed(1) + "%": a one-decimal value prints exactly as is.
    (value,) = percent_values(np.array([fraction]))
    assert f"{value}%" == percent_text(value)


def test_percent_values_turn_nan_into_null():
    assert percent_values(np.array([np.nan, 0.5])) == [None, 50.0]


def test_payload_is_compact_json_with_one_row_per_frame():
    frames = two_services()
    payload = playback_payload(
        prefix="availability-dashboard",
        frames=frames,
        status_texts={status: status.lower() for status in ORDER},
        buckets=("GOOD", "ATTENZIONE", "CRITICAL", "NO_DATA"),
        figures=("gauge",),
        ids=["a", "b", "c"],
        names=["A", "B", "C"],
        types=["web", "db", "web"],
        facts=["x", "y", "z"],
        final_statuses=["CRITICAL", "GOOD", "NO_DATA"],
        final_percents=[40.0, 95.0, None],
        final_aggregated_percent=67.45,
    )
    json.dumps(payload, allow_nan=False)  # plain JSON: no numpy scalars, no NaN
    assert len(payload["labels"]) == len(payload["scores"]) == len(payload["codes"]) == 4
    assert payload["scores"][0] == [100.0, None, None]
    assert payload["scores"][-1] == [40.0, 95.0, None]
    assert payload["counts"][-1] == [6, 1, 0]
    assert payload["aggregated"] == [100.0, 95.0, 85.0, 67.5]
    assert payload["tally"][-1] == [1, 0, 1, 1]
    assert payload["statusNames"] == list(ORDER)
    assert payload["statusTexts"][0] == "pending"
    assert len(payload["colors"]) == len(ORDER)


def find(component, component_id):
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found = find(child, component_id)
            if found is not None:
                return found
    return None


def test_controls_start_paused_at_the_last_frame():
    controls = timeline_controls(prefix="p", labels=["first", "middle", "last"])
    slider = find(controls, "p-slider")
    assert isinstance(slider, dcc.Slider)
    assert (slider.min, slider.max, slider.value, slider.step) == (0, 2, 2, 1)
    assert find(controls, "p-interval").disabled is True
    assert find(controls, "p-instant").children == "last"
    speeds = [option["value"] for option in find(controls, "p-speed").options]
    assert speeds == ["0.5", "1", "2", "5", "10"]
    assert isinstance(controls, html.Div)


def test_controls_without_frames_are_disabled():
    controls = timeline_controls(prefix="p", labels=[])
    assert find(controls, "p-slider").disabled is True
    assert find(controls, "p-play").disabled is True


def test_payload_final_values_are_rounded_like_the_server_writes_them():
    payload = playback_payload(
        prefix="p",
        frames=two_services(),
        status_texts={status: status for status in ORDER},
        buckets=("GOOD",),
        figures=(),
        ids=["a", "b", "c"],
        names=["A", "B", "C"],
        types=["t"] * 3,
        facts=["f"] * 3,
        final_statuses=["CRITICAL", "GOOD", "NO_DATA"],
        final_percents=[81.25, 87.35, None],
        final_aggregated_percent=0.05,
    )
    shown = [percent_text(value) for value in payload["scores"][-1]]
    assert shown == [percent_text(81.25), percent_text(87.35), percent_text(None)]
    assert percent_text(payload["aggregated"][-1]) == percent_text(0.05)
