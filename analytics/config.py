"""Analysis configuration: the defaults in ``configs/``, the two analysis configs, and resolution.

A configuration says *what* to analyse (window, selection, per-id overrides); the defaults say
what applies when it is silent (budgets and RPO per type, thresholds, status sets). Resolving
the two against the data's services or backup targets gives the per-id parameter table that
the scoring engines take.

Every validation problem becomes a :class:`ConfigError` whose one-line message names the field,
the offending value and what is allowed, because these messages are shown to operators as is
(command line, web forms).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from analytics.utc import as_utc

MAX_CONFIG_BYTES = 1 << 20  # a configuration is a few kilobytes; refuse to parse megabytes
_WEIGHT_SUM_TOLERANCE = 1e-9


class ConfigError(ValueError):
    """An invalid configuration or defaults file; the message says what and how to fix it."""


# --- reusable field types ----------------------------------------------------------------


# The instants the data frames can hold (datetime64[ns]); anything else cannot be analysed.
EARLIEST = datetime(1677, 9, 22, tzinfo=UTC)
LATEST = datetime(2262, 4, 11, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    """Naive datetimes mean UTC (:func:`analytics.utc.as_utc`); aware ones are converted."""
    try:
        utc = as_utc(value)
        # Compared as Timestamps: one in year 0 has no datetime to compare with.
        in_range = pd.Timestamp(EARLIEST) <= utc <= pd.Timestamp(LATEST)
    except (OverflowError, ValueError):  # beyond even pandas' non-nanosecond range
        in_range = False
    if not in_range:
        raise PydanticCustomError(
            "instant_out_of_range",
            "{value} is out of range (allowed {low} to {high})",
            {"value": _show(value), "low": "1677-09-22", "high": "2262-04-11"},
        )
    return utc.to_pydatetime()


UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]


def _numbers_only(value: Any) -> Any:
    # Lax pydantic would read `true` as 1 and "24" as 24: in a config file both are mistakes.
    if isinstance(value, bool | str):
        raise PydanticCustomError(
            "bool_not_number", "{value} is not a number", {"value": _show(value)}
        )
    return value


def _in_range(low: float, high: float, tolerance: float = 0.0) -> AfterValidator:
    def check(value: float) -> float:
        if not low - tolerance <= value <= high + tolerance:  # also catches NaN
            raise PydanticCustomError(
                "out_of_range",
                "{value} is out of range (allowed {low} to {high})",
                {"value": _show(value), "low": _show(low), "high": _show(high)},
            )
        return value

    return AfterValidator(check)


def bounded_int(low: int, high: int) -> Any:
    """An int type accepting ``low..high`` inclusive (booleans and strings refused)."""
    return Annotated[int, BeforeValidator(_numbers_only), _in_range(low, high)]


def bounded_float(low: float, high: float, *, tolerance: float = 0.0) -> Any:
    """A float type accepting ``low..high`` inclusive, give or take ``tolerance`` (booleans,
    strings and NaN refused)."""
    return Annotated[float, BeforeValidator(_numbers_only), _in_range(low, high, tolerance)]


ErrorBudget = bounded_int(1, 50)
ServiceWeight = bounded_int(1, 10)
TargetWeight = bounded_int(1, 10)
RpoHours = bounded_float(1, 168)
WindowHours = bounded_int(1, 8760)
Fraction = bounded_float(0, 1)


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- defaults (configs/defaults.json) ----------------------------------------------------


class AvailabilityThresholdsModel(StrictModel):
    """Score boundaries: CRITICAL below ``critical_below``, GOOD above ``good_above``."""

    critical_below: Fraction
    good_above: Fraction

    @model_validator(mode="after")
    def _ordered(self) -> AvailabilityThresholdsModel:
        if not self.critical_below <= self.good_above:
            raise PydanticCustomError(
                "thresholds_order",
                "critical_below {low} must not exceed good_above {high}",
                {"low": _show(self.critical_below), "high": _show(self.good_above)},
            )
        return self


class ResilienceThresholdsModel(StrictModel):
    """Score boundaries of the five resilience levels, from the top down."""

    excellent_above: Fraction
    good_from: Fraction
    acceptable_from: Fraction
    critical_from: Fraction

    @model_validator(mode="after")
    def _ordered(self) -> ResilienceThresholdsModel:
        levels = [self.excellent_above, self.good_from, self.acceptable_from, self.critical_from]
        if levels != sorted(levels, reverse=True):
            raise PydanticCustomError(
                "thresholds_order",
                "must decrease: excellent_above >= good_from >= acceptable_from >= critical_from",
            )
        return self


class ResilienceWeights(StrictModel):
    """Weights of RPO compliance and success rate in the resilience score; they sum to 1."""

    rpo: Fraction
    success: Fraction

    @model_validator(mode="after")
    def _sum_to_one(self) -> ResilienceWeights:
        total = self.rpo + self.success
        if abs(total - 1.0) > _WEIGHT_SUM_TOLERANCE:
            raise PydanticCustomError(
                "weights_sum",
                "rpo {rpo} + success {success} = {total}, must sum to 1",
                {"rpo": _show(self.rpo), "success": _show(self.success), "total": _show(total)},
            )
        return self


DEFAULT_RESILIENCE_WEIGHTS = ResilienceWeights(rpo=0.6, success=0.4)
DEFAULT_RESILIENCE_HOURS = 168


# Status words of files written before the success words of checks and the failure words of
# backups were configured; any other word is unknown (see UNKNOWN_STATUS_POLICY).
DEFAULT_CHECK_SUCCESS_STATUSES = ("up", "ok", "degraded", "warning")
DEFAULT_BACKUP_FAILURE_STATUSES = ("failed", "error", "aborted", "cancelled", "timeout")


def _distinct_outcomes(defaults: Any) -> Any:
    """A status word must mean one outcome: refuse one listed as both failure and success."""
    both = sorted(
        {word.strip().lower() for word in defaults.failure_statuses}
        & {word.strip().lower() for word in defaults.success_statuses}
    )
    if both:
        raise PydanticCustomError(
            "status_in_both_sets",
            "{words} listed in both failure_statuses and success_statuses",
            {"words": _quoted(both)},
        )
    return defaults


class AvailabilityDefaults(StrictModel):
    error_budget_by_service_type: dict[str, ErrorBudget]
    default_weight: ServiceWeight
    status_thresholds: AvailabilityThresholdsModel
    failure_statuses: list[str] = Field(min_length=1)
    success_statuses: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CHECK_SUCCESS_STATUSES), min_length=1
    )

    _outcomes = model_validator(mode="after")(_distinct_outcomes)


class ResilienceDefaults(StrictModel):
    target_rpo_hours_by_target_type: dict[str, RpoHours]
    default_target_rpo_hours: RpoHours
    default_target_weight: TargetWeight
    default_hours: WindowHours
    weights: ResilienceWeights
    status_thresholds: ResilienceThresholdsModel
    success_statuses: list[str] = Field(min_length=1)
    failure_statuses: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BACKUP_FAILURE_STATUSES), min_length=1
    )

    _outcomes = model_validator(mode="after")(_distinct_outcomes)


class ReportDefaults(StrictModel):
    timeline_point_limit: bounded_int(1, 1_000_000)


class AnalysisDefaults(StrictModel):
    """Mirror of ``configs/defaults.json``.

    The error budget of a service type missing from ``error_budget_by_service_type`` is not
    here: it is the ``DEFAULT_ERROR_BUDGET`` setting, passed to :func:`resolve_availability`.
    """

    availability: AvailabilityDefaults
    resilience: ResilienceDefaults
    reports: ReportDefaults


# --- analysis configurations -------------------------------------------------------------


def _no_duplicates(ids: list[str] | None) -> list[str] | None:
    if ids is not None:
        repeated = sorted(item for item, count in Counter(ids).items() if count > 1)
        if repeated:
            raise PydanticCustomError(
                "duplicate_ids", "{ids} listed more than once", {"ids": _quoted(repeated)}
            )
        if not ids:
            raise PydanticCustomError(
                "empty_selection", "empty list; leave the key out to select everything"
            )
    return ids


Selection = Annotated[list[str] | None, AfterValidator(_no_duplicates)]


class AvailabilityConfig(StrictModel):
    """What an availability analysis covers: window ``[start, end)`` (UTC) and per-service
    overrides. No window means the last full UTC day that has data."""

    analysis_type: Literal["availability"]
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    services: Selection = None
    service_error_budgets: dict[str, ErrorBudget] = Field(default_factory=dict)
    service_weights: dict[str, ServiceWeight] = Field(default_factory=dict)
    name: str | None = None

    @model_validator(mode="after")
    def _window(self) -> AvailabilityConfig:
        if (self.start is None) != (self.end is None):
            raise PydanticCustomError(
                "half_window", "give both start and end, or neither (for the last full day)"
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise PydanticCustomError(
                "empty_window",
                "end {end} must be after start {start}",
                {"end": _show(self.end), "start": _show(self.start)},
            )
        return self


class ResilienceConfig(StrictModel):
    """What a resilience analysis covers: ``hours`` hourly instants after ``start`` (UTC) and
    per-target overrides. No start means the hours ending at the last full hour with data."""

    analysis_type: Literal["resilience"]
    start: UtcDatetime | None = None
    hours: WindowHours = DEFAULT_RESILIENCE_HOURS
    targets: Selection = None
    target_rpo_hours: dict[str, RpoHours] = Field(default_factory=dict)
    target_weights: dict[str, TargetWeight] = Field(default_factory=dict)
    weights: ResilienceWeights = DEFAULT_RESILIENCE_WEIGHTS
    name: str | None = None


AnalysisConfig = AvailabilityConfig | ResilienceConfig
_Config = TypeVar("_Config", AvailabilityConfig, ResilienceConfig)
_Model = TypeVar("_Model", bound=BaseModel)
_CONFIG_MODELS: dict[str, type[AvailabilityConfig] | type[ResilienceConfig]] = {
    "availability": AvailabilityConfig,
    "resilience": ResilienceConfig,
}


# --- parsing -----------------------------------------------------------------------------


def parse_config(data: bytes | str | Mapping[str, Any]) -> AnalysisConfig:
    """Validate a configuration given as JSON or YAML text, or as an already parsed mapping.

    Raises :class:`ConfigError` with one line per problem, joined by ``"; "``.
    """
    document = data if isinstance(data, Mapping) else parse_document(data, what="configuration")
    kind = document.get("analysis_type")
    if kind is None:
        raise ConfigError('missing key "analysis_type" (allowed: "availability", "resilience")')
    model = _CONFIG_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ConfigError(
            f'analysis_type: {_show(kind)} is not allowed (allowed: "availability", "resilience")'
        )
    return validate_model(model, document)


def parse_defaults(data: bytes | str | Mapping[str, Any]) -> AnalysisDefaults:
    """Validate the content of ``configs/defaults.json`` (JSON text or a parsed mapping)."""
    document = data if isinstance(data, Mapping) else parse_document(data, what="defaults")
    return validate_model(AnalysisDefaults, document)


def override_config(config: _Config, overrides: Mapping[str, Any]) -> _Config:
    """A copy of ``config`` with some fields replaced, validated again (e.g. command-line flags).

    ``None`` values in ``overrides`` are ignored, so optional flags can be passed through.
    """
    merged = config.model_dump(exclude_unset=True)
    merged.update({key: value for key, value in overrides.items() if value is not None})
    return validate_model(type(config), merged)


def parse_document(data: bytes | str, *, what: str) -> Mapping[str, Any]:
    """JSON (or, failing that, YAML) text parsed into a mapping; ConfigError otherwise."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{what} is too large ({len(data)} bytes; at most {MAX_CONFIG_BYTES})")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{what} is not UTF-8 text (byte {error.start})") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as json_error:
        document = _parse_yaml(data, what=what, json_error=json_error)
    if not isinstance(document, Mapping):
        raise ConfigError(
            f"{what} must be a JSON or YAML object (key: value pairs), got {_type_name(document)}"
        )
    return document


