"""Timeline playback: the frames replayed in the browser, their compact payload, the controls.

The server computes, once per report, what every gauge, count and the aggregated score show at
each frame instant; the browser gets it in one ``dcc.Store`` and replays it with clientside
callbacks (assets/playback.js), so stepping the timeline never calls the server.

Frames: up to :data:`MAX_FRAMES` evenly spaced instants of the aggregated timeline, the last one
always included. An item (service or backup target) shows, at a frame, its latest point at or
before the frame instant; before its first point it shows :data:`PENDING` ("no data yet", grey),
never a healthy default; an item without any point in the window shows its final status
(NO_DATA) throughout. The last frame shows the report's final values exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components.gauges import NO_VALUE_TEXT, status_text_class
from components.status import STATUS_COLORS

MAX_FRAMES = 500
PENDING = "PENDING"
NO_DATA = "NO_DATA"
PENDING_TEXT = "no data yet"
PLAY_BASE_INTERVAL_MS = 250
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0)
PLAY_TEXT = "Play"
PAUSE_TEXT = "Pause"
CLIENTSIDE_NAMESPACE = "metricsPlayback"


@dataclass(frozen=True)
class ItemTimeline:
    """One item's points, in time order: ``timestamps`` datetime64[ns] (UTC), ``scores``
    fractions, ``statuses`` status names and, for availability, ``counts`` (cumulative
    failures)."""

    timestamps: np.ndarray
    scores: np.ndarray
    statuses: np.ndarray
    counts: np.ndarray | None = None


@dataclass(frozen=True)
class PlaybackFrames:
    """What is shown at each frame: ``instants`` (F,) datetime64[ns]; ``aggregated`` (F,)
    fractions (NaN: nothing to aggregate); ``scores`` (F, N) fractions (NaN: no data yet or no
    data); ``codes`` (F, N) indexes into ``status_order``; ``counts`` (F, N) or None."""

    instants: np.ndarray
    aggregated: np.ndarray
    scores: np.ndarray
    codes: np.ndarray
    counts: np.ndarray | None
    status_order: tuple[str, ...]


def frame_indices(point_count: int, *, limit: int = MAX_FRAMES) -> np.ndarray:
    """Up to ``limit`` evenly spaced indexes into ``point_count`` points, first and last
    included."""
    if point_count <= 0:
        return np.empty(0, dtype=np.int64)
    chosen = np.linspace(0, point_count - 1, num=min(point_count, limit))
    return np.unique(np.rint(chosen).astype(np.int64))


def build_frames(
    *,
    aggregated_times: np.ndarray,
    aggregated_scores: np.ndarray,
    items: Sequence[ItemTimeline],
    final_scores: np.ndarray,
    final_statuses: Sequence[str],
    final_counts: np.ndarray | None,
    final_aggregated: float,
    status_order: Sequence[str],
    weights: np.ndarray | None = None,
    max_frames: int = MAX_FRAMES,
) -> PlaybackFrames:
    """Compute the frames of a report (see the module docstring).

    ``final_*`` are the report's final figures (fractions), shown at the last frame. When the
    report has no aggregated timeline (the older tool's files), the frame instants are taken
    from the items' points and the aggregated score is recomputed per frame as the ``weights``
    weighted mean over items with data, counting 1.0 before an item's first point.
    """
    order = tuple(status_order)
    if PENDING not in order:
        raise ValueError(f"status_order must include {PENDING}")
    code_of = {name: code for code, name in enumerate(order)}
    aggregated_times = np.asarray(aggregated_times, dtype="datetime64[ns]")
    recompute_aggregate = len(aggregated_times) == 0
    if recompute_aggregate:
        aggregated_times = np.unique(
            np.concatenate(
                [np.asarray(item.timestamps, dtype="datetime64[ns]") for item in items]
                or [np.empty(0, dtype="datetime64[ns]")]
            )
        )
    chosen = frame_indices(len(aggregated_times), limit=max_frames)
    instants = aggregated_times[chosen]
    frame_count, item_count = len(instants), len(items)

    scores = np.full((frame_count, item_count), np.nan)
    codes = np.full((frame_count, item_count), code_of[PENDING], dtype=np.int16)
    counts = (
        np.zeros((frame_count, item_count), dtype=np.int64) if final_counts is not None else None
    )
    for column, item in enumerate(items):
        if len(item.timestamps) == 0:
            # No point in the whole window: NO_DATA at every frame, not "no data yet".
            codes[:, column] = code_of.get(final_statuses[column], code_of[PENDING])
            continue
        at = np.searchsorted(np.asarray(item.timestamps, dtype="datetime64[ns]"), instants, "right")
        at -= 1
        started = at >= 0
        scores[started, column] = np.asarray(item.scores, dtype=float)[at[started]]
        codes[started, column] = _status_codes(item.statuses, code_of)[at[started]]
        if counts is not None and item.counts is not None:
            counts[started, column] = np.asarray(item.counts)[at[started]]

    if recompute_aggregate:
        aggregated = _weighted_aggregate(scores, items, weights)
    else:
        aggregated = np.asarray(aggregated_scores, dtype=float)[chosen]
    if frame_count:
        # The last frame is the report's final state, exactly as its summary states it.
        scores[-1] = final_scores
        codes[-1] = _status_codes(np.asarray(final_statuses), code_of)
        if counts is not None:
            counts[-1] = final_counts
        aggregated = aggregated.copy()
        aggregated[-1] = final_aggregated
    return PlaybackFrames(instants, aggregated, scores, codes, counts, order)


def _status_codes(statuses: np.ndarray, code_of: dict[str, int]) -> np.ndarray:
    names, inverse = np.unique(np.asarray(statuses, dtype=str), return_inverse=True)
    unknown = [str(name) for name in names if name not in code_of]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r} in the report")
    lookup = np.array([code_of[name] for name in names], dtype=np.int16)
    return lookup[inverse.reshape(-1)]


def _weighted_aggregate(
    scores: np.ndarray, items: Sequence[ItemTimeline], weights: np.ndarray | None
) -> np.ndarray:
    has_data = np.array([len(item.timestamps) > 0 for item in items], dtype=bool)
    item_weights = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=float)
    item_weights = np.where(has_data, item_weights, 0.0)
    total = item_weights.sum()
    if total == 0:
        return np.full(scores.shape[0], np.nan)
    return np.where(np.isnan(scores), 1.0, scores) @ item_weights / total


def status_tally(frames: PlaybackFrames, buckets: Sequence[str]) -> np.ndarray:
    """(F, len(buckets)) counts of items per status at each frame. Items with no data yet
    count as ``NO_DATA`` when that is a bucket (gaps never read as healthy)."""
    tally = np.zeros((len(frames.instants), len(buckets)), dtype=np.int64)
    for column, bucket in enumerate(buckets):
        members = [frames.status_order.index(bucket)] if bucket in frames.status_order else []
        if bucket == NO_DATA:
            members.append(frames.status_order.index(PENDING))
        tally[:, column] = np.isin(frames.codes, members).sum(axis=1)
    return tally


def instant_labels(instants: np.ndarray) -> list[str]:
    """UTC labels of the frame instants; seconds only when some instant has them."""
    index = pd.DatetimeIndex(instants)
    pattern = "%Y-%m-%d %H:%M:%S UTC" if (index.second != 0).any() else "%Y-%m-%d %H:%M UTC"
    return list(index.strftime(pattern))


def percent_values(fractions: np.ndarray) -> list:
    """Fractions as percentages with one decimal, NaN as None: compact JSON, and the browser's
    ``toFixed(1)`` then writes exactly what :func:`components.gauges.percent_text` writes."""
    rounded = np.round(np.asarray(fractions, dtype=float) * 100, 1)
    values = rounded.astype(object)
    values[np.isnan(rounded)] = None
    return values.tolist()


def playback_payload(
    *,
    prefix: str,
    frames: PlaybackFrames,
    status_texts: dict[str, str],
    buckets: Sequence[str],
    figures: Sequence[str],
    ids: Sequence[str],
    names: Sequence[str],
    types: Sequence[str],
    facts: Sequence[str],
    final_statuses: Sequence[str],
    final_percents: Sequence[float | None],
    final_aggregated_percent: float | None,
) -> dict:
    """The JSON the browser replays (read by assets/playback.js).

    ``status_texts`` maps each status of ``frames.status_order`` to what the user reads,
    ``buckets`` are the statuses counted at each frame (count elements ``<prefix>-count-<S>``),
    ``figures`` the keys of the base figures the playback redraws ("gauge", "donut"); ``ids``,
    ``names``, ``types`` and ``facts`` (one line of fixed figures) describe the items, whose
    cards the browser builds from the page's template card.
    """
    aggregated = percent_values(frames.aggregated)
    scores = [percent_values(row) for row in frames.scores]
    if scores:
        # The final values are rounded from the report's percentages by Python's formatting,
        # exactly like the numbers the server writes, so that both always agree.
        aggregated[-1] = _one_decimal(final_aggregated_percent)
        scores[-1] = [_one_decimal(value) for value in final_percents]
    payload = {
        "prefix": prefix,
        "labels": instant_labels(frames.instants),
        "aggregated": aggregated,
        "scores": scores,
        "codes": frames.codes.tolist(),
        "statusNames": list(frames.status_order),
        "statusTexts": [status_texts[name] for name in frames.status_order],
        "statusClasses": [status_text_class(name) for name in frames.status_order],
        "colors": [STATUS_COLORS.get(name, STATUS_COLORS[NO_DATA]) for name in frames.status_order],
        "buckets": list(buckets),
        "tally": status_tally(frames, buckets).tolist(),
        "figures": list(figures),
        "ids": list(ids),
        "names": list(names),
        "types": list(types),
        "facts": list(facts),
        "finalStatuses": list(final_statuses),
        "noValue": NO_VALUE_TEXT,
        "baseInterval": PLAY_BASE_INTERVAL_MS,
        "playText": PLAY_TEXT,
        "pauseText": PAUSE_TEXT,
    }
    if frames.counts is not None:
        payload["counts"] = frames.counts.tolist()
    return payload


def _one_decimal(value_percent: float | None) -> float | None:
    if value_percent is None or np.isnan(value_percent):
        return None
    return float(f"{value_percent:.1f}")


def timeline_controls(*, prefix: str, labels: Sequence[str]) -> html.Div:
    """Slider over the frames (starting at the last one), Play/Pause, Reset, speed and the
    instant label; the play ticks come from a ``dcc.Interval`` that is disabled while paused."""
    last = max(len(labels) - 1, 0)
    # Empty marks at both ends (no marks at all would make the slider number every few steps);
    # the first and last instants are written under the slider instead.
    marks = {0: "", last: ""}
    return html.Div(
        [
            html.Div(
                [
                    dbc.ButtonGroup(
                        [
                            dbc.Button(
                                PLAY_TEXT,
                                id=f"{prefix}-play",
                                color="primary",
                                n_clicks=0,
                                disabled=not labels,
                            ),
                            dbc.Button(
                                "Reset",
                                id=f"{prefix}-reset",
                                color="secondary",
                                outline=True,
                                n_clicks=0,
                                disabled=not labels,
                            ),
                        ],
                        size="sm",
                    ),
                    html.Label("Speed", htmlFor=f"{prefix}-speed", className="ms-3 me-1 small"),
                    dbc.Select(
                        id=f"{prefix}-speed",
                        options=[
                            {"label": f"{speed:g}x", "value": f"{speed:g}"} for speed in SPEEDS
                        ],
                        value="1",
                        size="sm",
                        class_name="md-speed",
                    ),
                    html.Span(
                        [
                            html.Span("Shown: ", className="text-body-secondary"),
                            html.Span(
                                labels[-1] if labels else NO_VALUE_TEXT,
                                id=f"{prefix}-instant",
                                className="md-instant",
                            ),
                        ],
                        className="ms-auto",
                    ),
                ],
                className="d-flex flex-wrap align-items-center gap-1 mb-2",
            ),
            dcc.Slider(
                id=f"{prefix}-slider",
                min=0,
                max=last,
                step=1,
                value=last,
                marks=marks,
                updatemode="drag",
                allow_direct_input=False,
                disabled=not labels,
                className="md-slider",
            ),
            html.Div(
                [html.Span(labels[0] if labels else ""), html.Span(labels[-1] if labels else "")],
                className="d-flex justify-content-between small text-body-secondary",
            ),
            dcc.Interval(
                id=f"{prefix}-interval",
                interval=PLAY_BASE_INTERVAL_MS,
                disabled=True,
                n_intervals=0,
            ),
        ],
        className="md-timeline",
    )


def register_playback_callbacks(
    *, prefix: str, figures: Sequence[str], buckets: Sequence[str]
) -> None:
    """The two clientside callbacks of a dashboard's timeline (assets/playback.js):

    ``control`` turns Play/Pause, Reset, the ticks and the speed into a slider value and the
    interval's state; ``render`` shows the frame of the slider value: it updates the gauge cards
    in place and returns the instant label, the aggregated value, the small Plotly figures
    (graphs ``<prefix>-<figure>``, as in the payload) and the counts (``buckets``).
    """
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="control"),
        Output(f"{prefix}-slider", "value"),
        Output(f"{prefix}-interval", "disabled"),
        Output(f"{prefix}-interval", "interval"),
        Output(f"{prefix}-play", "children"),
        Input(f"{prefix}-play", "n_clicks"),
        Input(f"{prefix}-reset", "n_clicks"),
        Input(f"{prefix}-interval", "n_intervals"),
        Input(f"{prefix}-speed", "value"),
        State(f"{prefix}-slider", "value"),
        State(f"{prefix}-interval", "disabled"),
        State(f"{prefix}-playback", "data"),
        prevent_initial_call=True,
    )
    clientside_callback(
        ClientsideFunction(namespace=CLIENTSIDE_NAMESPACE, function_name="render"),
        Output(f"{prefix}-instant", "children"),
        Output(f"{prefix}-aggregated-value", "children"),
        *(Output(f"{prefix}-{figure}", "figure") for figure in figures),
        *(Output(f"{prefix}-count-{bucket}", "children") for bucket in buckets),
        Input(f"{prefix}-slider", "value"),
        Input(f"{prefix}-figures", "data"),
        State(f"{prefix}-playback", "data"),
    )
