"""Vectorised building of JSON and CSV text for large tables (report timelines: a million points).

Why: the report layout needs one JSON object per timeline point. Building a Python dict per
point and serialising it costs about a microsecond per field; here every column is turned into
text at once with numpy and orjson, and the rows are glued together without per-row Python work.

The representation used throughout is a *text matrix*: an ``(n, width)`` uint8 array holding one
UTF-8 text per row, padded with zero bytes (usually at the end; timestamps also leave unused
fraction digits as zeros). Zero bytes never occur in JSON or CSV text that we write (orjson
escapes U+0000 as ``\\u0000``, and texts containing one are refused), so laying the matrices
of several columns side by side and then dropping every zero byte yields the rows' texts
exactly.

Rows are rendered in chunks of :data:`CHUNK_ROWS` so that the temporary matrices stay small and
are reused: on this machine touching fresh memory costs about as much as formatting it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

import numpy as np
import orjson
from numpy.lib.stride_tricks import sliding_window_view

NS_PER_SECOND = 1_000_000_000
SECONDS_PER_DAY = 86_400
CHUNK_ROWS = 1 << 14
# Where the k-th JSON array goes in a skeleton serialised by render_document.
ARRAY_SLOT = orjson.Fragment(b"[\0]")
# The longest texts orjson writes for a float64 ("-2.2250738585072014e-308") and an int64.
_MAX_FLOAT_WIDTH = 24
_MAX_INT_WIDTH = 20
_COMMA = ord(",")


class Column(Protocol):
    """A column of values written as text, a range of rows at a time."""

    max_width: int

    def texts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The text matrix of rows ``start:stop`` and the length of each row's text (its count
        of non-zero bytes)."""
        ...


