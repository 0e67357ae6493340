"""JSON reports: layout and units, thinning, equality with a dict-built reference, loading
(older tool's files included), rejection of anything else, and the CSV exports."""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.classify import AvailabilityThresholds, ResilienceThresholds
from analytics.report import (
    Classification,
    DataQuality,
    ReportError,
    analysis_dates,
    build_availability_report,
    build_resilience_report,
    load_report,
    report_data_quality,
    report_kind,
    report_thresholds,
    summarize_report,
    summary_csv,
    thinned_positions,
    timeline_csv,
)
from analytics.results import (
    AVAILABILITY_STATUSES,
    RESILIENCE_STATUSES,
    AvailabilityResult,
    ResilienceResult,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
START = pd.Timestamp("2026-01-01T00:00:00Z")
END = pd.Timestamp("2026-01-02T00:00:00Z")
ANALYSED_AT = pd.Timestamp("2026-01-02T06:30:00Z")
AVAILABILITY_CLASSIFICATION = Classification(
    thresholds=AvailabilityThresholds(),
    failure_statuses=("down", "timeout"),
    success_statuses=("up", "ok"),
)
RESILIENCE_CLASSIFICATION = Classification(
    thresholds=ResilienceThresholds(),
    failure_statuses=("failed",),
    success_statuses=("success", "completed"),
    unknown_status_policy="failure",
)


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-01-01T{text}Z")


def availability_frames(
    services: dict[str, dict[str, Any]], points: dict[str, list[tuple]], aggregated: list[tuple]
) -> AvailabilityResult:
    """A result built by hand: ``services`` id -> finals, ``points`` id -> (timestamp,
    cumulative_failures, score, status) rows, ``aggregated`` (timestamp, score) rows."""
    ids = list(services)
    rows = [(service_id, *row) for service_id in ids for row in points.get(service_id, [])]
    timeline = pd.DataFrame(
        {
            "service_id": pd.Categorical([row[0] for row in rows], categories=ids),
            "timestamp": pd.to_datetime([row[1] for row in rows], utc=True).as_unit("ns"),
            "cumulative_failures": np.array([row[2] for row in rows], dtype=np.int64),
            "score": np.array([row[3] for row in rows], dtype=np.float64),
            "status": pd.Categorical([row[4] for row in rows], categories=AVAILABILITY_STATUSES),
        }
    )
    columns = ["error_budget", "weight", "final_score", "final_status", "total_failures"]
    finals = pd.DataFrame(
        [services[key] for key in ids], columns=columns, index=pd.Index(ids, name="service_id")
    )
    finals["points"] = [len(points.get(service_id, [])) for service_id in ids]
    weights = finals["weight"].to_numpy()
    scored = finals["final_score"].notna().to_numpy()
    aggregate = (
        float(
            np.sum(weights[scored] * finals["final_score"].to_numpy()[scored])
            / weights[scored].sum()
        )
        if scored.any()
        else float("nan")
    )
    return AvailabilityResult(
        services=finals,
        timeline=timeline,
        aggregated_timeline=pd.DataFrame(
            {
                "timestamp": pd.to_datetime([row[0] for row in aggregated], utc=True).as_unit("ns"),
                "score": np.array([row[1] for row in aggregated], dtype=np.float64),
            }
        ),
        aggregated_score=aggregate,
    )


def availability_sample() -> tuple[AvailabilityResult, pd.DataFrame]:
    result = availability_frames(
        {
            "web-1": dict(error_budget=5, weight=5, final_score=0.7, final_status="ATTENZIONE", total_failures=3),
            "db-1": dict(error_budget=3, weight=8, final_score=0.5 - (1 / 3) * 0.5, final_status="CRITICAL", total_failures=4),
            "lonely": dict(error_budget=5, weight=1, final_score=np.nan, final_status="NO_DATA", total_failures=0),
        },
        {
            "web-1": [(at("00:00:00"), 0, 1.0, "GOOD"), (at("00:05:00"), 1, 0.9, "GOOD"), (at("00:10:00"), 3, 0.7, "ATTENZIONE")],
            "db-1": [(at("00:00:00"), 0, 1.0, "GOOD"), (at("12:00:00.5"), 4, 0.5 - (1 / 3) * 0.5, "CRITICAL")],
        },
        [(at("00:00:00"), 1.0), (at("00:05:00"), (5 * 0.9 + 8) / 13), (at("00:10:00"), (5 * 0.7 + 8) / 13),
         (at("12:00:00.5"), (5 * 0.7 + 8 * (0.5 - (1 / 3) * 0.5)) / 13)],
    )  # fmt: skip
    params = pd.DataFrame(
        {
            "display_name": ["Web <script>alert(1)</script>", '=HYPERLINK("http://x")', "Lonely"],
            "service_type": ["web_service", "database", "mystery"],
        },
        index=pd.Index(["web-1", "db-1", "lonely"], name="service_id"),
    )
    return result, params


def resilience_sample() -> tuple[ResilienceResult, pd.DataFrame]:
    ids = ["vm-1", "never"]
    instants = [START + pd.Timedelta(hours=hour) for hour in (1, 2)]
    timeline = pd.DataFrame(
        {
            "target_id": pd.Categorical(["vm-1", "vm-1", "never", "never"], categories=ids),
            "timestamp": pd.DatetimeIndex(instants * 2).as_unit("ns"),
            "actual_rpo_hours": [5.0, 6.5, np.nan, np.nan],
            "rpo_compliance": [1 - 5 / 24, 1 - 6.5 / 24, 0.0, 0.0],
            "success_rate": [1.0, 0.5, 0.0, 0.0],
            "score": [0.6 * (1 - 5 / 24) + 0.4, 0.6 * (1 - 6.5 / 24) + 0.2, 0.0, 0.0],
            "status": pd.Categorical(["GOOD", "ACCEPTABLE", "SEVERE", "SEVERE"], categories=RESILIENCE_STATUSES),
        }
    )  # fmt: skip
    targets = pd.DataFrame(
        {
            "target_rpo_hours": [24.0, 12.0],
            "weight": [3, 1],
            "final_score": [0.6 * (1 - 6.5 / 24) + 0.2, 0.0],
            "final_status": ["ACCEPTABLE", "SEVERE"],
            "final_rpo_compliance": [1 - 6.5 / 24, 0.0],
            "final_success_rate": [0.5, 0.0],
            "actual_rpo_hours": [6.5, np.nan],
            "last_successful_backup": pd.to_datetime(["2025-12-31T19:30:00Z", None], utc=True).as_unit("ns"),
            "total_backups": [2, 0],
            "successful_backups": [1, 0],
        },
        index=pd.Index(ids, name="target_id"),
    )  # fmt: skip
    result = ResilienceResult(
        targets=targets,
        timeline=timeline,
        aggregated_timeline=pd.DataFrame(
            {"timestamp": pd.DatetimeIndex(instants).as_unit("ns"), "score": [0.5, 0.4]}
        ),
        aggregated_score=(3 * targets["final_score"].iloc[0]) / 4,
    )
    params = pd.DataFrame(
        {"display_name": ["App VM", "Never backed up"], "target_type": ["vm", "physical_server"]},
        index=pd.Index(ids, name="target_id"),
    )
    return result, params


def sample_data_quality() -> DataQuality:
    """What a files source records for 12 rows spelled DOWNN and 3 rows of an unknown service."""
    quality = DataQuality()
    quality.add_unknown_statuses({"DOWNN": 12})
    quality.warn("metrics.csv: 12 rows have statuses in neither ...: 'DOWNN' (12); left out")
    quality.add_dropped_rows("metrics.csv: rows naming services not in services.csv", 3)
    quality.warn("metrics.csv: 3 rows name services not in services.csv (ignored): ghost")
    return quality


def availability_bytes(limit: int = 1000) -> bytes:
    result, params = availability_sample()
    return build_availability_report(
        result, params=params, start=START, end=END, analysis_timestamp=ANALYSED_AT, classification=AVAILABILITY_CLASSIFICATION,
        data_quality=sample_data_quality(), timeline_point_limit=limit,
    )  # fmt: skip


def resilience_bytes() -> bytes:
    result, params = resilience_sample()
    return build_resilience_report(
        result, params=params, start=START, hours=2, weights={"rpo": 0.6, "success": 0.4},
        analysis_timestamp=ANALYSED_AT, classification=RESILIENCE_CLASSIFICATION,
    )  # fmt: skip


# --- building ----------------------------------------------------------------------------


def test_availability_layout_and_units() -> None:
    report = orjson.loads(availability_bytes())
    assert list(report) == [
        "schema_version", "analysis_type", "analysis_timestamp", "analysis_dates", "window",
        "summary", "classification", "data_quality", "configuration", "services",
        "aggregated_timeline",
    ]  # fmt: skip
    assert (report["schema_version"], report["analysis_type"]) == (2, "availability")
    assert report["classification"] == {
        "status_thresholds": {"critical_below": 0.5, "good_above": 0.8},
        "failure_statuses": ["down", "timeout"],
        "success_statuses": ["ok", "up"],
        "unknown_status_policy": "unknown",
    }
    assert report["data_quality"] == {
        "unknown_statuses": {"DOWNN": 12},
        "unknown_status_rows": 12,
        "dropped_rows": {"metrics.csv: rows naming services not in services.csv": 3},
        "warnings": [
            "metrics.csv: 12 rows have statuses in neither ...: 'DOWNN' (12); left out",
            "metrics.csv: 3 rows name services not in services.csv (ignored): ghost",
        ],
        "warnings_omitted": 0,
    }
    assert report["analysis_timestamp"] == "2026-01-02T06:30:00Z"
    assert report["analysis_dates"] == ["2026-01-01"]
    assert report["window"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}
    assert report["configuration"] == {
        "service_error_budgets": {"web-1": 5, "db-1": 3, "lonely": 5},
        "service_weights": {"web-1": 5, "db-1": 8, "lonely": 1},
    }
    web = report["services"]["web-1"]
    assert web == {
        "service_id": "web-1",
        "display_name": "Web <script>alert(1)</script>",
        "service_type": "web_service",
        "error_budget": 5,
        "weight": 5,
        "final_score": 70.0,  # percent
        "final_status": "ATTENZIONE",
        "total_failures": 3,
        "detailed_metrics": [
            {"timestamp": "2026-01-01T00:00:00Z", "cumulative_failures": 0, "score": 1.0, "status_type": "GOOD"},
            {"timestamp": "2026-01-01T00:05:00Z", "cumulative_failures": 1, "score": 0.9, "status_type": "GOOD"},
            {"timestamp": "2026-01-01T00:10:00Z", "cumulative_failures": 3, "score": 0.7, "status_type": "ATTENZIONE"},
        ],
    }  # fmt: skip
    db = report["services"]["db-1"]
    assert db["final_score"] == (0.5 - (1 / 3) * 0.5) * 100  # full precision, not rounded
    assert db["detailed_metrics"][1]["timestamp"] == "2026-01-01T12:00:00.500Z"
    lonely = report["services"]["lonely"]
    assert (lonely["final_score"], lonely["final_status"], lonely["detailed_metrics"]) == (
        None,
        "NO_DATA",
        [],
    )
    assert report["summary"] == {
        "aggregated_score": (5 * 0.7 + 8 * (0.5 - (1 / 3) * 0.5)) / 13 * 100,
        "total_services": 3,
        "services_by_status": {"GOOD": 0, "ATTENZIONE": 1, "CRITICAL": 1, "NO_DATA": 1},
    }
    assert [point["score"] for point in report["aggregated_timeline"]][:2] == [
        1.0,
        (5 * 0.9 + 8) / 13,
    ]


def test_availability_report_matches_the_golden_fixture() -> None:
    """The fixture used by the store tests is exactly what the builder writes."""
    assert availability_bytes() == (FIXTURES / "availability_report.json").read_bytes()
    assert resilience_bytes() == (FIXTURES / "resilience_report.json").read_bytes()


def test_resilience_layout_and_units() -> None:
    report = orjson.loads(resilience_bytes())
    assert list(report) == [
        "schema_version", "analysis_type", "analysis_timestamp", "window", "summary",
        "classification", "data_quality", "configuration", "targets", "aggregated_timeline",
    ]  # fmt: skip
    assert report["classification"] == {
        "status_thresholds": {
            "excellent_above": 0.9, "good_from": 0.75, "acceptable_from": 0.6, "critical_from": 0.4,
        },
        "failure_statuses": ["failed"],
        "success_statuses": ["completed", "success"],
        "unknown_status_policy": "failure",
    }  # fmt: skip
    assert report["data_quality"]["unknown_status_rows"] == 0
    assert report["window"] == {
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-01T02:00:00Z",
        "hours": 2,
    }
    assert report["configuration"] == {
        "target_rpo_hours": {"vm-1": 24.0, "never": 12.0},
        "target_weights": {"vm-1": 3, "never": 1},
        "weights": {"rpo": 0.6, "success": 0.4},
    }
    vm = report["targets"]["vm-1"]
    assert vm["final_score"] == (0.6 * (1 - 6.5 / 24) + 0.2) * 100
    assert (vm["final_rpo_compliance"], vm["final_success_rate"]) == (1 - 6.5 / 24, 0.5)
    assert vm["last_successful_backup"] == "2025-12-31T19:30:00Z"
    assert vm["timeline"][0] == {
        "timestamp": "2026-01-01T01:00:00Z", "actual_rpo_hours": 5.0, "rpo_compliance": 1 - 5 / 24,
        "success_rate": 1.0, "score": 0.6 * (1 - 5 / 24) + 0.4, "status": "GOOD",
    }  # fmt: skip
    never = report["targets"]["never"]
    assert (never["actual_rpo_hours"], never["last_successful_backup"]) == (None, None)
    assert never["timeline"][0]["actual_rpo_hours"] is None
    assert (never["final_score"], never["final_status"], never["total_backups"]) == (
        0.0,
        "SEVERE",
        0,
    )
    assert report["summary"]["targets_by_status"] == {
        "EXCELLENT": 0, "GOOD": 0, "ACCEPTABLE": 1, "CRITICAL": 0, "SEVERE": 1,
    }  # fmt: skip
    assert report["summary"]["total_targets"] == 2
    assert report["aggregated_timeline"] == [
        {"timestamp": "2026-01-01T01:00:00Z", "score": 0.5},
        {"timestamp": "2026-01-01T02:00:00Z", "score": 0.4},
    ]


def test_empty_selection_gives_a_null_aggregate() -> None:
    result = availability_frames({}, {}, [])
    params = pd.DataFrame(
        {"display_name": [], "service_type": []}, index=pd.Index([], name="service_id")
    )
    report = orjson.loads(
        build_availability_report(
            result,
            params=params,
            start=START,
            end=END,
            analysis_timestamp=ANALYSED_AT,
            classification=AVAILABILITY_CLASSIFICATION,
        )
    )
    assert report["services"] == {} and report["aggregated_timeline"] == []
    assert report["summary"]["aggregated_score"] is None
    assert load_report(orjson.dumps(report))["summary"]["total_services"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": START}, "end"),
        ({"timeline_point_limit": 0}, "at least 1"),
    ],
)
def test_builder_refuses_bad_arguments(change: dict, message: str) -> None:
    result, params = availability_sample()
    arguments = dict(
        start=START,
        end=END,
        analysis_timestamp=ANALYSED_AT,
        classification=AVAILABILITY_CLASSIFICATION,
        timeline_point_limit=10,
    )
    with pytest.raises(ValueError, match=message):
        build_availability_report(result, params=params, **{**arguments, **change})


