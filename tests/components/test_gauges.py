"""CSS gauges and gauge cards: values, colours, status text, names as text."""

from __future__ import annotations

import math

import pytest
from dash import html

from components.gauges import (
    GAUGE_CLASS,
    LIVE_FACT_CLASS,
    NO_VALUE_TEXT,
    gauge,
    gauge_card,
    gauge_style,
    percent_text,
    status_text_class,
)
from components.status import STATUS_ICONS


@pytest.mark.parametrize(
    ("value", "text"),
    [(87.3, "87.3%"), (87.25, "87.2%"), (100, "100.0%"), (0, "0.0%"), (None, NO_VALUE_TEXT),
     (math.nan, NO_VALUE_TEXT)],
)  # fmt: skip
def test_percent_text_has_one_decimal(value, text):
    assert percent_text(value) == text


@pytest.mark.parametrize(
    ("value", "fraction"), [(50, "0.5000"), (100, "1.0000"), (120, "1.0000"), (-3, "0.0000"),
                            (None, "0.0000")]
)  # fmt: skip
def test_gauge_style_is_a_clamped_fraction(value, fraction):
    assert gauge_style(value_percent=value) == {"--md-gauge-value": fraction}


def test_gauge_is_one_element_with_its_number_and_colour():
    element = gauge(shape="semi", value_percent=72.25, color="#123456")
    assert isinstance(element, html.Span)
    assert element.children == "72.2%"
    assert element.className == f"{GAUGE_CLASS} md-gauge--semi"
    assert element.style == {"--md-gauge-value": "0.7225", "--md-gauge-color": "#123456"}


def test_a_gauge_without_colour_takes_it_from_its_card():
    assert "--md-gauge-color" not in gauge(shape="circle", value_percent=None, color=None).style


def test_status_text_class_carries_the_status_icon():
    assert status_text_class("GOOD").split() == ["md-status-text", "bi", STATUS_ICONS["GOOD"]]
    # A status from an uploaded file never becomes an arbitrary class.
    assert "x onerror" not in status_text_class("x onerror=alert(1)")


def test_gauge_card_shows_names_as_text_and_the_status_in_words():
    name = "<script>alert(1)</script>"
    card = gauge_card(
        shape="semi",
        title=name,
        subtitle="web_service",
        value_percent=41.0,
        status="CRITICAL",
        status_display="CRITICAL",
        color="#e8590c",
        facts="Budget 5 · Weight 3",
        live_fact=("Failures", "7"),
    )
    gauge_part, title, subtitle, status, live, facts = card.children
    assert gauge_part.children == "41.0%"
    assert title.children == name  # a plain string: React writes it as text
    assert title.title == name
    assert subtitle.children == "web_service"
    assert status.children == "CRITICAL"
    assert STATUS_ICONS["CRITICAL"] in status.className
    assert live.className == LIVE_FACT_CLASS
    assert (live.children, live.to_plotly_json()["props"]["data-label"]) == ("7", "Failures")
    assert facts.children == "Budget 5 · Weight 3"
    assert card.style == {"--md-gauge-color": "#e8590c"}
    assert card.type == "button"


def test_gauge_card_without_a_live_figure():
    card = gauge_card(
        shape="circle",
        title="t",
        subtitle="vm",
        value_percent=None,
        status="SEVERE",
        status_display="SEVERE",
        color="#c92a2a",
        facts="RPO target 24.0 h · Weight 1",
    )
    assert [part.className.split()[0] for part in card.children] == [
        GAUGE_CLASS,
        "md-card-title",
        "md-card-subtitle",
        "md-status-text",
        "md-card-facts",
    ]
    assert card.children[0].children == NO_VALUE_TEXT
