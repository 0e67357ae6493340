"""Connecting to MongoDB with short timeouts, and running an operation with one retry; driver
errors become the data sources' errors, with messages that say what to check and never show
credentials."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import (
    ConnectionFailure,
    InvalidName,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from data_access.base import DataSourceError, DataSourceUnavailable

logger = logging.getLogger(__name__)

ATTEMPTS = 2
_T = TypeVar("_T")


def redacted(uri: str) -> str:
    """The scheme and hosts of a connection string, without credentials, path or options."""
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def connect(
    uri: str,
    database: str,
    *,
    server_selection_timeout_ms: int = 3000,
    socket_timeout_ms: int = 10_000,
) -> Database:
    """A database handle with short timeouts; nothing is contacted until the first query.

    A query that gets no answer within ``socketTimeoutMS`` fails (after the driver's one
    automatic retry of reads). Timeouts written in the connection string
    (``?socketTimeoutMS=...``) win over these defaults, so an operator whose aggregations
    legitimately take longer can say so there.
    """
    defaults = {
        "serverSelectionTimeoutMS": server_selection_timeout_ms,
        "connectTimeoutMS": server_selection_timeout_ms,
        "socketTimeoutMS": socket_timeout_ms,
    }
    in_uri = _uri_option_names(uri)
    options = {name: value for name, value in defaults.items() if name.lower() not in in_uri}
    try:
        client: MongoClient = MongoClient(
            uri, tz_aware=True, appname="metrics-dashboard", **options
        )
        return client[database]
    except (PyMongoError, InvalidName, ValueError, TypeError) as error:
        raise DataSourceError(
            f"cannot use MongoDB connection string {redacted(uri)} with database {database!r}: {error}"
        ) from error


def _uri_option_names(uri: str) -> set[str]:
    """The lower-cased names of the options in a connection string's query part."""
    query = uri.partition("?")[2]
    return {pair.partition("=")[0].strip().lower() for pair in query.split("&") if pair}


def with_retry(
    what: str, where: str, operation: Callable[[], _T], *, attempts: int = ATTEMPTS
) -> _T:
    """Run ``operation`` (which must consume its cursor), retrying once when the server does not
    answer; map driver errors to the source errors with a message that says what to check."""
    last_error: ConnectionFailure | None = None
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except ConnectionFailure as error:
            last_error = error
            if error.timeout and not isinstance(error, ServerSelectionTimeoutError):
                # The server took the query and did not answer in time: asking again would
                # double the wait for the same outcome.
                attempts = attempt
                break
            logger.warning(
                "MongoDB %s: %s failed (attempt %d of %d): %s",
                where,
                what,
                attempt,
                attempts,
                error,
            )
        except OperationFailure as error:
            message = (error.details or {}).get("errmsg") or str(error)
            raise DataSourceError(f"MongoDB {where} refused {what}: {message}") from error
        except PyMongoError as error:
            raise DataSourceError(f"MongoDB {where}: {what} failed: {error}") from error
    reason = str(last_error).split(" (configured timeouts")[0].split(", Timeout:")[0][:200]
    raise DataSourceUnavailable(
        f"MongoDB {where} did not answer while {what} ({attempts} attempt(s)): {reason}. Check that "
        "the server is running and reachable and that the connection string is right."
    ) from last_error
