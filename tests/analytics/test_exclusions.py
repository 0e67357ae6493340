"""Exclusion windows: validation, DST-correct recurrence, expansion, previews and application."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.availability import score_availability
from analytics.config import ConfigError
from analytics.exclusions import (
    ExclusionWindow,
    exclude_checks,
    exclusions_document,
    expand_exclusions,
    find_overlaps,
    next_occurrences,
    parse_exclusions,
    resilience_exclusion_mask,
)
from analytics.results import NO_DATA
from tests.analytics import availability_params, metrics_frame

START = pd.Timestamp("2026-01-01T00:00:00Z")
END = pd.Timestamp("2026-01-01T10:00:00Z")
SUNDAYS_IN_ROME = {
    "scope": "all",
    "start": "2026-03-01T02:00",
    "duration": "PT2H",
    "rrule": "FREQ=WEEKLY;BYDAY=SU",
    "tz": "Europe/Rome",
    "reason": "weekly maintenance",
}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def one(**fields: object) -> ExclusionWindow:
    document = {"scope": "all", "duration": "PT1H", "reason": "test"} | fields
    return parse_exclusions([document])[0]


def at(hours: float) -> pd.Timestamp:
    return START + pd.Timedelta(hours=hours)


# --- validation ----------------------------------------------------------------------------


def test_a_valid_list_parses_and_round_trips_through_json() -> None:
    exclusions = parse_exclusions(
        [
            SUNDAYS_IN_ROME,
            {
                "scope": "service",
                "value": "db-1",
                "start": "2026-03-10T00:00:00Z",
                "duration": 3600,
                "reason": "  disk swap ",
            },
        ]
    )
    assert exclusions[0].tz == "Europe/Rome"
    assert exclusions[1].reason == "disk swap"
    assert exclusions[1].duration == pd.Timedelta(hours=1)
    assert parse_exclusions(exclusions_document(exclusions)) == exclusions


def test_an_rrule_prefix_is_accepted() -> None:
    assert one(start="2026-01-01T00:00", rrule="RRULE:FREQ=DAILY").rrule == "FREQ=DAILY"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tz": "Europe/Rom"}, "exclusions.0.tz: unknown time zone 'Europe/Rom' (an IANA name"),
        ({"duration": "PT0S"}, "exclusions.0.duration: 0s is out of range: a positive duration"),
        ({"duration": "-PT1H"}, "exclusions.0.duration: -1h is out of range"),
        ({"duration": "P367D"}, "exclusions.0.duration: 367d is out of range"),
        (
            {"rrule": "FREQ=WEEKLY;BYDAY=XX"},
            "exclusions.0: rrule: 'FREQ=WEEKLY;BYDAY=XX' is not a valid RRULE: invalid 'BYDAY': XX",
        ),
        ({"rrule": "BYDAY=SU"}, "exclusions.0.rrule: 'BYDAY=SU' needs FREQ= one of YEARLY"),
        ({"rrule": "FREQ=MINUTELY"}, "exclusions.0.rrule: 'FREQ=MINUTELY' needs FREQ= one of"),
        ({"rrule": "FREQ=DAILY\nEXDATE:20260302T000000"}, "is not one RFC 5545 RRULE line"),
        ({"rrule": "DTSTART:20260101T000000;FREQ=DAILY"}, "(the start is the start field)"),
        ({"rrule": "FREQ=DAILY;COUNT=0"}, "exclusions.0: rrule: 'FREQ=DAILY;COUNT=0' never occurs"),
        (
            {"rrule": "FREQ=WEEKLY;UNTIL=20260401", "tz": "Europe/Rome"},
            "UNTIL values must be specified in UTC",
        ),
        (
            {"rrule": "FREQ=DAILY", "duration": "P1DT1H"},
            "exclusions.0: duration: 1d1h is longer than the 1d between occurrences "
            "2026-01-01 00:00 and 2026-01-02 00:00 (UTC); occurrences must not overlap",
        ),
        ({"scope": "service"}, "exclusions.0: value: missing; scope 'service' needs the service"),
        ({"scope": "all", "value": "x"}, "exclusions.0: value: 'x' must be left out when scope"),
        ({"scope": "host"}, 'exclusions.0.scope: "host" is not allowed'),
        ({"reason": "  "}, "exclusions.0.reason: must say why"),
        ({"start": "2300-01-01T00:00"}, "exclusions.0: start: 2300-01-01 00:00:00 is out of range"),
        ({"start": "soon"}, 'exclusions.0.start: "soon" is not an ISO-8601 date-time'),
        ({"colour": "red"}, 'exclusions.0: unknown key "colour"'),
    ],
)
def test_invalid_exclusions_are_refused_naming_the_field(fields: dict, message: str) -> None:
    document = {"scope": "all", "start": "2026-01-01T00:00", "duration": "PT1H", "reason": "r"}
    with pytest.raises(ConfigError) as raised:
        parse_exclusions([document | fields])
    assert message in str(raised.value)


def test_a_missing_reason_is_named() -> None:
    with pytest.raises(ConfigError, match=r'exclusions\.0: missing key "reason"'):
        parse_exclusions([{"scope": "all", "start": "2026-01-01T00:00", "duration": "PT1H"}])


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        # Two one-off windows of the same scope, 02:00-04:00 and 03:00-05:00.
        (
            {"start": "2026-01-01T02:00", "duration": "PT2H"},
            {"start": "2026-01-01T03:00", "duration": "PT2H"},
            "2026-01-01T03:00Z",
        ),
        # Touching is not overlapping (intervals are half-open).
        (
            {"start": "2026-01-01T02:00", "duration": "PT2H"},
            {"start": "2026-01-01T04:00", "duration": "PT1H"},
            None,
        ),
        # A weekly window met by a one-off one months later.
        (
            {"start": "2026-01-04T02:00", "duration": "PT2H", "rrule": "FREQ=WEEKLY"},
            {"start": "2026-06-07T03:00", "duration": "PT1H"},
            "2026-06-07T03:00Z",
        ),
        # ... unless the weekly one ended before.
        (
            {"start": "2026-01-04T02:00", "duration": "PT2H", "rrule": "FREQ=WEEKLY;COUNT=2"},
            {"start": "2026-06-07T03:00", "duration": "PT1H"},
            None,
        ),
    ],
)
def test_overlaps_of_the_same_scope_are_found(
    first: dict, second: dict, overlap: str | None
) -> None:
    base = {"scope": "service_type", "value": "database", "reason": "r"}
    exclusions = [
        ExclusionWindow.model_validate(base | first),
        ExclusionWindow.model_validate(base | second),
    ]
    found = find_overlaps(exclusions)
    assert found == ([] if overlap is None else [(0, 1, utc(overlap))])
    if overlap is not None:
        with pytest.raises(ConfigError) as raised:
            parse_exclusions([base | first, base | second])
        assert str(raised.value) == (
            f"exclusions.0 and exclusions.1 (both service_type 'database') overlap at "
            f"{utc(overlap):%Y-%m-%d %H:%M} UTC; merge them into one or move one"
        )


def test_overlaps_of_different_scopes_are_allowed() -> None:
    window = {"start": "2026-01-01T02:00", "duration": "PT2H", "reason": "r"}
    parse_exclusions(
        [window | {"scope": "all"}, window | {"scope": "service_type", "value": "database"}]
    )


# --- recurrence, expansion and preview -----------------------------------------------------


def test_a_weekly_rome_window_follows_the_local_clock_across_dst() -> None:
    sundays = one(**SUNDAYS_IN_ROME)
    starts = sundays.occurrences(utc("2026-03-20T00:00Z"), utc("2026-04-10T00:00Z"))
    assert list(pd.to_datetime(starts, utc=True)) == [
        utc("2026-03-22T01:00Z"),  # 02:00 CET
        # 02:00 does not exist on 2026-03-29 in Rome: read with the offset before the change.
        utc("2026-03-29T01:00Z"),
        utc("2026-04-05T00:00Z"),  # 02:00 CEST
    ]
    # 02:00 happens twice on 2026-10-25: the first (CEST) one.
    autumn = sundays.occurrences(utc("2026-10-24T00:00Z"), utc("2026-10-26T00:00Z"))
    assert list(pd.to_datetime(autumn, utc=True)) == [utc("2026-10-25T00:00Z")]


def test_a_start_with_an_offset_is_read_in_the_zone() -> None:
    exclusion = one(start="2026-01-04T01:00:00Z", tz="Europe/Rome", rrule="FREQ=WEEKLY")
    assert exclusion.local_start.isoformat() == "2026-01-04T02:00:00+01:00"
    summer = exclusion.occurrences(utc("2026-07-01T00:00Z"), utc("2026-07-08T00:00Z"))
    assert list(pd.to_datetime(summer, utc=True)) == [utc("2026-07-05T00:00Z")]


def test_expansion_clips_occurrences_to_the_window() -> None:
    exclusions = [
        one(**SUNDAYS_IN_ROME),
        one(scope="service", value="a", start="2026-05-01T00:00"),
    ]
    expanded = expand_exclusions(
        exclusions, start=utc("2026-03-22T02:00Z"), end=utc("2026-04-05T01:00Z")
    )
    assert expanded["exclusion"].tolist() == [0, 0, 0]
    assert list(zip(expanded["start"], expanded["end"], strict=True)) == [
        (utc("2026-03-22T02:00Z"), utc("2026-03-22T03:00Z")),
        (utc("2026-03-29T01:00Z"), utc("2026-03-29T03:00Z")),
        (utc("2026-04-05T00:00Z"), utc("2026-04-05T01:00Z")),
    ]
    assert expanded["reason"].tolist() == ["weekly maintenance"] * 3
    assert expanded["scope"].tolist() == ["all"] * 3


def test_the_preview_lists_the_next_occurrences_with_an_ongoing_one() -> None:
    preview = next_occurrences(one(**SUNDAYS_IN_ROME), after=utc("2026-03-22T01:30Z"), count=3)
    assert preview["start"].tolist() == [
        utc("2026-03-22T01:00Z"),
        utc("2026-03-29T01:00Z"),
        utc("2026-04-05T00:00Z"),
    ]
    assert preview["end"].tolist() == [
        utc("2026-03-22T03:00Z"),
        utc("2026-03-29T03:00Z"),
        utc("2026-04-05T02:00Z"),
    ]
    assert [value.isoformat() for value in preview["local_start"]] == [
        "2026-03-22T02:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-04-05T02:00:00+02:00",
    ]


def test_the_preview_of_a_past_one_off_window_is_empty() -> None:
    exclusion = one(start="2026-01-01T00:00")
    assert next_occurrences(exclusion, after=utc("2026-01-01T00:30Z"))["start"].tolist() == [
        utc("2026-01-01T00:00Z")
    ]
    empty = next_occurrences(exclusion, after=utc("2026-01-01T01:00Z"))
    assert empty.empty
    assert list(empty.columns) == ["start", "end", "local_start", "local_end"]


# --- availability --------------------------------------------------------------------------

SERVICES = pd.DataFrame(
    {"service_type": ["database", "web_service", "database"]},
    index=pd.Index(["a", "b", "c"], name="service_id"),
)


def exclusion_list() -> tuple[ExclusionWindow, ...]:
    return parse_exclusions(
        [
            {"scope": "all", "start": "2026-01-01T01:00", "duration": "PT1H", "reason": "all"},
            {
                "scope": "service_type",
                "value": "database",
                "start": "2026-01-01T04:00",
                "duration": "PT2H",
                "reason": "db",
            },
            {
                "scope": "service",
                "value": "b",
                "start": "2025-12-31T23:00",
                "duration": "PT30M",
                "reason": "before the window",
            },
            {
                "scope": "service_type",
                "value": "mail",
                "start": "2026-01-01T00:00",
                "duration": "PT1H",
                "reason": "no such service",
            },
            {
                "scope": "target_type",
                "value": "vm",
                "start": "2026-01-01T00:00",
                "duration": "P1D",
                "reason": "resilience only",
            },
        ]
    )


def sample_metrics() -> pd.DataFrame:
    return metrics_frame(
        [
            ("a", at(0.5), 0),
            ("a", at(1), 1),  # at an occurrence's start: excluded
            ("a", at(1), 1),  # the same check
            ("a", at(2), 1),  # at its end: kept
            ("a", at(4 + 59 / 60), 1),  # database maintenance
            ("a", at(6), 0),
            ("b", at(-0.75), 1),  # 23:15, before the window: removed, not counted
            ("b", at(1.5), 0),
            ("b", at(4.5), 1),  # b is not a database
            ("c", at(9 + 59 / 60), 0),
            ("z", at(1.5), 1),  # not a selected service: untouched
        ],
        ["a", "b", "c", "z"],
    )


def test_checks_inside_exclusions_are_dropped_and_counted() -> None:
    metrics = sample_metrics()
    before = metrics.copy()
    result = exclude_checks(
        metrics, SERVICES, exclusion_list(), start=START, end=END, data_start=at(-1)
    )
    pd.testing.assert_frame_equal(metrics, before)  # input unmodified
    kept = result.metrics
    assert list(zip(kept["service_id"], kept["timestamp"], strict=True)) == [
        ("a", at(0.5)),
        ("a", at(2)),
        ("a", at(6)),
        ("b", at(4.5)),
        ("c", at(9 + 59 / 60)),
        ("z", at(1.5)),
    ]
    assert kept["service_id"].dtype == metrics["service_id"].dtype
    assert result.services.to_dict("index") == {
        "a": {"excluded_checks": 2, "excluded_failures": 3, "excluded_hours": 3.0},
        "b": {"excluded_checks": 1, "excluded_failures": 0, "excluded_hours": 1.0},
        "c": {"excluded_checks": 0, "excluded_failures": 0, "excluded_hours": 3.0},
    }
    intervals = result.intervals
    assert list(
        zip(intervals["service_id"], intervals["start"], intervals["end"], strict=True)
    ) == [
        ("a", at(1), at(2)),
        ("a", at(4), at(6)),
        ("b", at(1), at(2)),
        ("c", at(1), at(2)),
        ("c", at(4), at(6)),
    ]
    assert result.unmatched == (3,)


def test_without_data_start_rows_before_the_window_stay() -> None:
    result = exclude_checks(sample_metrics(), SERVICES, exclusion_list(), start=START, end=END)
    assert at(-0.75) in set(result.metrics["timestamp"])


def test_nothing_excluded_returns_the_input_frame() -> None:
    metrics = sample_metrics()
    result = exclude_checks(metrics, SERVICES, [], start=START, end=END)
    assert result.metrics is metrics
    assert result.services["excluded_checks"].tolist() == [0, 0, 0]
    assert result.intervals.empty


def test_unsorted_rows_give_the_same_result() -> None:
    metrics = sample_metrics()
    shuffled = metrics.sample(frac=1, random_state=3).reset_index(drop=True)
    sorted_result = exclude_checks(metrics, SERVICES, exclusion_list(), start=START, end=END)
    shuffled_result = exclude_checks(shuffled, SERVICES, exclusion_list(), start=START, end=END)
    pd.testing.assert_frame_equal(sorted_result.services, shuffled_result.services)
    assert sorted(map(tuple, shuffled_result.metrics.astype(str).to_numpy())) == sorted(
        map(tuple, sorted_result.metrics.astype(str).to_numpy())
    )


def test_an_exclusion_over_the_whole_window_gives_no_data() -> None:
    everything = parse_exclusions(
        [
            {
                "scope": "service",
                "value": "a",
                "start": "2025-12-31T00:00",
                "duration": "P2D",
                "reason": "r",
            }
        ]
    )
    result = exclude_checks(sample_metrics(), SERVICES, everything, start=START, end=END)
    scored = score_availability(
        result.metrics,
        availability_params({"a": 5, "b": 5}, {"a": 1, "b": 1}),
        start=START,
        end=END,
    )
    assert scored.services.loc["a", "final_status"] == NO_DATA
    assert scored.services.loc["b", "final_status"] != NO_DATA
    assert result.services.loc["a", "excluded_hours"] == 10.0


# --- resilience ----------------------------------------------------------------------------


def test_the_resilience_mask_marks_excluded_hourly_instants() -> None:
    targets = pd.DataFrame(
        {"target_type": ["vm", "container"]}, index=pd.Index(["t1", "t2"], name="target_id")
    )
    exclusions = parse_exclusions(
        [
            {"scope": "all", "start": "2026-01-01T02:00", "duration": "PT2H", "reason": "all"},
            {
                "scope": "target_type",
                "value": "vm",
                "start": "2026-01-01T04:00",
                "duration": "PT1H1S",
                "reason": "vm",
            },
            # Ends at the last instant (06:00), which is therefore not excluded.
            {
                "scope": "target",
                "value": "t2",
                "start": "2026-01-01T05:30",
                "duration": "PT30M",
                "reason": "t",
            },
            # Starts before the window and reaches just past the first instant (01:00).
            {
                "scope": "target",
                "value": "t2",
                "start": "2025-12-31T23:00",
                "duration": "PT2H1S",
                "reason": "t",
            },
            # Availability scopes do not apply.
            {
                "scope": "service_type",
                "value": "vm",
                "start": "2026-01-01T00:00",
                "duration": "P1D",
                "reason": "s",
            },
        ]
    )
    mask = resilience_exclusion_mask(exclusions, targets, start=START, hours=6)
    assert mask.tolist() == [
        [False, True, True, True, True, False],  # t1 at 01:00 .. 06:00
        [True, True, True, False, False, False],  # t2
    ]
    assert mask.dtype == np.bool_


@pytest.mark.parametrize("hours", [0, -1, 2.5, True])
def test_the_resilience_mask_needs_whole_hours(hours: object) -> None:
    targets = pd.DataFrame({"target_type": ["vm"]}, index=pd.Index(["t1"], name="target_id"))
    with pytest.raises(ValueError, match="hours must be a whole number of at least 1"):
        resilience_exclusion_mask([], targets, start=START, hours=hours)