def _parse_yaml(text: str, *, what: str, json_error: orjson.JSONDecodeError) -> Any:
    import yaml  # only needed for YAML files, which are rarer than JSON

    if text.lstrip().startswith(("{", "[")):
        # Looks like JSON: the JSON parser's message (line and column) is the useful one.
        raise ConfigError(f"{what} is not valid JSON: {json_error}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        position = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise ConfigError(f"{what} is neither valid JSON nor YAML: {problem}{position}") from None


def validate_model(model: type[_Model], document: Mapping[str, Any]) -> _Model:
    """``model.model_validate(document)`` with errors turned into a one-line ConfigError."""
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, model)) from None


def describe_validation_error(
    error: ValidationError,
    model: type[BaseModel] | None = None,
    *,
    limit: int | None = None,
    pattern_names: Mapping[str, str] | None = None,
) -> str:
    """Pydantic's errors as short lines ``path: what is wrong (what is allowed)``, "; "-joined.

    ``model`` lets unknown-key errors list the allowed keys; with ``limit``, only that many
    errors are spelled out and the rest are counted; ``pattern_names`` describes regex patterns
    in words (e.g. "an ISO-8601 UTC timestamp").
    """
    details = error.errors()
    shown = details if limit is None else details[:limit]
    text = "; ".join(_describe(detail, model, pattern_names or {}) for detail in shown)
    hidden = len(details) - len(shown)
    return f"{text}; and {hidden} more" if hidden else text


