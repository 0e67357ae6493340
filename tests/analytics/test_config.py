"""Configuration models: parsing (JSON/YAML), one-line error messages, resolution, default windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.config import (
    AnalysisDefaults,
    AvailabilityConfig,
    ConfigError,
    ResilienceConfig,
    default_availability_window,
    default_resilience_window,
    override_config,
    parse_config,
    parse_defaults,
    resolve_availability,
    resolve_resilience,
)

DEFAULTS_FILE = Path(__file__).parents[2] / "configs" / "defaults.json"


@pytest.fixture(scope="module")
def defaults() -> AnalysisDefaults:
    return parse_defaults(DEFAULTS_FILE.read_bytes())


SERVICES = pd.DataFrame(
    {
        "service_id": ["api", "db-main", "nginx-frontend", "odd"],
        "display_name": ["API", "Main DB", "Frontend", "Odd one"],
        "service_type": ["application", "database", "web_service", "mystery"],
    }
)
TARGETS = pd.DataFrame(
    {
        "target_id": ["ct-1", "never", "vm-1"],
        "display_name": ["Worker", "Never backed up", "App VM"],
        "target_type": ["container", "quantum", "vm"],
    }
)


# --- parsing -----------------------------------------------------------------------------


def test_minimal_configs_take_defaults() -> None:
    availability = parse_config('{"analysis_type": "availability"}')
    assert availability == AvailabilityConfig(analysis_type="availability")
    assert (availability.start, availability.end, availability.services) == (None, None, None)
    resilience = parse_config(b'{"analysis_type": "resilience"}')
    assert isinstance(resilience, ResilienceConfig)
    assert resilience.hours == 168
    assert (resilience.weights.rpo, resilience.weights.success) == (0.6, 0.4)


def test_window_is_normalised_to_utc() -> None:
    config = parse_config(
        {
            "analysis_type": "availability",
            "start": "2026-01-01T02:00:00+02:00",
            "end": "2026-01-02T00:00:00",  # naive means UTC
        }
    )
    assert config.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert config.end == datetime(2026, 1, 2, tzinfo=UTC)
    assert config.start.utcoffset() == timedelta(0) and config.end.utcoffset() == timedelta(0)


def test_yaml_is_accepted() -> None:
    text = """
