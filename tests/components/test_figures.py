"""Plotly figures: theme templates, escaped names, values, heatmap layout, drill-downs."""

from __future__ import annotations

import numpy as np
import pytest

from components.figures import (
    HEATMAP_MAX_COLUMNS,
    aggregated_gauge_figure,
    availability_drilldown_figure,
    plotly_template,
    plotly_text,
    resilience_drilldown_figure,
    status_donut_figure,
    status_heatmap_figure,
    translucent,
)
from components.status import AVAILABILITY_COLORS, RESILIENCE_COLORS

BANDS = [(0, 50, "CRITICAL"), (50, 80, "ATTENZIONE"), (80, 100, "GOOD")]


def hours(count: int) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ns") + np.arange(count).astype("timedelta64[h]")


def template_name(figure) -> str:
    # Plotly resolves a template name into the template itself; compare a telling colour.
    return figure.layout.template.layout.paper_bgcolor


@pytest.mark.parametrize(("theme", "name"), [("dark", "plotly_dark"), ("light", "plotly_white"),
                                             (None, "plotly_white")])  # fmt: skip
def test_theme_picks_the_plotly_template(theme, name):
    assert plotly_template(theme) == name


def test_figures_follow_the_theme():
    dark = aggregated_gauge_figure(
        value_percent=50, bands=BANDS, colors=AVAILABILITY_COLORS, theme="dark"
    )
    light = aggregated_gauge_figure(
        value_percent=50, bands=BANDS, colors=AVAILABILITY_COLORS, theme="light"
    )
    assert template_name(dark) != template_name(light)
    assert dark.layout.paper_bgcolor == "rgba(0,0,0,0)"


def test_plotly_text_escapes_markup():
    assert plotly_text("<b>x</b> & <script>") == "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;"


def test_translucent_colour():
    assert translucent("#2f9e44", 0.5) == "rgba(47,158,68,0.5)"


def test_aggregated_gauge_draws_value_and_status_bands():
    figure = aggregated_gauge_figure(
        value_percent=87.3, bands=BANDS, colors=AVAILABILITY_COLORS, theme="light"
    )
    (indicator,) = figure.data
    assert indicator.value == 87.3
    assert indicator.mode == "gauge"
    assert [tuple(step.range) for step in indicator.gauge.steps] == [(0, 50), (50, 80), (80, 100)]
    assert indicator.gauge.steps[2].color == translucent(AVAILABILITY_COLORS["GOOD"], 0.45)


def test_donut_counts_each_level_in_order_with_its_colour():
    statuses = ("EXCELLENT", "GOOD", "ACCEPTABLE", "CRITICAL", "SEVERE")
    figure = status_donut_figure(statuses=statuses, counts=[1, 2, 0, 3, 4], texts=statuses,
                                 colors=RESILIENCE_COLORS, theme="dark")  # fmt: skip
    (pie,) = figure.data
    assert list(pie.values) == [1, 2, 0, 3, 4]
    assert list(pie.labels) == list(statuses)
    assert list(pie.marker.colors) == [RESILIENCE_COLORS[status] for status in statuses]
    assert pie.hole == 0.6


def test_heatmap_rows_are_the_items_with_escaped_names():
    codes = np.array([[0, 1, 1, 2], [3, 3, 2, 1]])
    figure = status_heatmap_figure(
        names=["svc <1>", "svc 2"],
        instants=hours(4),
        codes=codes,
        status_texts=["no data yet", "GOOD", "ATTENZIONE", "CRITICAL"],
        colors=["#888888", "#00aa00", "#ffaa00", "#ff0000"],
        theme="light",
    )
    (heatmap,) = figure.data
    assert np.asarray(heatmap.z).tolist() == codes.tolist()
    assert list(figure.layout.yaxis.ticktext) == ["svc &lt;1&gt;", "svc 2"]
    assert (heatmap.zmin, heatmap.zmax) == (-0.5, 3.5)
    assert np.asarray(heatmap.customdata)[1, 0] == "CRITICAL"
    assert list(heatmap.colorbar.ticktext) == ["no data yet", "GOOD", "ATTENZIONE", "CRITICAL"]
    # Stepped scale: code k is exactly colour k.
    assert heatmap.colorscale[2] == (0.25, "#00aa00") and heatmap.colorscale[3] == (0.5, "#00aa00")


def test_heatmap_keeps_at_most_its_column_limit_with_the_last_instant():
    codes = np.tile(np.arange(1000) % 2, (3, 1))
    codes[:, -1] = 2
    figure = status_heatmap_figure(
        names=["a", "b", "c"],
        instants=hours(1000),
        codes=codes,
        status_texts=["x", "y", "z"],
        colors=["#000000", "#111111", "#222222"],
        theme=None,
    )
    (heatmap,) = figure.data
    assert len(heatmap.x) == HEATMAP_MAX_COLUMNS
    assert np.asarray(heatmap.z)[:, -1].tolist() == [2, 2, 2]


def test_availability_drilldown_marks_every_failure_instant():
    figure = availability_drilldown_figure(
        name="<i>web</i>",
        timestamps=hours(5),
        scores=np.array([1.0, 0.9, 0.9, 0.7, 0.7]),
        cumulative_failures=np.array([0, 1, 1, 3, 3]),
        theme="dark",
    )
    score, failures, marks = figure.data
    assert list(score.y) == [100.0, 90.0, 90.0, 70.0, 70.0]
    assert list(failures.y) == [0, 1, 1, 3, 3]
    assert list(marks.x) == list(hours(5)[[1, 3]])
    assert figure.layout.title.text == "&lt;i&gt;web&lt;/i&gt;"
    assert figure.layout.yaxis2.dtick == 1  # whole failures only


def test_a_drilldown_without_points_says_so():
    figure = availability_drilldown_figure(
        name="idle",
        timestamps=hours(0),
        scores=np.array([]),
        cumulative_failures=np.array([]),
        theme=None,
    )
    assert not figure.data
    assert "no data in the window" in figure.layout.annotations[0].text


def test_resilience_drilldown_has_the_three_series_in_percent():
    figure = resilience_drilldown_figure(
        name="vm",
        timestamps=hours(2),
        scores=np.array([0.5, 0.75]),
        compliance=np.array([0.25, 1.0]),
        success_rate=np.array([1.0, 0.5]),
        theme="light",
    )
    assert [trace.name for trace in figure.data] == ["score", "RPO compliance", "success rate"]
    assert [list(trace.y) for trace in figure.data] == [[50, 75], [25, 100], [100, 50]]