def _describe(detail: Any, model: type[BaseModel] | None, pattern_names: Mapping[str, str]) -> str:
    loc = tuple(part for part in detail["loc"] if part != "[key]")
    path = _path(loc)
    kind = detail["type"]
    value = detail.get("input")
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1]) if model else None
        allowed = ", ".join(parent.model_fields) if parent else "none"
        where = _path(loc[:-1])
        message = f"unknown key {_show(str(loc[-1]))} (allowed: {allowed})"
        return f"{where}: {message}" if where else message
    if kind == "missing":
        where = _path(loc[:-1])
        message = f'missing key "{loc[-1]}"'
        return f"{where}: {message}" if where else message
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        message = f"{_show(value)} is not a whole number"
    elif kind in {"float_type", "float_parsing"}:
        message = f"{_show(value)} is not a number"
    elif kind in {"string_type"}:
        message = f"{_show(value)} is not a text string"
    elif kind in {"list_type"}:
        message = f"{_show(value)} is not a list"
    elif kind in {"dict_type", "model_type", "model_attributes_type", "typed_dict_type"}:
        message = f"{_show(value)} is not an object (key: value pairs)"
    elif kind.startswith(("datetime", "date")):
        message = f"{_show(value)} is not an ISO-8601 date-time (e.g. 2025-09-01T00:00:00Z)"
    elif kind == "literal_error":
        message = f"{_show(value)} is not allowed (allowed: {detail['ctx']['expected']})"
    elif kind == "too_short":
        message = "must not be empty"
    elif kind == "string_pattern_mismatch":
        pattern = detail["ctx"]["pattern"]
        message = f"{_show(value)} is not {pattern_names.get(pattern, 'in the expected format')}"
    elif kind in {"greater_than_equal", "greater_than"}:
        bound = next(iter(detail["ctx"].values()))
        message = f"{_show(value)} is out of range (at least {_show(bound)})"
    elif kind in {"less_than_equal", "less_than"}:
        bound = next(iter(detail["ctx"].values()))
        message = f"{_show(value)} is out of range (at most {_show(bound)})"
    elif kind == "finite_number":
        message = f"{_show(value)} is not a finite number"
    else:
        # Our own validators phrase the whole problem already; pydantic's prefix is noise.
        message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}" if path else message