analysis_type: resilience
start: 2026-01-01T00:00:00+01:00
hours: 24
targets: [vm-1, ct-1]
target_rpo_hours: {vm-1: 12.5}
target_weights: {ct-1: 3}
weights: {rpo: 0.5, success: 0.5}
name: nightly
"""
    config = parse_config(text)
    assert isinstance(config, ResilienceConfig)
    assert config.start == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert (config.hours, config.targets, config.name) == (24, ["vm-1", "ct-1"], "nightly")
    assert config.target_rpo_hours == {"vm-1": 12.5}
    assert config.target_weights == {"ct-1": 3}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"analysis_type": "availability", "service_error_budgets": {"nginx-frontend": 0}},
            "service_error_budgets.nginx-frontend: 0 is out of range (allowed 1 to 50)",
        ),
        (
            {"analysis_type": "availability", "service_weights": {"api": 11}},
            "service_weights.api: 11 is out of range (allowed 1 to 10)",
        ),
        (
            {"analysis_type": "resilience", "weights": {"rpo": 0.7, "success": 0.4}},
            "weights: rpo 0.7 + success 0.4 = 1.1, must sum to 1",
        ),
        (
            {"analysis_type": "resilience", "weights": {"rpo": 1.5, "success": -0.5}},
            "weights.rpo: 1.5 is out of range (allowed 0 to 1); "
            "weights.success: -0.5 is out of range (allowed 0 to 1)",
        ),
        (
            {"analysis_type": "resilience", "foo": 1},
            'unknown key "foo" (allowed: analysis_type, start, hours, targets, target_rpo_hours, '
            "target_weights, weights, name)",
        ),
        (
            {"analysis_type": "resilience", "weights": {"rpo": 0.6, "sucess": 0.4}},
            'weights: missing key "success"; '
            'weights: unknown key "sucess" (allowed: rpo, success)',
        ),
        ({}, 'missing key "analysis_type" (allowed: "availability", "resilience")'),
        (
            {"analysis_type": "availabilty"},
            'analysis_type: "availabilty" is not allowed (allowed: "availability", "resilience")',
        ),
        (
            {"analysis_type": 3},
            'analysis_type: 3 is not allowed (allowed: "availability", "resilience")',
        ),
        (
            {"analysis_type": "availability", "start": "2026-01-01T00:00:00Z"},
            "give both start and end, or neither (for the last full day)",
        ),
        (
            {
                "analysis_type": "availability",
                "start": "2026-01-02T00:00:00Z",
                "end": "2026-01-02T01:00:00+01:00",
            },
            "end 2026-01-02T00:00:00Z must be after start 2026-01-02T00:00:00Z",
        ),
        (
            {"analysis_type": "resilience", "start": "yesterday"},
            'start: "yesterday" is not an ISO-8601 date-time (e.g. 2025-09-01T00:00:00Z)',
        ),
        ({"analysis_type": "resilience", "hours": 0}, "hours: 0 is out of range (allowed 1 to 8760)"),
        ({"analysis_type": "resilience", "hours": 8761}, "hours: 8761 is out of range (allowed 1 to 8760)"),
        ({"analysis_type": "resilience", "hours": 2.5}, "hours: 2.5 is not a whole number"),
        ({"analysis_type": "resilience", "hours": True}, "hours: true is not a number"),
        ({"analysis_type": "resilience", "hours": "24"}, 'hours: "24" is not a number'),
        (
            {"analysis_type": "resilience", "target_rpo_hours": {"vm-1": 0.5, "ct-1": 169}},
            "target_rpo_hours.vm-1: 0.5 is out of range (allowed 1 to 168); "
            "target_rpo_hours.ct-1: 169 is out of range (allowed 1 to 168)",
        ),
        (
            {"analysis_type": "resilience", "target_weights": {"vm-1": 0}},
            "target_weights.vm-1: 0 is out of range (allowed 1 to 10)",
        ),
        (
            {"analysis_type": "availability", "services": ["a", "b", "a"]},
            'services: "a" listed more than once',
        ),
        (
            {"analysis_type": "availability", "services": []},
            "services: empty list; leave the key out to select everything",
        ),
        ({"analysis_type": "availability", "services": "api"}, 'services: "api" is not a list'),
        (
            {"analysis_type": "availability", "service_weights": [1]},
            "service_weights: [1] is not an object (key: value pairs)",
        ),
        ({"analysis_type": "availability", "name": 5}, "name: 5 is not a text string"),
    ],
)  # fmt: skip
def test_invalid_configs_are_rejected_with_one_line(document: dict, message: str) -> None:
    for form in (document, json.dumps(document), json.dumps(document).encode()):
        with pytest.raises(ConfigError) as caught:
            parse_config(form)
        assert str(caught.value) == message
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"analysis_type": "availability",}', "configuration is not valid JSON: "),
        ("[1, 2]", "configuration must be a JSON or YAML object (key: value pairs), got a list"),
        ("just words", "configuration must be a JSON or YAML object (key: value pairs), got a text string"),
        ("", "configuration must be a JSON or YAML object (key: value pairs), got nothing"),
        ("a: [b", "configuration is neither valid JSON nor YAML: "),
        (b"\xff\xfe", "configuration is not UTF-8 text (byte 0)"),
        ("x" * (1 << 20 + 1), "configuration is too large"),
    ],
)  # fmt: skip
def test_unreadable_documents(text: str | bytes, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value).startswith(message)


def test_override_config_revalidates_and_ignores_none() -> None:
    config = parse_config({"analysis_type": "resilience", "hours": 24, "targets": ["vm-1"]})
    changed = override_config(
        config, {"hours": 48, "start": "2026-01-01T00:00:00Z", "targets": None}
    )
    assert (changed.hours, changed.targets) == (48, ["vm-1"])
    assert changed.start == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match=r"hours: 0 is out of range"):
        override_config(config, {"hours": 0})
    availability = parse_config({"analysis_type": "availability"})
    with pytest.raises(ConfigError, match="give both start and end"):
        override_config(availability, {"start": "2026-01-01T00:00:00Z"})


valid_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
utc_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@st.composite
def configs(draw: st.DrawFn) -> AvailabilityConfig | ResilienceConfig:
    if draw(st.booleans()):
        window = draw(
            st.none()
            | st.tuples(utc_instants, st.timedeltas(timedelta(seconds=1), timedelta(days=400)))
        )
        return AvailabilityConfig(
            analysis_type="availability",
            start=None if window is None else window[0],
            end=None if window is None else window[0] + window[1],
            services=draw(st.none() | st.lists(valid_ids, min_size=1, unique=True)),
            service_error_budgets=draw(st.dictionaries(valid_ids, st.integers(1, 50))),
            service_weights=draw(st.dictionaries(valid_ids, st.integers(1, 10))),
            name=draw(st.none() | st.text(max_size=20)),
        )
    rpo = draw(st.floats(0, 1))
    return ResilienceConfig(
        analysis_type="resilience",
        start=draw(st.none() | utc_instants),
        hours=draw(st.integers(1, 8760)),
        targets=draw(st.none() | st.lists(valid_ids, min_size=1, unique=True)),
        target_rpo_hours=draw(st.dictionaries(valid_ids, st.floats(1, 168))),
        target_weights=draw(st.dictionaries(valid_ids, st.integers(1, 10))),
        weights={"rpo": rpo, "success": 1 - rpo},
    )


@settings(max_examples=150, deadline=None)
@given(configs())
def test_config_round_trips_through_json(config: AvailabilityConfig | ResilienceConfig) -> None:
    dumped = orjson.dumps(config.model_dump(mode="json", exclude_none=True))
    assert parse_config(dumped) == config


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
config_keys = st.sampled_from(
    ["analysis_type", "start", "end", "hours", "services", "targets", "service_error_budgets",
     "service_weights", "target_rpo_hours", "target_weights", "weights", "name", "other"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["availability", "resilience", "x", None]),
    st.dictionaries(config_keys, json_values, max_size=6),
)
def test_fuzzed_configs_give_a_config_or_a_config_error(kind: str | None, fields: dict) -> None:
    document = {**fields, "analysis_type": kind} if kind else fields
    for form in (document, orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)):
        try:
            config = parse_config(form)
        except ConfigError as error:
            assert str(error) and "\n" not in str(error)
        else:
            assert config.analysis_type == kind


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_random_text_never_escapes_as_another_error(data: bytes | str) -> None:
    try:
        config = parse_config(data)
    except ConfigError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert config.analysis_type in ("availability", "resilience")


# --- defaults ----------------------------------------------------------------------------


def test_shipped_defaults(defaults: AnalysisDefaults) -> None:
    assert defaults.availability.error_budget_by_service_type["database"] == 3
    assert defaults.availability.default_weight == 5
    assert defaults.availability.status_thresholds.good_above == 0.8
    assert "timeout" in defaults.availability.failure_statuses
    assert defaults.resilience.target_rpo_hours_by_target_type["container"] == 12
    assert (defaults.resilience.weights.rpo, defaults.resilience.weights.success) == (0.6, 0.4)
    assert defaults.resilience.status_thresholds.excellent_above == 0.9
    assert defaults.reports.timeline_point_limit == 1000


def edited_defaults(path: tuple[str, ...], value: object) -> dict:
    document = json.loads(DEFAULTS_FILE.read_text())
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("availability", "error_budget_by_service_type", "database"), 0,
         "availability.error_budget_by_service_type.database: 0 is out of range (allowed 1 to 50)"),
        (("availability", "status_thresholds", "good_above"), 0.4,
         "availability.status_thresholds: critical_below 0.5 must not exceed good_above 0.4"),
        (("resilience", "weights", "rpo"), 0.5,
         "resilience.weights: rpo 0.5 + success 0.4 = 0.9, must sum to 1"),
        (("resilience", "status_thresholds", "good_from"), 0.95,
         "resilience.status_thresholds: must decrease: excellent_above >= good_from >= acceptable_from >= critical_from"),
        (("resilience", "success_statuses"), [], "resilience.success_statuses: must not be empty"),
        (("reports", "timeline_point_limit"), 0, "reports.timeline_point_limit: 0 is out of range (allowed 1 to 1000000)"),
        (("reports", "extra"), 1, 'reports: unknown key "extra" (allowed: timeline_point_limit)'),
    ],
)  # fmt: skip
def test_invalid_defaults(path: tuple[str, ...], value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_defaults(json.dumps(edited_defaults(path, value)))
    assert str(caught.value) == message


# --- resolution --------------------------------------------------------------------------


def test_resolve_availability_defaults_and_overrides(defaults: AnalysisDefaults) -> None:
    services = SERVICES.copy()
    config = parse_config(
        {
            "analysis_type": "availability",
            "services": ["odd", "db-main", "nginx-frontend"],
            "service_error_budgets": {"nginx-frontend": 9, "api": 2},
            "service_weights": {"db-main": 8},
        }
    )
    params = resolve_availability(config, services, defaults, default_error_budget=7)
    assert params.index.name == "service_id"
    assert list(params.index) == [
        "db-main",
        "nginx-frontend",
        "odd",
    ]  # data order, not config order
    assert params["error_budget"].tolist() == [3, 9, 7]  # by type; override; unknown type
    assert params["weight"].tolist() == [8, 5, 5]
    assert params["display_name"].tolist() == ["Main DB", "Frontend", "Odd one"]
    assert params["service_type"].tolist() == ["database", "web_service", "mystery"]
    assert str(params["error_budget"].dtype) == "int64" and str(params["weight"].dtype) == "int64"
    pd.testing.assert_frame_equal(services, SERVICES)  # input untouched


def test_resolve_availability_selects_all_by_default(defaults: AnalysisDefaults) -> None:
    params = resolve_availability(
        parse_config({"analysis_type": "availability"}), SERVICES, defaults, default_error_budget=5
    )
    assert list(params.index) == SERVICES["service_id"].tolist()
    assert params["error_budget"].tolist() == [8, 3, 5, 5]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"services": ["api", "ghost"]}, 'services: unknown service id "ghost" (not in the data)'),
        (
            {"service_error_budgets": {"x": 3, "y": 4}, "service_weights": {"z": 1}},
            'service_error_budgets: unknown service id "x", "y" (not in the data); '
            'service_weights: unknown service id "z" (not in the data)',
        ),
    ],
)
def test_resolve_availability_unknown_ids(
    defaults: AnalysisDefaults, document: dict, message: str
) -> None:
    config = parse_config({"analysis_type": "availability", **document})
    with pytest.raises(ConfigError) as caught:
        resolve_availability(config, SERVICES, defaults, default_error_budget=5)
    assert str(caught.value) == message


@pytest.mark.parametrize("budget", [0, 51])
def test_resolve_availability_checks_the_default_budget(
    defaults: AnalysisDefaults, budget: int
) -> None:
    config = parse_config({"analysis_type": "availability"})
    with pytest.raises(ConfigError, match=f"DEFAULT_ERROR_BUDGET: {budget} is out of range"):
        resolve_availability(config, SERVICES, defaults, default_error_budget=budget)


def test_resolve_resilience(defaults: AnalysisDefaults) -> None:
    config = parse_config(
        {
            "analysis_type": "resilience",
            "targets": ["vm-1", "never"],
            "target_rpo_hours": {"vm-1": 6.5},
            "target_weights": {"never": 4},
        }
    )
    params = resolve_resilience(config, TARGETS, defaults)
    assert params.index.name == "target_id"
    assert list(params.index) == ["never", "vm-1"]
    assert params["target_rpo_hours"].tolist() == [24.0, 6.5]  # unknown type: default RPO
    assert params["weight"].tolist() == [4, 1]
    assert params["target_type"].tolist() == ["quantum", "vm"]
    all_targets = resolve_resilience(
        parse_config({"analysis_type": "resilience"}), TARGETS, defaults
    )
    assert all_targets["target_rpo_hours"].tolist() == [12.0, 24.0, 24.0]
    with pytest.raises(ConfigError) as caught:
        resolve_resilience(
            parse_config({"analysis_type": "resilience", "target_rpo_hours": {"vm-9": 5}}),
            TARGETS,
            defaults,
        )
    assert (
        str(caught.value) == 'target_rpo_hours: unknown backup target id "vm-9" (not in the data)'
    )


# --- default windows ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_metric", "day"),
    [
        ("2026-11-28T10:00:00Z", "2026-11-27"),
        ("2026-11-28T00:00:00Z", "2026-11-27"),  # the data reaches the end of the 27th
        ("2026-11-28T00:00:00.000000001Z", "2026-11-27"),
        ("2026-11-27T23:59:00Z", "2026-11-26"),  # the 27th may still receive checks
        ("2026-11-27T23:59:59.999999999Z", "2026-11-26"),
        ("2026-11-28T01:30:00+02:00", "2026-11-26"),  # that is 23:30Z on the 27th
        ("2026-11-28T10:00:00", "2026-11-27"),  # naive means UTC
        ("2024-03-01T05:00:00Z", "2024-02-29"),
    ],
)
def test_default_availability_window(last_metric: str, day: str) -> None:
    start, end = default_availability_window(pd.Timestamp(last_metric))
    assert start == pd.Timestamp(f"{day}T00:00:00Z")
    assert end - start == pd.Timedelta(days=1)
    assert str(start.tz) == "UTC"


@pytest.mark.parametrize(
    ("last_data", "hours", "start"),
    [
        ("2026-11-28T10:30:00Z", 168, "2026-11-21T10:00:00Z"),
        ("2026-11-28T10:00:00Z", 168, "2026-11-21T10:00:00Z"),  # an exact hour is a full hour
        ("2026-11-28T10:59:59Z", 24, "2026-11-27T10:00:00Z"),
        ("2026-11-28T10:30:00+05:30", 1, "2026-11-28T04:00:00Z"),
        (
            datetime(2026, 11, 28, 10, 30, tzinfo=timezone(timedelta(hours=-1))),
            2,
            "2026-11-28T09:00:00Z",
        ),
    ],
)
def test_default_resilience_window(last_data: object, hours: int, start: str) -> None:
    assert default_resilience_window(last_data, hours=hours) == pd.Timestamp(start)


@pytest.mark.parametrize("hours", [0, 8761])
def test_default_resilience_window_checks_hours(hours: int) -> None:
    with pytest.raises(ConfigError, match="out of range"):
        default_resilience_window(pd.Timestamp("2026-01-01T00:00:00Z"), hours=hours)


def test_not_a_number_is_out_of_range() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("analysis_type: resilience\ntarget_rpo_hours: {vm-1: .nan}\n")
    assert str(caught.value) == "target_rpo_hours.vm-1: nan is out of range (allowed 1 to 168)"


def test_odd_keys_are_quoted_on_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"analysis_type": "availability", "service_weights": {"a\nb": 0}, "x.y": 1})
    assert str(caught.value) == (
        'service_weights."a\\nb": 0 is out of range (allowed 1 to 10); '
        'unknown key "x.y" (allowed: analysis_type, start, end, services, '
        "service_error_budgets, service_weights, name)"
    )


@pytest.mark.parametrize(
    ("start", "shown"),
    [
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00"),
        ("1600-01-01T00:00:00Z", "1600-01-01T00:00:00Z"),
        ("2300-01-01T00:00:00", "2300-01-01T00:00:00"),
    ],
)
def test_instants_outside_the_data_range(start: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"analysis_type": "resilience", "start": start})
    assert str(caught.value) == f"start: {shown} is out of range (allowed 1677-09-22 to 2262-04-11)"


def test_unencodable_text_is_escaped_in_messages() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"analysis_type": "\ud800"})
    assert str(caught.value).startswith('analysis_type: "\\\\ud800" is not allowed')
    str(caught.value).encode("utf-8")  # printable as is