def test_builder_refuses_inconsistent_results() -> None:
    result, params = availability_sample()
    with pytest.raises(ValueError, match="params lack"):
        build_availability_report(
            result,
            params=params.drop(index="db-1"),
            start=START,
            end=END,
            analysis_timestamp=ANALYSED_AT,
            classification=AVAILABILITY_CLASSIFICATION,
        )
    shuffled = AvailabilityResult(
        services=result.services, timeline=result.timeline.iloc[::-1], aggregated_timeline=result.aggregated_timeline,
        aggregated_score=result.aggregated_score,
    )  # fmt: skip
    with pytest.raises(ValueError, match="sorted by id"):
        build_availability_report(
            shuffled,
            params=params,
            start=START,
            end=END,
            analysis_timestamp=ANALYSED_AT,
            classification=AVAILABILITY_CLASSIFICATION,
        )


@pytest.mark.parametrize(
    ("start", "end", "dates"),
    [
        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", ["2026-01-01"]),
        ("2026-01-01T12:00:00Z", "2026-01-02T00:00:00.000000001Z", ["2026-01-01", "2026-01-02"]),
        ("2025-12-31T23:00:00-01:00", "2026-01-01T01:00:00Z", ["2026-01-01"]),
        ("2024-02-28T00:00:00Z", "2024-03-01T00:00:00Z", ["2024-02-28", "2024-02-29"]),
    ],
)
def test_analysis_dates(start: str, end: str, dates: list[str]) -> None:
    assert analysis_dates(pd.Timestamp(start), pd.Timestamp(end)) == dates