def _path(loc: tuple[Any, ...]) -> str:
    """``a.b.0.c``; keys that are not plain words are quoted, so the message stays one line."""
    return ".".join(
        str(part) if isinstance(part, int) or _PLAIN_KEY.fullmatch(part) else _show(part)
        for part in loc
    )


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,80}")


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class reached by following the field names ``loc`` from ``model``."""
    current = model
    for part in loc:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        current = annotation
    return current


# --- resolution against the data ---------------------------------------------------------


def resolve_availability(
    config: AvailabilityConfig,
    services: pd.DataFrame,
    defaults: AnalysisDefaults,
    *,
    default_error_budget: int,
) -> pd.DataFrame:
    """Per-service engine parameters for the selected services, in ``services`` order.

    Returns a frame indexed by ``service_id`` with ``error_budget`` (override, else the budget
    of the service type, else ``default_error_budget``), ``weight`` (override, else the default
    weight), ``display_name`` and ``service_type``. Ids named in the config but absent from
    ``services`` are a ConfigError, so a typo never silently analyses something else.
    """
    if not 1 <= default_error_budget <= 50:
        raise ConfigError(
            f"DEFAULT_ERROR_BUDGET: {default_error_budget} is out of range (allowed 1 to 50)"
        )
    known = pd.Index(services["service_id"])
    _check_known(
        known,
        "service",
        services=config.services or [],
        service_error_budgets=config.service_error_budgets,
        service_weights=config.service_weights,
    )
    frame = services.set_index("service_id")[["display_name", "service_type"]]
    if config.services is not None:
        frame = frame[known.isin(config.services)]
    by_type = frame["service_type"].map(defaults.availability.error_budget_by_service_type)
    budget = frame.index.map(config.service_error_budgets).to_series(index=frame.index)
    weight = frame.index.map(config.service_weights).to_series(index=frame.index)
    return pd.DataFrame(
        {
            "error_budget": budget.fillna(by_type).fillna(default_error_budget).astype("int64"),
            "weight": weight.fillna(defaults.availability.default_weight).astype("int64"),
            "display_name": frame["display_name"],
            "service_type": frame["service_type"],
        },
        index=frame.index.rename("service_id"),
    )


def resolve_resilience(
    config: ResilienceConfig, targets: pd.DataFrame, defaults: AnalysisDefaults
) -> pd.DataFrame:
    """Per-target engine parameters for the selected targets, in ``targets`` order.

    Returns a frame indexed by ``target_id`` with ``target_rpo_hours`` (override, else by
    target type, else the default RPO), ``weight`` (override, else the default target weight),
    ``display_name`` and ``target_type``. Unknown ids in the config are a ConfigError.
    """
    known = pd.Index(targets["target_id"])
    _check_known(
        known,
        "backup target",
        targets=config.targets or [],
        target_rpo_hours=config.target_rpo_hours,
        target_weights=config.target_weights,
    )
    frame = targets.set_index("target_id")[["display_name", "target_type"]]
    if config.targets is not None:
        frame = frame[known.isin(config.targets)]
    resilience = defaults.resilience
    by_type = frame["target_type"].map(resilience.target_rpo_hours_by_target_type)
    rpo = frame.index.map(config.target_rpo_hours).to_series(index=frame.index)
    weight = frame.index.map(config.target_weights).to_series(index=frame.index)
    return pd.DataFrame(
        {
            "target_rpo_hours": rpo.fillna(by_type)
            .fillna(resilience.default_target_rpo_hours)
            .astype("float64"),
            "weight": weight.fillna(resilience.default_target_weight).astype("int64"),
            "display_name": frame["display_name"],
            "target_type": frame["target_type"],
        },
        index=frame.index.rename("target_id"),
    )


def _check_known(known: pd.Index, noun: str, **fields: Iterable[str]) -> None:
    problems = []
    for field, ids in fields.items():
        unknown = [item for item in ids if item not in known]
        if unknown:
            problems.append(f"{field}: unknown {noun} id {_quoted(unknown)} (not in the data)")
    if problems:
        raise ConfigError("; ".join(problems))


# --- default windows ---------------------------------------------------------------------


def default_availability_window(
    last_metric: pd.Timestamp | datetime,
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The last full UTC day that has data, as ``[start, end)``.

    Rule: a UTC day is *full* once the data reaches its end, i.e. once a metric exists at or
    after the next midnight. So the window ends at 00:00Z of the day of ``last_metric`` and
    starts 24 hours earlier: a last metric at 2026-11-28T10:00Z gives 2026-11-27; one at
    2026-11-28T00:00:00Z exactly also gives 2026-11-27 (that day is complete); one at
    2026-11-27T23:59:00Z gives 2026-11-26, because checks of the final minute may still come.
    """
    end = as_utc(last_metric).floor("D")
    return end - pd.Timedelta(days=1), end