class TimestampColumn:
    """ISO-8601 UTC texts ``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`` (without quotes).

    ``values`` are ``datetime64`` (UTC) or int64 nanoseconds since the epoch. Each value is
    written with the fewest of 0, 3 or 6 or 9 fractional digits that write it exactly, so whole
    seconds read ``...:05Z`` and half a second ``...:05.500Z``. NaT is refused (a timeline
    point always has a time); write nullable scalars with :func:`iso_utc`.
    """

    def __init__(self, values: np.ndarray) -> None:
        array = np.asarray(values)
        if array.dtype.kind == "M":
            if np.isnat(array).any():
                raise ValueError("TimestampColumn: NaT cannot be written as a timeline timestamp")
            array = array.astype("datetime64[ns]").view(np.int64)
        self._ns = array.astype(np.int64, copy=False)
        fractions = (self._ns % NS_PER_SECOND).astype(np.int32)
        self._fraction_digits = int(_fraction_digits(_fraction_groups(fractions)).max(initial=0))
        self.max_width = 20 + (self._fraction_digits + 1 if self._fraction_digits else 0)

    def texts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        ns = self._ns[start:stop]
        # Floor division by a constant, then multiply-subtract: much cheaper than np.divmod.
        seconds = ns // NS_PER_SECOND
        days = seconds // SECONDS_PER_DAY
        out = np.empty((len(ns), self.max_width), dtype=np.uint8)
        if len(ns):
            # Few distinct days and at most 86,400 times of day: format those once, then gather.
            first_day = int(days.min())
            out[:, 0:10] = _date_texts(first_day, int(days.max()))[days - first_day]
            out[:, 11:19] = _time_of_day_texts()[seconds - days * SECONDS_PER_DAY]
        out[:, 10] = ord("T")
        out[:, -1] = ord("Z")
        if not self._fraction_digits:
            return out, np.full(len(out), self.max_width, dtype=np.int64)
        groups = _fraction_groups((ns - seconds * NS_PER_SECOND).astype(np.int32))
        digits = _fraction_digits(groups)
        out[:, 19] = np.where(digits > 0, ord("."), 0)
        for group, values in enumerate(groups[: self._fraction_digits // 3]):
            # Three digits at a time from a 1000-row table; digits a value does not need are
            # zero bytes, dropped when the rows are joined.
            texts = _three_digit_texts()[values]
            out[:, 20 + 3 * group : 23 + 3 * group] = texts * (digits > 3 * group)[:, None]
        return out, 20 + digits + (digits > 0)


class NumberColumn:
    """Numbers (ints or floats) as JSON/CSV number texts; NaN and infinities become ``null_text``.

    Floats are written in their shortest round-trip form (what orjson writes), so they are the
    full-precision values, never rounded. ``null_text`` is ``b"null"`` for JSON, ``b""`` for CSV.
    """

    def __init__(self, values: np.ndarray, *, null_text: bytes = b"null") -> None:
        array = np.asarray(values)
        if array.dtype.kind == "f":
            self._values = array.astype(np.float64, copy=False)
            self.max_width = max(_MAX_FLOAT_WIDTH, len(null_text))
        elif array.dtype.kind in "iu":
            self._values = array.astype(np.int64, copy=False)
            self.max_width = _MAX_INT_WIDTH
        else:
            raise TypeError(f"NumberColumn: expected numbers, got dtype {array.dtype}")
        if b"," in null_text or b"\0" in null_text:
            raise ValueError("NumberColumn: null_text must not contain commas or zero bytes")
        self._null_text = null_text

    def texts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        chunk = np.ascontiguousarray(self._values[start:stop])
        if len(chunk) == 0:
            return np.zeros((0, 1), dtype=np.uint8), np.zeros(0, dtype=np.int64)
        if self._null_text != b"null" and chunk.dtype.kind == "f":
            missing = ~np.isfinite(chunk)
            if missing.any():
                return self._with_nulls(chunk, missing)
        dumped = orjson.dumps(chunk, option=orjson.OPT_SERIALIZE_NUMPY)
        body = np.frombuffer(dumped, dtype=np.uint8)[1:-1]  # the values separated by commas
        commas = np.flatnonzero(body == _COMMA)
        starts = np.concatenate(([0], commas + 1))
        lengths = np.concatenate((commas, [len(body)])) - starts
        return _pieces_matrix(body, starts, lengths), lengths

    def _with_nulls(self, chunk: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        present = NumberColumn(np.where(missing, 0.0, chunk))
        matrix, lengths = present.texts(0, len(chunk))
        null = np.frombuffer(self._null_text, dtype=np.uint8)
        width = max(matrix.shape[1], len(null))
        out = np.zeros((len(chunk), width), dtype=np.uint8)
        out[:, : matrix.shape[1]] = matrix
        out[missing] = 0
        out[missing, : len(null)] = null
        return out, np.where(missing, len(null), lengths)


class LookupColumn:
    """Row i is ``texts[codes[i]]``: for columns with few distinct values (statuses, ids).

    ``texts`` are complete cell texts (e.g. from :func:`json_strings`); ``codes`` index them.
    """

    def __init__(self, codes: np.ndarray, texts: Sequence[bytes]) -> None:
        self._codes = np.asarray(codes, dtype=np.intp)
        self._table = bytes_matrix(texts)
        self._lengths = np.array([len(text) for text in texts], dtype=np.int64)
        if len(self._codes) and (self._codes.min() < 0 or self._codes.max() >= len(texts)):
            raise ValueError("LookupColumn: a code is outside the table of texts")
        self.max_width = self._table.shape[1]

    def texts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        codes = self._codes[start:stop]
        return self._table[codes], self._lengths[codes]


class BytesColumn:
    """Texts given as a numpy ``S`` (fixed-width bytes) array, e.g. ``np.array(strs, "S")``."""

    def __init__(self, values: np.ndarray) -> None:
        array = np.asarray(values)
        if array.dtype.kind != "S":
            raise TypeError(f"BytesColumn: expected a bytes ('S') array, got dtype {array.dtype}")
        self._values = array
        self.max_width = max(array.dtype.itemsize, 1)

    def texts(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        chunk = np.ascontiguousarray(self._values[start:stop])
        matrix = chunk.view(np.uint8).reshape(len(chunk), chunk.dtype.itemsize)
        return matrix, np.char.str_len(chunk).astype(np.int64)


@dataclass(frozen=True)
class RowTable:
    """Rows of text, each followed by ``separator``, cut into groups of consecutive rows.

    ``pieces``: per row, literal byte strings (the same in every row) and columns, in order;
    ``group_bounds``: the ``k + 1`` row offsets that delimit ``k`` groups (first 0, last the
    number of rows).
    """

    pieces: Sequence[bytes | Column]
    group_bounds: np.ndarray
    separator: bytes = b","

    @property
    def rows(self) -> int:
        return int(self.group_bounds[-1]) if len(self.group_bounds) else 0

    @property
    def groups(self) -> int:
        return max(len(self.group_bounds) - 1, 0)


def render_document(skeleton: Any, tables: Sequence[RowTable]) -> bytes:
    """``orjson.dumps(skeleton)`` with each :data:`ARRAY_SLOT` replaced by a JSON array of rows.

    The slots, in document order, take the groups of ``tables[0]`` in order, then those of
    ``tables[1]``, and so on; their count must match. Only the skeleton (a few objects per
    group) is built as Python objects.

    Each chunk of rows is appended to the document as soon as it is rendered, so the rows'
    text exists once, in the returned bytes: no whole-document intermediate copy.
    """
    parts = orjson.dumps(skeleton).split(b"\0")
    expected = sum(table.groups for table in tables)
    if len(parts) - 1 != expected:
        raise ValueError(f"render_document: {len(parts) - 1} array slots for {expected} groups")
    # A BytesIO grows in place (realloc) and getvalue() hands over its buffer without a copy.
    document = io.BytesIO()
    document.write(parts[0])
    slots = iter(parts[1:])
    for table in tables:
        bounds = np.asarray(table.group_bounds, dtype=np.int64).tolist()
        cut = len(table.separator)  # the separator after a group's last row is not wanted
        group = 0  # the next group to close
        for first_row, text, row_ends in _row_chunks(table):
            stop_row = first_row + len(row_ends)
            written = 0  # how much of this chunk's text is in the document
            while group < table.groups and bounds[group + 1] <= stop_row:
                if bounds[group + 1] > bounds[group]:  # its last row is in this chunk
                    end = int(row_ends[bounds[group + 1] - first_row - 1])
                    document.write(text[written : end - cut])
                    written = end
                document.write(next(slots))
                group += 1
            document.write(text[written:])
        for _ in range(group, table.groups):  # groups without rows after the last row
            document.write(next(slots))
    return document.getvalue()


def render_rows(table: RowTable) -> tuple[np.ndarray, np.ndarray]:
    """The text of all rows of ``table`` (each followed by its separator), as a uint8 array,
    and the byte offset where each group ends (``k + 1`` offsets, first 0)."""
    text = io.BytesIO()
    row_ends = np.zeros(table.rows + 1, dtype=np.int64)
    for first_row, chunk, chunk_row_ends in _row_chunks(table):
        row_ends[first_row + 1 : first_row + 1 + len(chunk_row_ends)] = chunk_row_ends + text.tell()
        text.write(chunk)
    return (
        np.frombuffer(text.getvalue(), dtype=np.uint8),
        row_ends[np.asarray(table.group_bounds, dtype=np.int64)],
    )


def _row_chunks(table: RowTable) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The rows of ``table``, :data:`CHUNK_ROWS` at a time: the chunk's first row, the text of
    its rows back to back (each followed by the separator; valid until the next chunk), and
    the offset in that text where each of its rows ends."""
    pieces = [
        np.frombuffer(piece, dtype=np.uint8) if isinstance(piece, bytes) else piece
        for piece in [*table.pieces, table.separator]
    ]
    literal_width = sum(len(piece) for piece in pieces if isinstance(piece, np.ndarray))
    bound = literal_width + sum(p.max_width for p in pieces if not isinstance(p, np.ndarray))
    rows = table.rows
    scratch = np.empty(min(rows, CHUNK_ROWS) * bound, dtype=np.uint8)
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, rows)
        blocks = []
        lengths = np.full(stop - start, literal_width, dtype=np.int64)
        for piece in pieces:
            if isinstance(piece, np.ndarray):
                blocks.append(piece)
            else:
                block, block_lengths = piece.texts(start, stop)
                blocks.append(block)
                lengths += block_lengths
        width = sum(block.shape[-1] for block in blocks)
        chunk = scratch[: (stop - start) * width].reshape(stop - start, width)
        column = 0
        for block in blocks:
            chunk[:, column : column + block.shape[-1]] = block
            column += block.shape[-1]
        flat = chunk.ravel()
        yield start, flat[flat != 0], np.cumsum(lengths)  # without the padding


def iso_utc(value: Any) -> str | None:
    """One timestamp as the same ISO-8601 UTC text as :class:`TimestampColumn`; None for NaT.

    Naive values are taken as UTC, aware ones are converted to UTC.
    """
    import pandas as pd  # local: the array code paths do not need pandas

    from analytics.utc import as_utc

    stamp = as_utc(value)
    if stamp is pd.NaT:
        return None
    column = TimestampColumn(np.array([stamp.as_unit("ns").value], dtype=np.int64))
    return column.texts(0, 1)[0].tobytes().replace(b"\0", b"").decode("ascii")


def json_strings(strings: Sequence[str]) -> list[bytes]:
    """Each string as a JSON string literal (quoted and escaped), for :class:`LookupColumn`."""
    return [orjson.dumps(text) for text in strings]


def bytes_matrix(texts: Sequence[bytes]) -> np.ndarray:
    """A few byte strings as a text matrix, one row each."""
    width = max((len(text) for text in texts), default=0) or 1
    table = np.zeros((len(texts), width), dtype=np.uint8)
    for row, text in enumerate(texts):
        if b"\0" in text:
            raise ValueError("bytes_matrix: texts must not contain zero bytes")
        table[row, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    return table


def _pieces_matrix(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Rows ``buffer[starts[i] : starts[i] + lengths[i]]`` as a zero-padded text matrix."""
    width = int(lengths.max())
    padded = np.concatenate((buffer, np.zeros(width, dtype=np.uint8)))
    # Every row is a window of `width` bytes starting at its text: one gather, no per-row work.
    matrix = sliding_window_view(padded, width)[starts]
    matrix *= np.arange(width, dtype=np.uint8) < lengths[:, None].astype(np.uint8)
    return matrix


def _fraction_groups(fraction_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Milli-, micro- and nanosecond parts (each 0..999) of fractions of a second in ns."""
    milli = fraction_ns // 1_000_000
    rest = fraction_ns - milli * 1_000_000
    micro = rest // 1_000
    return milli, micro, rest - micro * 1_000


def _fraction_digits(groups: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Per value, the fewest of 0, 3, 6 or 9 fractional digits that write it exactly."""
    milli, micro, nano = groups
    return np.where(nano != 0, 9, np.where(micro != 0, 6, np.where(milli != 0, 3, 0)))


@lru_cache(maxsize=64)
def _date_texts(first_day: int, last_day: int) -> np.ndarray:
    """``YYYY-MM-DD`` of each day from ``first_day`` to ``last_day`` (days since 1970-01-01,
    read-only; consecutive chunks of a timeline usually ask for the same days)."""
    year, month, day = _civil_from_days(np.arange(first_day, last_day + 1, dtype=np.int64))
    out = np.empty((len(year), 10), dtype=np.uint8)
    _put_digits(out, 0, year, 4)
    out[:, 4] = ord("-")
    _put_digits(out, 5, month, 2)
    out[:, 7] = ord("-")
    _put_digits(out, 8, day, 2)
    out.flags.writeable = False
    return out


@cache
def _time_of_day_texts() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day (86,400 rows, read-only)."""
    hour, rest = np.divmod(np.arange(SECONDS_PER_DAY, dtype=np.int64), 3600)
    minute, second = np.divmod(rest, 60)
    out = np.empty((SECONDS_PER_DAY, 8), dtype=np.uint8)
    _put_digits(out, 0, hour, 2)
    out[:, 2] = ord(":")
    _put_digits(out, 3, minute, 2)
    out[:, 5] = ord(":")
    _put_digits(out, 6, second, 2)
    out.flags.writeable = False
    return out


@cache
def _three_digit_texts() -> np.ndarray:
    """``000`` to ``999`` (1,000 rows, read-only)."""
    out = np.empty((1000, 3), dtype=np.uint8)
    _put_digits(out, 0, np.arange(1000, dtype=np.int64), 3)
    out.flags.writeable = False
    return out


def _put_digits(out: np.ndarray, column: int, values: np.ndarray, width: int) -> None:
    """Write non-negative ``values`` as ``width`` zero-filled decimal digits from ``column``."""
    remaining = values
    for position in range(column + width - 1, column - 1, -1):
        remaining, digit = np.divmod(remaining, 10)
        out[:, position] = digit.astype(np.uint8) + ord("0")


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01.

    H. Hinnant's civil_from_days, written with floor division so that it also holds before 1970.
    """
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153  # March = 0
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = np.where(month_index < 10, month_index + 3, month_index - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day