# --- thinning ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "limit", "positions", "new_bounds"),
    [
        ([0, 3], 5, [0, 1, 2], [0, 3]),  # below the limit: every point
        ([0, 5], 5, [0, 1, 2, 3, 4], [0, 5]),
        ([0, 6], 5, [0, 1, 2, 3, 5], [0, 5]),  # buckets [0] [1] [2] [3] [4,5]: last of each
        ([0, 10], 3, [2, 5, 9], [0, 3]),  # buckets 0-2, 3-5, 6-9
        ([0, 10], 1, [9], [0, 1]),  # only the final point
        ([0, 0, 4, 4, 10], 2, [1, 3, 6, 9], [0, 0, 2, 2, 4]),  # several groups, some empty
        ([0], 3, [], [0]),
    ],
)
def test_thinning_table(
    bounds: list[int], limit: int, positions: list[int], new_bounds: list[int]
) -> None:
    kept, kept_bounds = thinned_positions(np.array(bounds), limit)
    assert kept.tolist() == positions
    assert kept_bounds.tolist() == new_bounds


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), max_size=8), st.integers(1, 20))
def test_thinning_properties(sizes: list[int], limit: int) -> None:
    bounds = np.cumsum([0, *sizes])
    kept, kept_bounds = thinned_positions(bounds, limit)
    for group, size in enumerate(sizes):
        chosen = kept[kept_bounds[group] : kept_bounds[group + 1]] - bounds[group]
        assert len(chosen) == min(size, limit)
        if size == 0:
            continue
        assert chosen[-1] == size - 1  # the final point, hence the final values, is kept
        assert (np.diff(chosen) > 0).all() and chosen[0] >= 0
        buckets = np.diff(np.concatenate(([-1], chosen)))
        assert buckets.max() - buckets.min() <= 1  # evenly spaced buckets


