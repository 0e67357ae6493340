"""Unit tests of the pages and their components, without a browser.

The helpers here build an app on the small hand-written files source of ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dash_ag_grid as dag
from dash.development.base_component import Component

from metrics_dashboard.settings import Settings, load_settings
from tests.conftest import TINY_BACKUPS, TINY_METRICS, TINY_SERVICES, TINY_TARGETS


def write_tiny_source(directory: Path) -> Path:
    """The tiny files source (three services, three backup targets) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {
        "services.csv": TINY_SERVICES,
        "metrics.csv": TINY_METRICS,
        "backup_targets.csv": TINY_TARGETS,
        "backups.csv": TINY_BACKUPS,
    }.items():
        (directory / name).write_text(text)
    return directory


def tiny_settings(base: Path, **overrides: Any) -> Settings:
    """Settings on the tiny source with their own output and cache directories."""
    values: dict[str, Any] = {
        "data_source": str(write_tiny_source(base / "source")),
        "output_dir": base / "output",
        "cache_dir": base / "cache",
        "secret_key": "test",
    }
    values.update(overrides)
    return load_settings(values, environ={}, env_file=None)


def walk(component: Any) -> Iterator[Any]:
    """Every component and string in a layout tree, depth first (a grid's cell texts too)."""
    yield component
    if isinstance(component, dag.AgGrid):
        for row in component.rowData or []:
            yield from (value for value in row.values() if isinstance(value, str))
    children = getattr(component, "children", None) if isinstance(component, Component) else None
    if isinstance(component, (list, tuple)):
        children = component
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        yield from walk(child)


def find(layout: Any, component_id: str) -> Any:
    """The component with ``component_id`` in ``layout`` (AssertionError when absent)."""
    for component in walk(layout):
        if isinstance(component, Component) and getattr(component, "id", None) == component_id:
            return component
    raise AssertionError(f"no component with id {component_id!r}")


def text_of(layout: Any) -> str:
    """All the strings of a layout, joined by spaces (what a user would read, roughly)."""
    return " ".join(str(item) for item in walk(layout) if isinstance(item, (str, int, float)))
