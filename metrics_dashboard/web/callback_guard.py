"""Callback requests that go wrong: a malformed body is refused, a callback that raises answers a
no-op, and a background analysis that cannot run or whose worker is lost says so on its page.

- :func:`install_callback_guard` checks the shape of every ``/_dash-update-component`` body
  before Dash reads it (Dash answers 500 when a field it indexes is missing or of another type):
  a body the renderer never sends gets 400.
- :func:`callback_error_handler` is the app's Dash ``on_error`` hook. A callback that raises
  (typically on values of a type the page never sends) is logged with its traceback and answered
  with no update (204) instead of a 500. When the callback is an analysis job's (it has an output
  ``<page>-job-result.children``, see ``components.config_forms``), the page gets the reason in
  that output instead: the job queue was unreachable at Start, or the job's process or worker
  went away (see :mod:`metrics_dashboard.web.jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import dash
from flask import Response, request

log = logging.getLogger(__name__)

# The output a configuration page's analysis job shows its outcome in.
JOB_RESULT_SUFFIX = "-job-result"
JOB_RESULT_PROPERTY = "children"


def install_callback_guard(app: dash.Dash) -> None:
    """Answer 400 to callback requests whose body does not have the renderer's shape.

    Install it after authentication: an unauthenticated body is never parsed.
    """
    callback_path = app.config.routes_pathname_prefix + "_dash-update-component"

    def check_callback_request() -> Response | None:
        if request.path != callback_path or request.method != "POST":
            return None
        problem = callback_body_problem(request.get_json(silent=True), app.callback_map)
        if problem is None:
            return None
        log.warning("malformed callback request refused: %s", problem)
        return Response(f"bad request: {problem}\n", status=400, mimetype="text/plain")

    app.server.before_request(check_callback_request)


def callback_body_problem(body: Any, callbacks: Mapping[str, Any]) -> str | None:
    """Why ``body`` is not a callback request of this app (None when it is well formed)."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str):
        return "'output' is not a string"
    if "callback" not in callbacks.get(output, {}):  # clientside callbacks have no function
        return "no such server callback"
    if "outputs" in body and not _is_dependency_list(body["outputs"], single_allowed=True):
        return "'outputs' is not a list of {id, property}"
    for field in ("inputs", "state"):
        present = field == "inputs" or field in body
        if present and not _is_dependency_list(body.get(field), single_allowed=False):
            return f"'{field}' is not a list of {{id, property}}"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(item, str) for item in changed):
        return "'changedPropIds' is not a list of strings"
    return None


def _is_dependency(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("id"), str | dict)
        and isinstance(item.get("property"), str)
    )


def _is_dependency_list(value: Any, *, single_allowed: bool) -> bool:
    """A list of dependencies, each one a dependency or (pattern matching) a list of them."""
    if single_allowed and _is_dependency(value):
        return True
    return isinstance(value, list) and all(
        _is_dependency(item)
        or (isinstance(item, list) and all(_is_dependency(inner) for inner in item))
        for item in value
    )


def callback_error_handler(error: Exception) -> Any:
    """Dash's ``on_error`` hook (see the module docstring): the callback's output values."""
    from metrics_dashboard.web.jobs import job_failure_message  # jobs imports Dash managers

    outputs = dash.callback_context.outputs_list
    flat = outputs if isinstance(outputs, list) else [outputs]
    job_result = next((output for output in flat if _is_job_result(output)), None)
    output_names = ", ".join(_output_name(output) for output in flat)
    if job_result is None:
        log.error(
            "callback failed; answered with no update: output=%s",
            output_names,
            exc_info=error,
        )
        return None
    message = job_failure_message(error)
    log.error("analysis job failed: output=%s reason=%s", output_names, message, exc_info=error)
    from components.config_forms import job_result as job_result_alert

    kind = str(job_result["id"]).split("-", 1)[0]
    alert = job_result_alert(succeeded=False, kind=kind, error=message)
    values = [alert if output is job_result else dash.no_update for output in flat]
    return values if isinstance(outputs, list) else values[0]


def _is_job_result(output: Any) -> bool:
    return (
        isinstance(output, dict)
        and isinstance(output.get("id"), str)
        and output["id"].endswith(JOB_RESULT_SUFFIX)
        and output.get("property") == JOB_RESULT_PROPERTY
    )


def _output_name(output: Any) -> str:
    if isinstance(output, dict):
        return f"{output.get('id')}.{output.get('property')}"
    return "?"
