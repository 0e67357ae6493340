"""Fuzzing of the two parsers that read untrusted input: configurations and report files.

Whatever arrives (random JSON, a valid document with keys dropped or values of the wrong type,
numbers out of range, huge strings, deep nesting, ``$``-prefixed keys, bytes that are not
UTF-8, cut-off files), the parsers either return a valid result or raise their own error
(``ConfigError`` / ``ReportError``) with a non-empty one-line message: never anything else.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.config import AvailabilityConfig, ConfigError, ResilienceConfig, parse_config
from analytics.report import REPORT_KINDS, ReportError, ReportSummary, load_report, summarize_report

FIXTURES = Path(__file__).parents[1] / "fixtures"
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

VALID_CONFIGS: list[dict[str, Any]] = [
    {"analysis_type": "availability"},
    {
        "analysis_type": "availability",
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-02T00:00:00+01:00",
        "services": ["web-1", "db-1"],
        "service_error_budgets": {"web-1": 5, "db-1": 50},
        "service_weights": {"web-1": 1, "db-1": 10},
        "name": "nightly",
    },
    {"analysis_type": "resilience"},
    {
        "analysis_type": "resilience",
        "start": "2026-01-01T00:00:00",
        "hours": 168,
        "targets": ["vm-1", "ct-1"],
        "target_rpo_hours": {"vm-1": 24, "ct-1": 1.5},
        "target_weights": {"vm-1": 3},
        "weights": {"rpo": 0.6, "success": 0.4},
        "name": "weekly",
    },
]
VALID_REPORTS: list[dict[str, Any]] = [
    json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    for name in (
        "availability_report.json",
        "resilience_report.json",
        "legacy_availability_report.json",
    )
]

# --- values ------------------------------------------------------------------------------

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Values chosen to sit on or past the edges of what the models accept, by JSON type: a mutation
# often swaps a value for an edge value of its own type, which gets past the type checks.
NUMBER_EDGES: list[Any] = [
    -1,
    0,
    1,
    51,
    169,
    8761,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    -1e308,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
    0.5,
    1.0000001,
    True,
    False,
]
TEXT_EDGES: list[Any] = [
    "",
    " ",
    "availability",
    "resilience",
    "2026-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999999999Z",
    "99999-01-01T00:00:00Z",
    "2026-01-01",
    "9999-12-31",
    "2300-01-01T00:00:00.1234567Z",
    "NaN",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "line\nbreak",
    "\x00",
    "\ud800",
    "$gt",
]
CONTAINER_EDGES: list[Any] = [
    [],
    {},
    [None],
    ["dup", "dup"],
    ["line\nbreak", "line\nbreak"],
    ["\ud800"],
    {"line\nbreak": 1},
    {"\ud800": 1},
    {"$gt": ""},
    {"$where": "sleep(1000)"},
    ["$ne"],
]
edge_values = st.sampled_from(NUMBER_EDGES + TEXT_EDGES + CONTAINER_EDGES)
huge_strings = st.builds(
    lambda char, size: char * size, st.sampled_from("x$\n\u00e9"), st.integers(1_000, 300_000)
)
# Deep nesting is spliced into the JSON text (see _encode): the stdlib encoder would refuse it.
DEEP_MARK = "\x00deep:"
deep_markers = st.integers(50, 3_000).map(lambda depth: f"{DEEP_MARK}{depth}")
# Edge values are drawn most often: they are where parsers break.
junk = st.sampled_from(
    [edge_values, edge_values, edge_values, json_values, huge_strings, deep_markers]
).flatmap(lambda strategy: strategy)


# --- mutations ---------------------------------------------------------------------------


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON tree (the root included), as key/index paths."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _edges_like(value: Any) -> list[Any]:
    if isinstance(value, str):
        return TEXT_EDGES
    if isinstance(value, int | float):
        return NUMBER_EDGES
    return CONTAINER_EDGES


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


def _draw_junk(data: st.DataObject, label: str) -> Any:
    # A copy: the sampled containers are shared between examples and later mutations edit them.
    return copy.deepcopy(data.draw(junk, label=label))


def _mutate(data: st.DataObject, document: Any) -> Any:
    """A copy of ``document`` with one to four random mutations applied."""
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = _paths(document)
        path = data.draw(st.sampled_from(paths), label="path")
        action = data.draw(
            st.sampled_from(
                ["drop", "replace", "same_type", "dollar_key", "rename_dollar", "wrap"]
            ),
            label="action",
        )
        if not path:  # the root itself: only a replacement makes sense
            if action == "replace":
                document = _draw_junk(data, "root")
            continue
        parent, last = _parent(document, path), path[-1]
        if action == "drop":
            del parent[last]
        elif action == "replace":
            parent[last] = _draw_junk(data, "value")
        elif action == "same_type":
            parent[last] = copy.deepcopy(
                data.draw(st.sampled_from(_edges_like(parent[last])), label="edge")
            )
        elif action == "wrap":
            wrapper = data.draw(st.sampled_from(["list", "operator"]), label="wrapper")
            parent[last] = [parent[last]] if wrapper == "list" else {"$in": parent[last]}
        elif isinstance(parent[last], dict):
            target = parent[last]
            if action == "dollar_key":
                operator = data.draw(st.sampled_from(["$set", "$where", "$gt", "$"]), label="key")
                target[operator] = _draw_junk(data, "operand")
            elif target:
                key = data.draw(st.sampled_from(sorted(target, key=str)), label="renamed")
                target[f"${key}"] = target.pop(key)
    return document


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# The deep-nesting marker as json.dumps writes it (it always escapes the NUL), opening quote
# included.
_DEEP_MARK_IN_JSON = json.dumps(DEEP_MARK)[:-1]


def _encode(document: Any) -> str:
    """JSON text (NaN and Infinity written as the non-standard tokens, other characters as
    themselves, lone surrogates included), deep markers expanded."""
    text = json.dumps(document, allow_nan=True, ensure_ascii=False)
    while (start := text.find(_DEEP_MARK_IN_JSON)) >= 0:
        end = text.index('"', start + 1)
        depth = int(text[start + len(_DEEP_MARK_IN_JSON) : end])
        text = text[:start] + _deep(depth) + text[end + 1 :]
    return text


@st.composite
def encodings(draw: st.DrawFn, document: Any) -> bytes | str:
    """``document`` as text or bytes, possibly cut short or with bytes that are not UTF-8."""
    text = _encode(document)
    form = draw(st.sampled_from(["text", "bytes", "latin1", "invalid_utf8", "truncated"]))
    if form == "text":
        return text
    raw = text.encode("utf-8", errors="surrogatepass")
    if form == "latin1":
        return text.encode("latin-1", errors="replace")
    if form == "invalid_utf8":
        position = draw(st.integers(0, len(raw)))
        return (
            raw[:position]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]))
            + raw[position:]
        )
    if form == "truncated":
        return raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    return raw


# --- the contract ------------------------------------------------------------------------


def _assert_clean_failure_or_valid(
    call: Callable[[], Any], error_type: type[Exception], is_valid: Callable[[Any], bool]
) -> None:
    try:
        result = call()
    except error_type as error:
        message = str(error)
        assert message.strip(), f"{error_type.__name__} with an empty message"
        assert "\n" not in message and "\r" not in message, f"multi-line message: {message!r:.300}"
        return
    assert is_valid(result), f"unexpected result {result!r:.300}"


def _is_config(result: Any) -> bool:
    return isinstance(result, AvailabilityConfig | ResilienceConfig)


def _is_report(result: Any) -> bool:
    return isinstance(result, dict) and result.get("analysis_type") in REPORT_KINDS


def _check_config(data: bytes | str | dict[str, Any]) -> None:
    _assert_clean_failure_or_valid(lambda: parse_config(data), ConfigError, _is_config)


def _check_report(data: bytes | str) -> None:
    _assert_clean_failure_or_valid(lambda: load_report(data), ReportError, _is_report)
    _assert_clean_failure_or_valid(
        lambda: summarize_report(data),
        ReportError,
        lambda result: isinstance(result, ReportSummary),
    )
    _assert_clean_failure_or_valid(
        lambda: summarize_report(data, partial=True),
        ReportError,
        lambda result: result is None or isinstance(result, ReportSummary),
    )


# --- tests -------------------------------------------------------------------------------


def test_the_base_documents_are_valid() -> None:
    """The mutations start from documents that parse, so they explore the edges of validity."""
    for document in VALID_CONFIGS:
        assert _is_config(parse_config(document))
    for document in VALID_REPORTS:
        assert _is_report(load_report(json.dumps(document)))


# Inputs the fuzzer found or that sit where it rarely lands; kept as fixed regression cases.
KNOWN_CONFIG_EDGES: list[dict[str, Any]] = [
    {"analysis_type": "resilience", "start": "0001-01-01T00:00:00+01:00"},
    {
        "analysis_type": "availability",
        "start": "2026-01-01T00:00:00Z",
        "end": "9999-12-31T23:59:59-01:00",
    },
    {"analysis_type": "\ud800"},
    {"analysis_type": "availability", "services": ["\ud800", "\ud800"]},
    {"analysis_type": "availability", "services": ["line\nbreak", "line\nbreak"]},
    {"analysis_type": "resilience", "targets": ["a\rb", "a\rb"]},
    {"analysis_type": "availability", "service_error_budgets": {"line\nbreak": 99}},
    {"analysis_type": "availability", "services": ["$gt"], "$where": "1"},
]


@pytest.mark.parametrize("document", KNOWN_CONFIG_EDGES, ids=repr)
def test_known_configuration_edges(document: dict[str, Any]) -> None:
    _check_config(document)
    _check_config(json.dumps(document))


def _report_with(base: int, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID_REPORTS[base])
    document.update(changes)
    return document


KNOWN_REPORT_EDGES: list[dict[str, Any]] = [
    # older-tool report whose last day is the last day datetime can hold
    _report_with(2, analysis_dates=["9999-12-31"]),
    # timestamps past pandas' nanosecond range (year 2262) with nanosecond digits
    _report_with(0, analysis_timestamp="9999-12-31T23:59:59.999999999Z"),
    _report_with(
        1,
        window={
            "start": "2300-01-01T00:00:00.1234567Z",
            "end": "2300-01-01T02:00:00.1234567Z",
            "hours": 2,
        },
    ),
    _report_with(0, analysis_timestamp="0001-01-01T00:00:00.000000001Z"),
]


@pytest.mark.parametrize("document", KNOWN_REPORT_EDGES, ids=lambda d: repr(d)[:80])
def test_known_report_edges(document: dict[str, Any]) -> None:
    _check_report(json.dumps(document))


@FUZZ
@given(document=json_values | junk, data=st.data())
def test_random_json_configurations(document: Any, data: st.DataObject) -> None:
    _check_config(data.draw(encodings(document)))
    if isinstance(document, dict):
        _check_config(document)


@FUZZ
@given(base=st.sampled_from(VALID_CONFIGS), data=st.data())
def test_mutated_configurations(base: dict[str, Any], data: st.DataObject) -> None:
    document = _mutate(data, base)
    _check_config(data.draw(encodings(document)))
    if isinstance(document, dict) and DEEP_MARK not in repr(document):
        _check_config(document)


@FUZZ
@given(text=st.text(max_size=200))
def test_random_text_configurations(text: str) -> None:
    """Text that is neither JSON nor a mapping goes through the YAML reader."""
    _check_config(text)
    _check_config("analysis_type: availability\n" + text)


@FUZZ
@given(document=json_values | junk, data=st.data())
def test_random_json_reports(document: Any, data: st.DataObject) -> None:
    _check_report(data.draw(encodings(document)))


@FUZZ
@given(base=st.sampled_from(VALID_REPORTS), data=st.data())
def test_mutated_reports(base: dict[str, Any], data: st.DataObject) -> None:
    _check_report(data.draw(encodings(_mutate(data, base))))
