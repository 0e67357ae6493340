"""The ``metrics-dashboard`` command line: serve the app, make demo data, prepare MongoDB, analyse.

Exit statuses: 0 done; 2 invalid configuration, settings or input; 3 data source unavailable;
4 the report could not be written. A user mistake prints one line on standard error, never a
traceback. ``analyze`` prints the JSON report's path as the last line of standard output.

The ``analyze`` path never imports Dash: only ``serve`` and ``worker`` load the web app.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

EXIT_OK = 0
EXIT_INVALID = 2
EXIT_UNAVAILABLE = 3
EXIT_OUTPUT = 4

log = logging.getLogger("metrics_dashboard.cli")


class CliError(Exception):
    """A failure to report in one line with a given exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metrics-dashboard",
        description="Availability and backup-resilience dashboards for operations teams.",
    )
    parser.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="settings file (default: ./.env)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web app (default http://127.0.0.1:5001)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1, env HOST)")
    serve.add_argument("--port", type=int, help="port (default 5001, env PORT)")
    serve.add_argument(
        "--debug",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Dash debug mode with hot reload (env FLASK_DEBUG)",
    )
    serve.add_argument("--source", help="data source: demo, a directory, or a mongodb:// URI")
    serve.add_argument("--output-dir", type=Path, help="where reports are kept (env OUTPUT_DIR)")
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="gunicorn web worker processes (default 1); --debug uses Flask's dev server instead",
    )

    worker = commands.add_parser(
        "worker", help="run a Celery worker for background analyses (needs REDIS_URL)"
    )
    worker.add_argument(
        "--concurrency",
        type=_positive_int,
        help="analyses run at once, one process each (default: the number of CPUs)",
    )

    add_user = commands.add_parser(
        "add-user", help="add a user (or change a password) in the basic-auth users file"
    )
    add_user.add_argument("user", help="user name")
    add_user.add_argument(
        "--users-file", type=Path, help="users file (default AUTH_USERS_FILE); created if missing"
    )

    demo = commands.add_parser("demo-data", help="write the demo data set to files or MongoDB")
    where = demo.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="directory to write the files source into")
    where.add_argument("--mongo", metavar="URI", help="MongoDB URI to load the demo data into")
    demo.add_argument("--database", help="MongoDB database (default MONGODB_DATABASE_NAME)")
    demo.add_argument("--format", choices=("csv", "parquet"), default="csv")
    demo.add_argument(
        "--day", type=date.fromisoformat, help="last UTC day of data, YYYY-MM-DD (default today)"
    )

    init_db = commands.add_parser("init-db", help="create the recommended MongoDB indexes")
    init_db.add_argument("--uri", help="MongoDB URI (default MONGODB_CONNECTION_STRING)")
    init_db.add_argument("--database", help="MongoDB database (default MONGODB_DATABASE_NAME)")

    analyze = commands.add_parser("analyze", help="run one analysis headless and write its report")
    analyze.add_argument("kind", choices=("availability", "resilience"))
    analyze.add_argument("--source", help="demo, a directory of CSV/Parquet files, or a URI")
    analyze.add_argument("--config", type=Path, help="configuration file (JSON or YAML)")
    analyze.add_argument("--start", help="window start, ISO-8601 (naive means UTC)")
    analyze.add_argument("--end", help="availability window end, ISO-8601 (exclusive)")
    analyze.add_argument("--hours", type=int, help="resilience window length in hours")
    analyze.add_argument("--out", type=Path, help="output directory (default OUTPUT_DIR)")
    analyze.add_argument("--csv", action="store_true", help="also write summary/timeline CSVs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": _serve,
        "worker": _worker,
        "add-user": _add_user,
        "demo-data": _demo_data,
        "init-db": _init_db,
        "analyze": _analyze,
    }
    try:
        return handlers[args.command](args)
    except CliError as error:
        print(f"metrics-dashboard: error: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("metrics-dashboard: interrupted", file=sys.stderr)
        return 130


def _settings(args: argparse.Namespace, **overrides: Any):
    from metrics_dashboard.logging_setup import configure_logging
    from metrics_dashboard.settings import SettingsError, load_settings

    try:
        settings = load_settings(overrides, env_file=args.env_file)
    except SettingsError as error:
        raise CliError(str(error), EXIT_INVALID) from None
    configure_logging(settings)
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(
        args,
        host=args.host,
        port=args.port,
        debug=args.debug,
        data_source=args.source,
        output_dir=args.output_dir,
    )
    _check_authentication(settings)
    log.info(
        "serving on http://%s:%d (data source: %s, %s)",
        settings.host,
        settings.port,
        settings.redacted()["data_source"],
        "Flask dev server, debug" if settings.debug else f"gunicorn, {args.workers} worker(s)",
    )
    if settings.debug:
        # Hot reload and the in-browser debugger need Flask's single-process dev server.
        if args.workers > 1:
            raise CliError("--workers needs production mode: drop --debug", EXIT_INVALID)
        from metrics_dashboard.web.app import create_app

        create_app(settings).run(host=settings.host, port=settings.port, debug=True)
        return EXIT_OK
    from metrics_dashboard.web.wsgi import WebServer

    WebServer(settings, workers=args.workers).run()
    return EXIT_OK


def _check_authentication(settings: Any) -> None:
    """Read the users file now: a problem with it is one line here, not a worker boot failure."""
    from metrics_dashboard.settings import SettingsError
    from metrics_dashboard.web.auth import AuthSettings, build_authenticator

    try:
        build_authenticator(AuthSettings.from_settings(settings))
    except SettingsError as error:
        raise CliError(str(error), EXIT_INVALID) from None


def _add_user(args: argparse.Namespace) -> int:
    from metrics_dashboard.settings import SettingsError
    from metrics_dashboard.web.auth import add_user, check_user_name, prompt_password

    settings = _settings(args)
    users_file = args.users_file or settings.auth_users_file
    if users_file is None:
        raise CliError("no users file: pass --users-file or set AUTH_USERS_FILE", EXIT_INVALID)
    try:
        check_user_name(args.user)
        created = add_user(users_file, args.user, prompt_password())
    except SettingsError as error:
        raise CliError(str(error), EXIT_INVALID) from None
    except OSError as error:
        raise CliError(
            f"cannot write {users_file}: {error.strerror or error}", EXIT_OUTPUT
        ) from None
    print(f"{'added' if created else 'changed the password of'} {args.user} in {users_file}")
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.redis_url:
        raise CliError(
            "REDIS_URL is not set: the Celery worker takes its jobs from Redis", EXIT_INVALID
        )
    from metrics_dashboard.web.worker import run_celery_worker

    log.info("Celery worker on %s", settings.redacted()["redis_url"])
    run_celery_worker(settings, concurrency=args.concurrency)
    return EXIT_OK


def _demo_data(args: argparse.Namespace) -> int:
    from data_access.base import DataSourceError
    from data_access.demo import generate_demo_frames, write_demo_files

    settings = _settings(args)
    day = args.day or datetime.now(UTC).date()
    progress = _TerminalProgress(sys.stderr)
    progress("generating demo data", 0.0)
    frames = generate_demo_frames(day)
    try:
        if args.out is not None:
            write_demo_files(args.out, frames, fmt=args.format, progress=progress)
            progress.done()
            print(args.out)
            return EXIT_OK
        from data_access.mongo_source import connect, load_frames_into_mongo, load_mapping

        database = args.database or settings.mongodb_database_name
        db = connect(args.mongo, database)
        load_frames_into_mongo(db, load_mapping(_mapping_path(settings)), frames, progress=progress)
    except DataSourceError as error:
        raise CliError(str(error), _status_for(error)) from None
    except OSError as error:
        raise CliError(f"cannot write the demo data: {error}", EXIT_OUTPUT) from None
    progress.done()
    print(f"loaded demo data into {settings.redacted()['mongodb_connection_string'] or 'MongoDB'}")
    return EXIT_OK


def _init_db(args: argparse.Namespace) -> int:
    from data_access.base import DataSourceError
    from data_access.mongo_source import connect, create_indexes, load_mapping

    settings = _settings(args)
    uri = args.uri or settings.mongodb_connection_string
    if not uri:
        raise CliError(
            "no MongoDB to initialise: pass --uri or set MONGODB_CONNECTION_STRING", EXIT_INVALID
        )
    try:
        db = connect(uri, args.database or settings.mongodb_database_name)
        created = create_indexes(db, load_mapping(_mapping_path(settings)))
    except DataSourceError as error:
        raise CliError(str(error), _status_for(error)) from None
    for name in created:
        print(name)
    return EXIT_OK


def _analyze(args: argparse.Namespace) -> int:
    from analytics.config import ConfigError, parse_config
    from analytics.report import ReportError
    from data_access.base import DataSourceError
    from data_access.report_store import ReportStoreError
    from metrics_dashboard.runner import analysis_defaults, data_source_for, run_analysis

    settings = _settings(args, data_source=args.source, output_dir=args.out)
    try:
        config = parse_config(_config_document(args, analysis_defaults(settings)))
    except ConfigError as error:
        raise CliError(f"invalid configuration: {error}", EXIT_INVALID) from None

    progress = _TerminalProgress(sys.stderr)
    try:
        outcome = run_analysis(
            config,
            settings=settings,
            source=data_source_for(settings),
            progress=progress,
            csv=args.csv,
        )
    except ConfigError as error:
        raise CliError(f"invalid configuration: {error}", EXIT_INVALID) from None
    except DataSourceError as error:
        raise CliError(str(error), _status_for(error)) from None
    except (ReportStoreError, ReportError) as error:
        raise CliError(str(error), EXIT_OUTPUT) from None
    progress.done()
    quality = outcome.data_quality
    for message in quality["warnings"]:
        print(f"metrics-dashboard: warning: {message}", file=sys.stderr)
    if quality["warnings_omitted"]:
        print(
            f"metrics-dashboard: warning: and {quality['warnings_omitted']} more (see the report's "
            "data_quality)",
            file=sys.stderr,
        )
    print(
        f"{outcome.kind}: aggregated score {_percent(outcome.aggregated_score)} over "
        f"{outcome.window_start.isoformat()} .. {outcome.window_end.isoformat()} "
        f"({outcome.rows_scored} rows in {outcome.seconds:.2f} s)",
        file=sys.stderr,
    )
    print(outcome.report_path)
    return EXIT_OK


def _config_document(args: argparse.Namespace, defaults: Any) -> dict[str, Any]:
    """The configuration file's content (or an empty one) with command-line flags on top, and
    the resilience window length and weights of ``configs/defaults.json`` where neither says."""
    from analytics.config import ConfigError, parse_config

    document: dict[str, Any] = {"analysis_type": args.kind}
    if args.config is not None:
        try:
            data = args.config.read_bytes()  # parse_config says so when it is not UTF-8
        except OSError as error:
            raise CliError(
                f"cannot read --config {args.config}: {error.strerror or error}", EXIT_INVALID
            ) from None
        try:
            document = parse_config(data).model_dump(mode="json", exclude_unset=True)
        except ConfigError as error:
            raise CliError(f"{args.config}: {error}", EXIT_INVALID) from None
        if document["analysis_type"] != args.kind:
            raise CliError(
                f"{args.config} configures a {document['analysis_type']} analysis, not {args.kind}",
                EXIT_INVALID,
            )
    flags = {"start": args.start, "end": args.end, "hours": args.hours}
    if args.kind == "resilience" and args.end is not None:
        raise CliError("--end applies to availability; use --start and --hours", EXIT_INVALID)
    if args.kind == "availability" and args.hours is not None:
        raise CliError("--hours applies to resilience; use --start and --end", EXIT_INVALID)
    document.update({key: value for key, value in flags.items() if value is not None})
    if args.kind == "resilience":
        document.setdefault("hours", defaults.resilience.default_hours)
        document.setdefault("weights", defaults.resilience.weights.model_dump())
    return document


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _status_for(error: Exception) -> int:
    from data_access.base import DataSourceUnavailable

    return EXIT_UNAVAILABLE if isinstance(error, DataSourceUnavailable) else EXIT_INVALID


def _mapping_path(settings: Any) -> Path:
    return settings.config_dir / "mongodb_mapping.json"


def _percent(score: float) -> str:
    return "n/a" if score != score else f"{score * 100:.1f}%"


class _TerminalProgress:
    """Progress on standard error: a live line on a terminal, one line per stage otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._last_stage: str | None = None

    def __call__(self, stage: str, fraction: float) -> None:
        if self._live:
            self._stream.write(f"\r{stage:<24} {fraction * 100:5.1f}%")
            self._stream.flush()
        elif stage != self._last_stage:
            self._stream.write(f"{stage}...\n")
        self._last_stage = stage

    def done(self) -> None:
        if self._live and self._last_stage is not None:
            self._stream.write("\n")
            self._stream.flush()


if __name__ == "__main__":
    sys.exit(main())