def test_thinned_report_keeps_the_final_values() -> None:
    report = orjson.loads(availability_bytes(limit=2))
    web = report["services"]["web-1"]["detailed_metrics"]
    assert [point["timestamp"][11:19] for point in web] == [
        "00:00:00",
        "00:10:00",
    ]  # buckets [0] [1, 2]
    assert web[-1]["score"] * 100 == report["services"]["web-1"]["final_score"]
    assert len(report["aggregated_timeline"]) == 2
    assert report["aggregated_timeline"][-1]["timestamp"] == "2026-01-01T12:00:00.500Z"


# --- fast output equals a straightforward dict-built report ------------------------------

SCORES = st.sampled_from([1.0, 0.8, 0.1 + 0.2, 0.5, 0.0, 1 / 3, 0.7857142857142857]) | st.floats(
    0, 1
)


def reference_iso(stamp: pd.Timestamp) -> str:
    """ISO text with the documented rule: the fewest of 0/3/6/9 fraction digits that is exact."""
    fraction = f"{stamp.value % 1_000_000_000:09d}"
    digits = next(d for d in (0, 3, 6, 9) if fraction[d:].strip("0") == "")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction[:digits]}" if digits else "") + "Z"


def reference_keep(size: int, limit: int) -> list[int]:
    if size <= limit:
        return list(range(size))
    return [(bucket + 1) * size // limit - 1 for bucket in range(limit)]


def reference_availability(result: AvailabilityResult, params: pd.DataFrame, limit: int) -> dict:
    """The report built the slow, obvious way: Python dicts point by point."""
    services = result.services
    kept = {
        service_id: [rows.iloc[i] for i in reference_keep(len(rows), limit)]
        for service_id in services.index
        for rows in [result.timeline[result.timeline["service_id"] == service_id]]
    }
    aggregated = [
        result.aggregated_timeline.iloc[i]
        for i in reference_keep(len(result.aggregated_timeline), limit)
    ]
    percent = lambda value: None if np.isnan(value) else float(value) * 100  # noqa: E731
    return {
        "schema_version": 2,
        "analysis_type": "availability",
        "analysis_timestamp": "2026-01-02T06:30:00Z",
        "analysis_dates": ["2026-01-01"],
        "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"},
        "summary": {
            "aggregated_score": percent(result.aggregated_score),
            "total_services": len(services),
            "services_by_status": {
                status: int((services["final_status"] == status).sum())
                for status in (*AVAILABILITY_STATUSES, "NO_DATA")
            },
        },
        "classification": {
            "status_thresholds": {"critical_below": 0.5, "good_above": 0.8},
            "failure_statuses": ["down", "timeout"],
            "success_statuses": ["ok", "up"],
            "unknown_status_policy": "unknown",
        },
        "data_quality": {
            "unknown_statuses": {},
            "unknown_status_rows": 0,
            "dropped_rows": {},
            "warnings": [],
            "warnings_omitted": 0,
        },
        "configuration": {
            "service_error_budgets": {k: int(v) for k, v in services["error_budget"].items()},
            "service_weights": {k: int(v) for k, v in services["weight"].items()},
        },
        "services": {
            service_id: {
                "service_id": service_id,
                "display_name": params.loc[service_id, "display_name"],
                "service_type": params.loc[service_id, "service_type"],
                "error_budget": int(row["error_budget"]),
                "weight": int(row["weight"]),
                "final_score": percent(row["final_score"]),
                "final_status": row["final_status"],
                "total_failures": int(row["total_failures"]),
                "detailed_metrics": [
                    {
                        "timestamp": reference_iso(point["timestamp"]),
                        "cumulative_failures": int(point["cumulative_failures"]),
                        "score": float(point["score"]),
                        "status_type": point["status"],
                    }
                    for point in kept[service_id]
                ],
            }
            for service_id, row in services.iterrows()
        },
        "aggregated_timeline": [
            {"timestamp": reference_iso(row["timestamp"]), "score": float(row["score"])}
            for row in aggregated
        ],
    }


@st.composite
def availability_results(draw: st.DrawFn) -> tuple[AvailabilityResult, pd.DataFrame, int]:
    count = draw(st.integers(0, 4))
    services, points = {}, {}
    for number in range(count):
        offsets = sorted(draw(st.sets(st.integers(0, 86_399_999_999_999), max_size=9)))
        if draw(st.booleans()):  # whole seconds, as most checks are
            offsets = sorted({offset - offset % 1_000_000_000 for offset in offsets})
        rows = [
            (START + pd.Timedelta(offset, "ns"), draw(st.integers(0, 60)), draw(SCORES),
             draw(st.sampled_from(AVAILABILITY_STATUSES)))
            for offset in offsets
        ]  # fmt: skip
        services[f"svc-{number}"] = dict(
            error_budget=draw(st.integers(1, 50)),
            weight=draw(st.integers(1, 10)),
            final_score=rows[-1][2] if rows else np.nan,
            final_status=rows[-1][3] if rows else "NO_DATA",
            total_failures=rows[-1][1] if rows else 0,
        )
        points[f"svc-{number}"] = rows
    aggregated = sorted({row[0] for rows in points.values() for row in rows})
    result = availability_frames(services, points, [(stamp, draw(SCORES)) for stamp in aggregated])
    params = pd.DataFrame(
        {"display_name": [f'Name {i} "quoted" é' for i in services], "service_type": "web_service"},
        index=pd.Index(list(services), name="service_id"),
    )
    return result, params, draw(st.integers(1, 12))


