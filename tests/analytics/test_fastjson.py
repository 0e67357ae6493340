"""Vectorised JSON/CSV text building: exact against straightforward Python formatting."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from analytics import fastjson
from analytics.fastjson import (
    ARRAY_SLOT,
    BytesColumn,
    LookupColumn,
    NumberColumn,
    RowTable,
    TimestampColumn,
    bytes_matrix,
    iso_utc,
    json_strings,
    render_document,
    render_rows,
)

# datetime64[ns] covers 1677-09-21 to 2262-04-11; stay a day inside.
NS_MIN = pd.Timestamp("1677-09-22").value
NS_MAX = pd.Timestamp("2262-04-10").value


def texts_of(column: object, rows: int) -> list[str]:
    """The texts of a column: each row without its zero padding (checked against its length)."""
    matrix, lengths = column.texts(0, rows)  # type: ignore[attr-defined]
    texts = [bytes(row[row != 0]).decode() for row in matrix]
    assert [len(text.encode()) for text in texts] == lengths.tolist()
    return texts


def reference_iso(ns: int) -> str:
    """The expected text, from pandas' own calendar arithmetic: the fewest of 0/3/6/9
    fraction digits that write the value exactly."""
    stamp = pd.Timestamp(ns, tz="UTC")
    fraction = f"{ns % 1_000_000_000:09d}"
    digits = next(d for d in (0, 3, 6, 9) if fraction[d:].strip("0") == "")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction[:digits]}" if digits else "") + "Z"


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["2026-11-28T10:00:00Z"], ["2026-11-28T10:00:00Z"]),
        (["1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z"], ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z"]),
        (["2024-02-29T12:34:56Z", "2000-03-01T00:00:00Z"], ["2024-02-29T12:34:56Z", "2000-03-01T00:00:00Z"]),
        (["2026-01-01T00:00:00.5Z", "2026-01-01T00:00:01Z"], ["2026-01-01T00:00:00.500Z", "2026-01-01T00:00:01Z"]),
        (["2026-01-01T00:00:00.000001Z"], ["2026-01-01T00:00:00.000001Z"]),
        (["2026-01-01T00:00:00.123456789Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.12Z", "2026-01-01T00:00:00.1234Z"],
         ["2026-01-01T00:00:00.123456789Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.120Z", "2026-01-01T00:00:00.123400Z"]),
        (["1677-09-22T00:00:00Z", "2262-04-10T23:59:59Z"], ["1677-09-22T00:00:00Z", "2262-04-10T23:59:59Z"]),
    ],
)  # fmt: skip
def test_timestamps_table(stamps: list[str], expected: list[str]) -> None:
    values = pd.to_datetime(stamps, utc=True, format="ISO8601").as_unit("ns").asi8
    assert texts_of(TimestampColumn(values), len(values)) == expected


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.int64, st.integers(1, 40), elements=st.integers(NS_MIN, NS_MAX)),
    st.sampled_from([1, 1_000, 1_000_000, 1_000_000_000]),
)
def test_timestamps_match_pandas(values: np.ndarray, granularity: int) -> None:
    values = values - values % granularity
    expected = [reference_iso(int(ns)) for ns in values]
    assert texts_of(TimestampColumn(values), len(values)) == expected
    # every written value is exact: it parses back to the same instant
    assert (
        pd.to_datetime(expected, utc=True, format="ISO8601").as_unit("ns").asi8.tolist()
        == values.tolist()
    )


def test_timestamps_accept_datetime64_and_refuse_nat() -> None:
    values = np.array(["2026-01-01T00:00", "2026-01-02T00:00"], dtype="datetime64[m]")
    assert texts_of(TimestampColumn(values), 2) == ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    with pytest.raises(ValueError, match="NaT"):
        TimestampColumn(np.array(["2026-01-01", "NaT"], dtype="datetime64[ns]"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (pd.NaT, None),
        ("2026-11-28T10:00:00+02:00", "2026-11-28T08:00:00Z"),
        (pd.Timestamp("2026-11-28T10:00:00"), "2026-11-28T10:00:00Z"),  # naive means UTC
        (pd.Timestamp("2026-11-28T10:00:00.25Z"), "2026-11-28T10:00:00.250Z"),
    ],
)
def test_iso_utc(value: object, expected: str | None) -> None:
    assert iso_utc(value) == expected


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(allow_subnormal=True, width=64))
)
def test_floats_are_written_at_full_precision(values: np.ndarray) -> None:
    texts = texts_of(NumberColumn(values), len(values))
    for value, text in zip(values.tolist(), texts, strict=True):
        if np.isfinite(value):
            assert json.loads(text) == value  # round trip: nothing rounded away
        else:
            assert text == "null"


@pytest.mark.parametrize(
    ("values", "null_text", "expected"),
    [
        ([1.0, 0.8, 0.1 + 0.2, 1e-7, -0.5], b"null", ["1.0", "0.8", "0.30000000000000004", "1e-7", "-0.5"]),
        ([np.nan, np.inf, -np.inf, 2.5], b"null", ["null", "null", "null", "2.5"]),
        ([np.nan, 2.5, np.nan], b"", ["", "2.5", ""]),
        ([0.25, 1.0], b"", ["0.25", "1.0"]),
    ],
)  # fmt: skip
def test_float_texts(values: list[float], null_text: bytes, expected: list[str]) -> None:
    column = NumberColumn(np.array(values), null_text=null_text)
    assert texts_of(column, len(values)) == expected


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, st.integers(1, 50)))
def test_integers(values: np.ndarray) -> None:
    assert texts_of(NumberColumn(values), len(values)) == [str(v) for v in values.tolist()]


@pytest.mark.parametrize(
    ("values", "null_text", "error"),
    [
        (np.array(["a"]), b"null", TypeError),
        (np.array([True]), b"null", TypeError),
        (np.array([1.0]), b"a,b", ValueError),
    ],
)
def test_number_column_refuses(values: np.ndarray, null_text: bytes, error: type) -> None:
    with pytest.raises(error):
        NumberColumn(values, null_text=null_text)


def test_lookup_and_bytes_columns() -> None:
    statuses = json_strings(["GOOD", 'say "hi"', "é"])
    lookup = LookupColumn(np.array([2, 0, 1, 0]), statuses)
    assert texts_of(lookup, 4) == ['"é"', '"GOOD"', '"say \\"hi\\""', '"GOOD"']
    with pytest.raises(ValueError, match="outside"):
        LookupColumn(np.array([3]), statuses)
    assert texts_of(BytesColumn(np.array([b"ab", b"", b"xyz"])), 3) == ["ab", "", "xyz"]
    with pytest.raises(TypeError):
        BytesColumn(np.array(["text"]))
    with pytest.raises(ValueError, match="zero bytes"):
        bytes_matrix([b"a\0b"])


def test_render_rows_cuts_groups_and_uses_the_separator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastjson, "CHUNK_ROWS", 2)  # several chunks, groups across them
    values = np.array([1, 22, 333, 4, 55])
    table = RowTable([b"<", NumberColumn(values), b">"], np.array([0, 3, 3, 5]), separator=b";")
    text, ends = render_rows(table)
    assert text.tobytes() == b"<1>;<22>;<333>;<4>;<55>;"
    assert ends.tolist() == [0, 15, 15, 24]


def test_render_document_fills_slots_in_order() -> None:
    points = RowTable(
        [b'{"v":', NumberColumn(np.array([1.5, np.nan, 3.0])), b"}"], np.array([0, 2, 2, 3])
    )
    other = RowTable([b'"', LookupColumn(np.array([0]), [b"x"]), b'"'], np.array([0, 1]))
    skeleton = {"a": [ARRAY_SLOT, ARRAY_SLOT], "b": {"c": ARRAY_SLOT}, "d": ARRAY_SLOT}
    document = render_document(skeleton, [points, other])
    assert document == b'{"a":[[{"v":1.5},{"v":null}],[]],"b":{"c":[{"v":3.0}]},"d":["x"]}'
    with pytest.raises(ValueError, match="slots"):
        render_document({"a": ARRAY_SLOT}, [points])


def test_render_document_without_rows() -> None:
    empty = RowTable([b"{", NumberColumn(np.array([], dtype=float)), b"}"], np.array([0, 0]))
    assert render_document({"x": ARRAY_SLOT, "n": 1}, [empty]) == b'{"x":[],"n":1}'


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(NS_MIN, NS_MAX),
                st.floats(allow_nan=True, allow_infinity=False),
                st.integers(0, 10**12),
                st.sampled_from(["GOOD", "ATTENZIONE", "CRITICAL"]),
            ),
            max_size=8,
        ),
        max_size=6,
    )
)
def test_document_equals_the_dict_built_version(groups: list[list[tuple]]) -> None:
    rows = [row for group in groups for row in group]
    bounds = np.cumsum([0, *(len(group) for group in groups)])
    statuses = ["GOOD", "ATTENZIONE", "CRITICAL"]
    timestamps = TimestampColumn(np.array([row[0] for row in rows], dtype=np.int64))
    table = RowTable(
        [
            b'{"timestamp":"',
            timestamps,
            b'","score":',
            NumberColumn(np.array([row[1] for row in rows], dtype=np.float64)),
            b',"count":',
            NumberColumn(np.array([row[2] for row in rows], dtype=np.int64)),
            b',"status":',
            LookupColumn(
                np.array([statuses.index(row[3]) for row in rows]), json_strings(statuses)
            ),
            b"}",
        ],
        bounds,
    )
    fast = render_document({"groups": [ARRAY_SLOT for _ in groups]}, [table])
    reference = {
        "groups": [
            [
                {
                    "timestamp": reference_iso(stamp),
                    "score": None if np.isnan(score) else score,
                    "count": count,
                    "status": status,
                }
                for stamp, score, count, status in group
            ]
            for group in groups
        ]
    }
    assert orjson.loads(fast) == json.loads(json.dumps(reference))


def test_an_empty_range_has_no_rows() -> None:
    for column in (
        NumberColumn(np.array([1.5])),
        TimestampColumn(np.array([0])),
        LookupColumn(np.array([0]), [b"x"]),
    ):
        matrix, lengths = column.texts(0, 0)
        assert matrix.shape[0] == 0 and len(lengths) == 0
