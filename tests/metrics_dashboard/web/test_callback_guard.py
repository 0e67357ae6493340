"""Callback requests the renderer would never send: malformed bodies get 400, and values of the
wrong type get a no-op (204) instead of a 500, on the real app's every server callback."""

from __future__ import annotations

import json
import logging
from typing import Any

import dash
import pytest
from flask.testing import FlaskClient

from metrics_dashboard.web.app import create_app
from tests.pages import tiny_settings

CALLBACK_PATH = "/_dash-update-component"
ROUTER = ".._pages_content.children..._pages_store.data.."  # Dash's pages router callback
WRONG_VALUES = [{"unexpected": ["shape"]}, "text", 12345, [None, {"a": 1}], True]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dash.Dash:
    return create_app(tiny_settings(tmp_path_factory.mktemp("callback_guard")))


@pytest.fixture
def client(app: dash.Dash) -> FlaskClient:
    client = app.server.test_client()
    client.get("/")  # Dash collects the pages' callbacks at the first request
    return client


def server_callbacks(app: dash.Dash) -> list[tuple[str, dict[str, Any]]]:
    """The app's server-side callbacks with plain (not pattern-matching) ids, not background."""
    found = []
    for output, spec in app.callback_map.items():
        dependencies = [*spec.get("inputs", []), *spec.get("state", [])]
        if spec.get("background") or "callback" not in spec or not dependencies:
            continue
        if any(str(dependency["id"]).startswith("{") for dependency in dependencies):
            continue
        found.append((output, spec))
    return found


def outputs_of(output: str) -> list[dict[str, str]] | dict[str, str]:
    parts = output.strip(".").split("...")
    specs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]} for part in parts]
    return specs if output.startswith("..") else specs[0]


def body_with(output: str, spec: dict[str, Any], value: Any) -> dict[str, Any]:
    def filled(dependencies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": d["id"], "property": d["property"], "value": value} for d in dependencies]

    inputs = filled(spec.get("inputs", []))
    return {
        "output": output,
        "outputs": outputs_of(output),
        "inputs": inputs,
        "state": filled(spec.get("state", [])),
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
    }


def test_the_real_app_has_server_callbacks_to_try(app: dash.Dash, client: FlaskClient) -> None:
    assert len(server_callbacks(app)) >= 10


@pytest.mark.parametrize("value", WRONG_VALUES, ids=lambda value: type(value).__name__)
def test_wrong_typed_values_get_a_no_op_not_a_500(
    app: dash.Dash, client: FlaskClient, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    statuses = {}
    with caplog.at_level(logging.WARNING, logger="metrics_dashboard.web.callback_guard"):
        for output, spec in server_callbacks(app):
            response = client.post(CALLBACK_PATH, json=body_with(output, spec, value))
            statuses[output] = response.status_code
    failed = {output: status for output, status in statuses.items() if status >= 500}
    assert failed == {}
    assert set(statuses.values()) <= {200, 204}
    for record in caplog.records:  # whatever was refused is logged with its callback
        assert record.getMessage().startswith("callback failed; answered with no update: output=")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"output": 5}',
        b'{"output": "app-theme-toggle.title", "inputs": []}',  # a clientside callback
        b'{"output": "no-such.children", "outputs": {"id": "no-such", "property": "children"}, "inputs": []}',
        b'{"output": "ROUTER", "inputs": "go"}',
        b'{"output": "ROUTER", "inputs": [{"property": "data"}]}',
        b'{"output": "ROUTER", "inputs": [{"id": "x", "property": 3}]}',
        b'{"output": "ROUTER", "inputs": [], "state": {"id": "x"}}',
        b'{"output": "ROUTER", "inputs": [], "changedPropIds": "x"}',
        b'{"output": "ROUTER", "inputs": [], "outputs": 7}',
    ],
)
def test_malformed_callback_requests_get_400(client: FlaskClient, body: bytes) -> None:
    body = body.replace(b'"ROUTER"', json.dumps(ROUTER).encode())
    response = client.post(CALLBACK_PATH, data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_data(as_text=True).startswith("bad request: ")


def test_well_formed_requests_still_reach_their_callback(
    app: dash.Dash, client: FlaskClient
) -> None:
    """The pages router is the app's most basic callback: it must keep answering."""
    output, spec = ROUTER, app.callback_map[ROUTER]
    body = {
        "output": output,
        "outputs": outputs_of(output),
        "inputs": [
            {
                "id": d["id"],
                "property": d["property"],
                "value": "/" if d["property"] == "pathname" else "",
            }
            for d in spec["inputs"]
        ],
        "state": [{"id": d["id"], "property": d["property"]} for d in spec.get("state", [])],
        "changedPropIds": [],
    }
    response = client.post(CALLBACK_PATH, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