@settings(max_examples=60, deadline=None)
@given(availability_results())
def test_fast_report_equals_the_dict_built_reference(case: tuple) -> None:
    result, params, limit = case
    fast = build_availability_report(
        result,
        params=params,
        start=START,
        end=END,
        analysis_timestamp=ANALYSED_AT,
        classification=AVAILABILITY_CLASSIFICATION,
        timeline_point_limit=limit,
    )
    assert orjson.loads(fast) == json.loads(
        json.dumps(reference_availability(result, params, limit))
    )
    # and it loads back unchanged: the report round trip
    assert load_report(fast) == orjson.loads(fast)


def test_resilience_round_trip() -> None:
    data = resilience_bytes()
    loaded = load_report(data)
    assert loaded == orjson.loads(data)
    assert load_report(orjson.dumps(loaded)) == loaded


# --- loading -----------------------------------------------------------------------------


def test_the_older_tools_report_loads() -> None:
    report = load_report((FIXTURES / "legacy_availability_report.json").read_bytes())
    assert (report["schema_version"], report["analysis_type"]) == (0, "availability")
    assert report["window"] == {"start": "2025-09-01T00:00:00Z", "end": "2025-09-02T00:00:00Z"}
    service = report["services"]["service1"]  # the key is kept as written
    assert service["service_id"] == "nginx_web"
    assert (service["display_name"], service["service_type"]) == ("nginx_web", "unknown")
    assert service["final_score"] == 85.6  # percent, as the older tool wrote it
    assert [point["score"] for point in service["detailed_metrics"]] == [1.0, 0.9]
    assert report["summary"] == {
        "aggregated_score": 87.3,
        "total_services": 12,
        "services_by_status": {"GOOD": 8, "ATTENZIONE": 3, "CRITICAL": 1, "NO_DATA": 0},
    }
    assert report["aggregated_timeline"] == []
    assert load_report(orjson.dumps(report)) == report  # the normalised form loads as is


def test_older_tool_window_spans_all_its_dates() -> None:
    document = orjson.loads((FIXTURES / "legacy_availability_report.json").read_bytes())
    document["analysis_dates"] = ["2025-09-03", "2025-09-01"]
    assert load_report(orjson.dumps(document))["window"] == {
        "start": "2025-09-01T00:00:00Z",
        "end": "2025-09-04T00:00:00Z",
    }


def edit(document: dict, path: str, value: Any) -> dict:
    """A deep copy of ``document`` with ``path`` (dot-separated) set, or deleted for DELETE."""
    changed = copy.deepcopy(document)
    *parents, last = path.split(".")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("schema_version", 3, "unsupported schema_version 3 (this program reads 1, 2, and the older tool's files, which have none)"),
        ("schema_version", True, "unsupported schema_version True"),
        ("analysis_type", "latency", "analysis_type: 'latency' is not allowed"),
        ("analysis_type", DELETE, 'not a report: missing key "analysis_type"'),
        ("window", DELETE, 'not a valid availability report: missing key "window"'),
        ("window.end", "2025-12-31T00:00:00Z", "not a valid availability report: window: end must be after start"),
        ("analysis_timestamp", "2026-01-02T06:30:00+01:00",
         'analysis_timestamp: "2026-01-02T06:30:00+01:00" is not an ISO-8601 UTC timestamp ending in Z'),
        ("analysis_dates", [], "analysis_dates: must not be empty"),
        ("analysis_dates", ["2026-02-30x"], 'analysis_dates.0: "2026-02-30x" is not a date YYYY-MM-DD'),
        ("services.web-1.final_score", 170.0, "services.web-1.final_score: 170 is out of range (at most 100.0001)"),
        ("services.web-1.final_score", "70", 'services.web-1.final_score: "70" is not a number'),
        ("services.web-1.final_score", None, "services.web-1: final_score must be null exactly when final_status is NO_DATA"),
        ("services.lonely.final_score", 50.0, "services.lonely: final_score must be null exactly when final_status is NO_DATA"),
        ("services.web-1.final_status", "OK", "services.web-1.final_status: \"OK\" is not allowed (allowed: 'GOOD', 'ATTENZIONE', 'CRITICAL' or 'NO_DATA')"),
        ("services.web-1.error_budget", 0, "services.web-1.error_budget: 0 is out of range (at least 1)"),
        ("services.web-1.weight", 2.0, "services.web-1.weight: 2 is not a whole number"),
        ("services.web-1.detailed_metrics.1.score", 1.5, "services.web-1.detailed_metrics.1.score: 1.5 is out of range (at most 1.000001)"),
        ("services.web-1.detailed_metrics.1.cumulative_failures", -1, "cumulative_failures: -1 is out of range (at least 0)"),
        ("services.web-1.detailed_metrics.1.cumulative_failures", True, "cumulative_failures: true is not a whole number"),
        ("services.web-1.detailed_metrics.1.status_type", "NO_DATA", 'status_type: "NO_DATA" is not allowed'),
        ("services.web-1.detailed_metrics.1.timestamp", 1767225600, "timestamp: 1767225600 is not a text string"),
        ("services.web-1.detailed_metrics.1.timestamp", "2026-01-01 00:05:00", "is not an ISO-8601 UTC timestamp ending in Z"),
        ("services.web-1.detailed_metrics.1", DELETE, None),  # removing a point is fine
        ("services.web-1.detailed_metrics", {}, "services.web-1.detailed_metrics: {} is not a list"),
        ("services.web-1.service_id", DELETE, 'services.web-1: missing key "service_id"'),
        ("services", [], "services: [] is not an object (key: value pairs)"),
        ("summary.services_by_status.UNKNOWN", 1, "summary.services_by_status.UNKNOWN"),
        ("summary.aggregated_score", float("nan"), "not JSON: "),  # NaN is not JSON
        ("aggregated_timeline.0.score", -0.1, "aggregated_timeline.0.score: -0.1 is out of range (at least 0)"),
        ("configuration", DELETE, 'missing key "configuration"'),
    ],
)  # fmt: skip
def test_malformed_availability_reports(path: str, value: Any, message: str | None) -> None:
    document = orjson.loads(availability_bytes())
    if path == "services.web-1.detailed_metrics.1" and value is DELETE:
        document["services"]["web-1"]["detailed_metrics"].pop(1)
        assert (
            load_report(orjson.dumps(document))["services"]["web-1"]["detailed_metrics"][1][
                "cumulative_failures"
            ]
            == 3
        )
        return
    data = json.dumps(
        edit(document, path, value)
    )  # json: NaN survives, as a foreign tool may write it
    with pytest.raises(ReportError) as caught:
        load_report(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("window.hours", 3, "window: end must be start + hours"),
        ("configuration.weights.rpo", 0.7, "configuration.weights: rpo + success = 1.1"),
        (
            "targets.never.actual_rpo_hours",
            -1.0,
            "actual_rpo_hours: -1 is out of range (at least 0)",
        ),
        ("targets.vm-1.timeline.0.status", "EXCELLENTE", 'status: "EXCELLENTE" is not allowed'),
        ("targets.vm-1.last_successful_backup", "yesterday", "is not an ISO-8601 UTC timestamp"),
        ("schema_version", DELETE, 'not a report: no "schema_version"'),
        ("schema_version", 0, "analysis_type: 'resilience' is not allowed"),
    ],
)
def test_malformed_resilience_reports(path: str, value: Any, message: str) -> None:
    document = edit(orjson.loads(resilience_bytes()), path, value)
    with pytest.raises(ReportError) as caught:
        load_report(orjson.dumps(document))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not JSON: "),
        (b"{nope", "not JSON: "),
        (b"\xff\xfe{}", "not JSON: "),
        ("[]", "not a report: the JSON document is a list, not an object"),
        ("42", "not a report: the JSON document is a number, not an object"),
        ("{}", 'not a report: no "schema_version", and not an older-tool availability report'),
        ('{"hello": "world"}', 'not a report: no "schema_version"'),
        ('{"services": {}}', 'not a valid availability report: missing key "analysis_timestamp"'),
    ],
)
def test_not_reports(data: bytes | str, message: str) -> None:
    with pytest.raises(ReportError) as caught:
        load_report(data)
    assert str(caught.value).startswith(message)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=15,
)  # fmt: skip