def default_resilience_window(
    last_data: pd.Timestamp | datetime, hours: int = DEFAULT_RESILIENCE_HOURS
) -> pd.Timestamp:
    """Start of the ``hours`` hours ending at the last full hour that has data.

    The last evaluation instant is ``last_data`` floored to the hour (a backup exactly on the
    hour counts there); the window starts ``hours`` hours before it.
    """
    if not 1 <= hours <= 8760:
        raise ConfigError(f"hours: {hours} is out of range (allowed 1 to 8760)")
    return as_utc(last_data).floor("h") - pd.Timedelta(hours=hours)


# --- message helpers ---------------------------------------------------------------------


def _show(value: Any) -> str:
    """A value as an operator would write it: 0.7 + 0.4 shows as 1.1, strings quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float):
        # round() hides binary noise (0.7 + 0.4 = 1.0999999999999999) without hiding real errors
        if not math.isfinite(value):
            return repr(value)
        return str(int(value)) if value.is_integer() else repr(round(value, 12))
    if isinstance(value, str):
        # JSON quoting escapes quotes and control characters, so the message stays on one
        # line; lone surrogates (not encodable) are shown as escapes first.
        text = value[:80].encode("utf-8", "backslashreplace").decode("utf-8")
        return json.dumps(text, ensure_ascii=False) + ("..." if len(value) > 80 else "")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _quoted(ids: Iterable[str]) -> str:
    return ", ".join(_show(str(item)) for item in ids)


def _type_name(value: Any) -> str:
    names = {list: "a list", str: "a text string", int: "a number", float: "a number"}
    return names.get(type(value), "nothing" if value is None else type(value).__name__)
