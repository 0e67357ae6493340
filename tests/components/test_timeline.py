"""The timeline controls and how the replayed frames look (the frames themselves are the
dashboard model's: tests/analytics/test_dashboard_model.py)."""

from __future__ import annotations

from dash import dcc, html

from analytics.dashboard_model import AVAILABILITY, NO_DATA, PENDING
from components.status import AVAILABILITY_COLORS
from components.timeline import playback_look, timeline_controls


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


def test_the_look_gives_each_status_its_text_colour_and_icon():
    order = AVAILABILITY.status_order
    look = playback_look(
        prefix="p",
        status_order=order,
        status_texts={status: status.lower() for status in order},
        colors=AVAILABILITY_COLORS,
        figures=("gauge",),
        facts=["x"],
    )
    assert look["statusTexts"][0] == PENDING.lower()
    # "No data yet" is drawn like NO_DATA; availability's CRITICAL is red.
    assert look["colors"][0] == AVAILABILITY_COLORS[NO_DATA]
    assert look["colors"][order.index("CRITICAL")] == "#c92a2a"
    assert all(name.startswith("md-status-text bi bi-") for name in look["statusClasses"])
    assert (look["figures"], look["facts"]) == (["gauge"], ["x"])