def all_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            paths += all_paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            paths += all_paths(child, (*prefix, index))
    return paths


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_reports_load_or_fail_cleanly(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(["availability", "resilience", "legacy"]))
    document = orjson.loads(
        {"availability": availability_bytes, "resilience": resilience_bytes}.get(
            source, lambda: (FIXTURES / "legacy_availability_report.json").read_bytes()
        )()
    )
    path = data.draw(st.sampled_from(all_paths(document)[1:]))
    parent = document
    for part in path[:-1]:
        parent = parent[part]
    if data.draw(st.booleans()):
        parent[path[-1]] = data.draw(json_values)
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    try:
        loaded = load_report(orjson.dumps(document))
    except ReportError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert loaded["analysis_type"] in ("availability", "resilience")
        assert load_report(orjson.dumps(loaded)) == loaded


@settings(max_examples=200, deadline=None)
@given(json_values | st.binary(max_size=100))
def test_random_documents_are_rejected_cleanly(value: Any) -> None:
    data = value if isinstance(value, bytes) else orjson.dumps(value)
    for attempt in (
        lambda: load_report(data),
        lambda: summarize_report(data),
        lambda: summarize_report(data, partial=True),
    ):
        try:
            attempt()
        except ReportError as error:
            assert str(error)


# --- summaries ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["availability", "resilience", "legacy"])
def test_summary_from_the_head_equals_the_full_read(source: str) -> None:
    data = {
        "availability": availability_bytes,
        "resilience": resilience_bytes,
        "legacy": lambda: (FIXTURES / "legacy_availability_report.json").read_bytes(),
    }[source]()
    full = summarize_report(data)
    assert full is not None and summarize_report(data, partial=True) == full
    loaded = load_report(data)
    assert full.kind == loaded["analysis_type"]
    assert full.aggregated_score == loaded["summary"]["aggregated_score"]
    assert full.window_start == pd.Timestamp(loaded["window"]["start"])
    assert sum(full.status_counts.values()) == sum(
        loaded["summary"]
        .get("services_by_status", loaded["summary"].get("targets_by_status"))
        .values()
    )


def test_partial_summary_reads_only_the_head() -> None:
    data = availability_bytes()
    head_end = data.index(b'"configuration"')
    summary = summarize_report(data[: head_end + 20], partial=True)  # services cut off
    assert summary is not None and summary.status_counts["NO_DATA"] == 1
    assert summarize_report(data[:100], partial=True) is None  # header incomplete
    legacy = (FIXTURES / "legacy_availability_report.json").read_bytes()
    assert summarize_report(legacy[:-40], partial=True) is None  # summary comes last there
    with pytest.raises(ReportError, match="not JSON"):
        summarize_report(legacy[:-40])


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("cumulative_availability_analysis_20250904_103000.json", "availability"),
        ("cumulative_availability_analysis_20250904_103000_0a1b2c3d.json", "availability"),
        ("resilience_analysis_20250904_103000_ffffffff.json", "resilience"),
        ("resilience_analysis_20250904_103000_FFFFFFFF.json", None),
        ("resilience_analysis_20250904_103000_0a1b2c3.json", None),
        ("resilience_analysis_2025094_103000.json", None),
        ("cumulative_availability_analysis_20250904_103000.json\n", None),
        ("../cumulative_availability_analysis_20250904_103000.json", None),
        (
            "cumulative_availability_analysis_\uff12\uff10\uff12\uff15\uff10\uff19\uff10\uff14_103000.json",
            None,
        ),
        ("notes.json", None),
    ],
)
def test_report_kind_of_names(name: str, kind: str | None) -> None:
    assert report_kind(name) == kind


def test_report_kind_of_reports() -> None:
    assert report_kind({"analysis_type": "resilience"}) == "resilience"
    assert report_kind({"analysis_type": "other"}) is None


# --- CSV ---------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[list[str]]:
    assert data.endswith(b"\r\n")
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_availability_summary_csv() -> None:
    rows = read_csv(summary_csv(load_report(availability_bytes())))
    assert rows[0] == [
        "service_id", "display_name", "service_type", "error_budget", "weight", "final_score",
        "final_status", "total_failures",
    ]  # fmt: skip
    assert rows[1] == [
        "web-1",
        "Web <script>alert(1)</script>",
        "web_service",
        "5",
        "5",
        "70.0",
        "ATTENZIONE",
        "3",
    ]
    assert rows[2][1] == '\'=HYPERLINK("http://x")'  # neutralised, and quoted per RFC 4180
    assert float(rows[2][5]) == (0.5 - (1 / 3) * 0.5) * 100
    assert rows[3][5:7] == ["", "NO_DATA"]  # no score: an empty cell


def test_resilience_summary_and_timeline_csv() -> None:
    report = load_report(resilience_bytes())
    summary = read_csv(summary_csv(report))
    assert summary[0][:4] == ["target_id", "display_name", "target_type", "target_rpo_hours"]
    never = dict(zip(summary[0], summary[2], strict=True))
    assert never["actual_rpo_hours"] == "" and never["last_successful_backup"] == ""
    assert never["final_status"] == "SEVERE" and never["total_backups"] == "0"
    timeline = read_csv(timeline_csv(report))
    assert timeline[0] == [
        "target_id",
        "timestamp",
        "actual_rpo_hours",
        "rpo_compliance",
        "success_rate",
        "score",
        "status",
    ]
    assert timeline[1][:3] == ["vm-1", "2026-01-01T01:00:00Z", "5.0"]
    assert float(timeline[1][3]) == 1 - 5 / 24
    assert timeline[3][:3] == ["never", "2026-01-01T01:00:00Z", ""]
    assert len(timeline) == 1 + 4


def test_timeline_csv_has_one_row_per_point() -> None:
    report = load_report(availability_bytes())
    rows = read_csv(timeline_csv(report))
    assert rows[0] == ["service_id", "timestamp", "cumulative_failures", "score", "status_type"]
    expected = [
        [service["service_id"], point["timestamp"], str(point["cumulative_failures"]), point["score"], point["status_type"]]
        for service in report["services"].values()
        for point in service["detailed_metrics"]
    ]  # fmt: skip
    assert [[*row[:3], float(row[3]), row[4]] for row in rows[1:]] == expected
    assert len(rows) == 1 + 5


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+41 79", "'+41 79"),
        ("-0.5", "'-0.5"),  # text that looks like a number is still text
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("\rcarriage", '"\'\rcarriage"'),
        ("a,b", '"a,b"'),
        ('say "hi"', '"say ""hi"""'),
        ("line\nbreak", '"line\nbreak"'),
        ("plain é", "plain é"),
        ("nul\0byte", "nulbyte"),
    ],
)
def test_text_cells_are_neutralised_and_quoted(text: str, cell: str) -> None:
    report = load_report(availability_bytes())
    report["services"]["web-1"]["display_name"] = text
    report["services"]["web-1"]["service_id"] = text
    summary_line = summary_csv(report).decode().split("\r\n", 1)[1]
    assert summary_line.startswith(f"{cell},{cell},")
    timeline_line = timeline_csv(report).decode().split("\r\n", 1)[1]
    assert timeline_line.startswith(f"{cell},2026-01-01T00:00:00Z,")


def test_negative_numbers_stay_numeric() -> None:
    report = load_report(availability_bytes())
    report["summary"]["aggregated_score"] = -0.5  # not a valid report, but the cell rule holds
    report["services"]["web-1"]["final_score"] = -0.5
    assert summary_csv(report).decode().split("\r\n")[1].split(",")[5] == "-0.5"


def test_csv_needs_a_loaded_report() -> None:
    with pytest.raises(ReportError, match="analysis_type"):
        summary_csv({"services": {}})
    with pytest.raises(ReportError, match="analysis_type"):
        timeline_csv({"analysis_type": "latency"})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"schema_version": 1, "analysis_timestamp": "2026-01-01T00:00:00Z", "summary": {"aggregated_score": None}},
         'not a report: "schema_version" or "analysis_type" is missing'),
        ({"analysis_type": "resilience", "analysis_timestamp": "2026-01-01T00:00:00Z", "summary": {"aggregated_score": None}},
         'not a report: "schema_version" or "analysis_type" is missing'),
        ({"analysis_timestamp": "2026-01-01T00:00:00Z", "summary": {"aggregated_score": 50.0}},
         'not a report: missing field "window" (or "analysis_dates")'),
        ({"analysis_timestamp": "2026-01-01T00:00:00Z", "analysis_dates": ["2026-01-01"], "summary": {}},
         'not a report: summary: missing key "aggregated_score"'),
    ],
)  # fmt: skip
def test_summary_errors(document: dict, message: str) -> None:
    for partial in (False, True):
        with pytest.raises(ReportError) as caught:
            summarize_report(orjson.dumps(document), partial=partial)
        assert str(caught.value) == message


@pytest.mark.parametrize(
    "data",
    [
        b"[1, 2]",
        b'{"a" 1}',
        b'{"a": 1 "b": 2}',
        b'{"a": [1, 2',
        b"\xff{}",
        b'{"a": 1, 5: 2}',
        "{" * 100_000,
    ],
)
def test_partial_summary_gives_up_on_odd_beginnings(data: bytes | str) -> None:
    assert summarize_report(data, partial=True) is None


def test_partial_summary_refuses_non_finite_numbers() -> None:
    data = availability_bytes().replace(
        b'"aggregated_score":47.43589743589744', b'"aggregated_score":NaN'
    )
    with pytest.raises(ReportError, match="aggregated_score: nan is not a finite number"):
        summarize_report(data, partial=True)


def test_csv_refuses_hand_made_reports_with_odd_points() -> None:
    report = load_report(availability_bytes())
    report["services"]["web-1"]["detailed_metrics"][0]["timestamp"] = "2026-01-01T00:00:00é"
    with pytest.raises(ReportError, match="timestamps must be ISO-8601 UTC text"):
        timeline_csv(report)
    report = load_report(availability_bytes())
    report["services"]["web-1"]["detailed_metrics"][0]["status_type"] = "BROKEN"
    with pytest.raises(ReportError, match="status_type outside"):
        timeline_csv(report)


def test_builder_refuses_unknown_ids_and_statuses() -> None:
    result, params = availability_sample()
    stranger = result.timeline.copy()
    stranger["service_id"] = stranger["service_id"].cat.add_categories("ghost")
    stranger.loc[0, "service_id"] = "ghost"
    cases = [
        (replace(result, timeline=stranger), "ids that are not in the result"),
        (
            replace(result, services=result.services.assign(final_status="WEIRD")),
            "final_status holds",
        ),
        (
            replace(result, timeline=result.timeline.assign(status="NO_DATA")),
            "status holds values outside",
        ),
    ]
    for broken, message in cases:
        with pytest.raises(ValueError, match=message):
            build_availability_report(
                broken,
                params=params,
                start=START,
                end=END,
                analysis_timestamp=ANALYSED_AT,
                classification=AVAILABILITY_CLASSIFICATION,
            )


# --- classification and data quality (schema version 2) ----------------------------------


def test_a_report_gives_the_thresholds_it_was_classified_with() -> None:
    report = load_report(availability_bytes())
    assert report_thresholds(report) == AvailabilityThresholds(critical_below=0.5, good_above=0.8)
    changed = edit(
        report, "classification.status_thresholds", {"critical_below": 0.25, "good_above": 0.95}
    )
    assert report_thresholds(load_report(orjson.dumps(changed))) == AvailabilityThresholds(
        critical_below=0.25, good_above=0.95
    )
    resilience = load_report(resilience_bytes())
    assert report_thresholds(resilience) == ResilienceThresholds()


@pytest.mark.parametrize(
    "older",
    [
        (FIXTURES / "legacy_availability_report.json").read_bytes(),
        orjson.dumps(
            {
                key: value
                for key, value in {
                    **orjson.loads(availability_bytes()),
                    "schema_version": 1,
                }.items()
                if key not in ("classification", "data_quality")
            }
        ),
    ],
    ids=["older tool", "schema 1"],
)
def test_older_reports_get_the_default_thresholds_and_an_empty_data_quality(older: bytes) -> None:
    report = load_report(older)
    assert "classification" not in report and "data_quality" not in report
    assert report_thresholds(report) == AvailabilityThresholds()
    assert report_data_quality(report) == {
        "unknown_statuses": {},
        "unknown_status_rows": 0,
        "dropped_rows": {},
        "warnings": [],
        "warnings_omitted": 0,
    }


def test_a_version_2_report_without_the_sections_gets_the_defaults() -> None:
    document = orjson.loads(availability_bytes())
    del document["classification"], document["data_quality"]
    report = load_report(orjson.dumps(document))
    assert report_thresholds(report) == AvailabilityThresholds()
    assert report_data_quality(report)["unknown_status_rows"] == 0


def test_report_data_quality_reads_the_section() -> None:
    quality = report_data_quality(load_report(availability_bytes()))
    assert quality["unknown_statuses"] == {"DOWNN": 12}
    assert quality["dropped_rows"] == {"metrics.csv: rows naming services not in services.csv": 3}


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("classification.status_thresholds.good_above", 0.3, "out of order"),
        ("classification.status_thresholds.extra", 0.3, None),
        ("classification.unknown_status_policy", "ignore", "unknown_status_policy"),
        ("data_quality.unknown_status_rows", -1, "data_quality.unknown_status_rows"),
        ("data_quality.warnings", ["w"] * 21, "data_quality.warnings"),
        ("data_quality.unknown_statuses.DOWNN", "12", "data_quality.unknown_statuses"),
    ],
)
def test_version_2_sections_are_validated(path: str, value: Any, message: str | None) -> None:
    document = edit(orjson.loads(availability_bytes()), path, value)
    if message is None:  # an unknown key is dropped, as everywhere in a report
        assert "extra" not in load_report(orjson.dumps(document))["classification"]
        return
    with pytest.raises(ReportError, match=message):
        load_report(orjson.dumps(document))


def test_the_header_counts_the_data_quality_problems() -> None:
    summary = summarize_report(availability_bytes()[:4096], partial=True)
    assert summary is not None and summary.data_quality_problems == 12 + 3
    assert summarize_report(resilience_bytes()).data_quality_problems == 0
    legacy = (FIXTURES / "legacy_availability_report.json").read_bytes()
    assert summarize_report(legacy).data_quality_problems == 0


def test_the_builder_refuses_thresholds_of_the_other_kind() -> None:
    result, params = availability_sample()
    with pytest.raises(TypeError, match="ResilienceThresholds given where the report needs"):
        build_availability_report(
            result,
            params=params,
            start=START,
            end=END,
            analysis_timestamp=ANALYSED_AT,
            classification=RESILIENCE_CLASSIFICATION,
        )


def test_data_quality_keeps_20_distinct_warnings_and_counts_the_rest() -> None:
    quality = DataQuality()
    for number in range(30):
        quality.warn(f"problem {number}")
        quality.warn(f"problem {number}")  # the same finding twice is one message
    section = quality.section()
    assert section["warnings"] == [f"problem {number}" for number in range(20)]
    assert section["warnings_omitted"] == 10


def test_data_quality_names_the_most_frequent_words_and_counts_every_row() -> None:
    quality = DataQuality()
    quality.add_unknown_statuses({f"word{number:03d}": number + 1 for number in range(60)})
    quality.add_unknown_statuses({"x" * 200: 1}, rows=5)  # 4 rows of words not named
    section = quality.section()
    assert len(section["unknown_statuses"]) == 50
    assert min(section["unknown_statuses"].values()) == 11  # the 50 largest of 1..60
    assert section["unknown_status_rows"] == sum(range(1, 61)) + 5
    assert quality.problem_rows == section["unknown_status_rows"]
