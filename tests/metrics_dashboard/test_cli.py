"""The command line in real processes: exit statuses, messages, reports and CSVs on disk."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 120):
    environment = {
        **os.environ,
        "CACHE_DIR": str(tmp_path / "cache"),
        "OUTPUT_DIR": str(tmp_path / "output"),
        **(env or {}),
    }
    environment.pop("MONGODB_CONNECTION_STRING", None)
    return subprocess.run(
        [sys.executable, "-m", "metrics_dashboard.cli", "--env-file", "/nonexistent", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_analyze_availability_writes_the_report_and_csvs(
    tiny_source_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    result = cli(
        "analyze",
        "availability",
        "--source",
        str(tiny_source_dir),
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-02T00:00:00Z",
        "--out",
        str(out),
        "--csv",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report_path = Path(result.stdout.strip().splitlines()[-1])
    assert report_path.parent == out and report_path.name.startswith(
        "cumulative_availability_analysis_"
    )
    report = json.loads(report_path.read_text())
    services = report["services"]
    assert services["web-1"]["final_score"] == pytest.approx(90.0)
    assert services["web-1"]["total_failures"] == 1  # the +01:00 row falls before the window
    assert services["db-1"]["final_score"] == pytest.approx((1 - (1 / 3) * 0.5) * 100)
    assert services["lonely"]["final_status"] == "NO_DATA"
    assert services["lonely"]["final_score"] is None
    assert report["summary"]["aggregated_score"] == pytest.approx((0.9 + 1 - 1 / 6) / 2 * 100)
    assert report["summary"]["services_by_status"] == {
        "GOOD": 2,
        "ATTENZIONE": 0,
        "CRITICAL": 0,
        "NO_DATA": 1,
    }
    stem = report_path.with_suffix("").name
    summary = (out / f"{stem}_summary.csv").read_text().splitlines()
    timeline = (out / f"{stem}_timeline.csv").read_text().splitlines()
    assert len(summary) == 1 + 3
    assert len(timeline) == 1 + 3 + 2  # web-1 has 3 points, db-1 2, lonely none
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [report_path.name, f"{stem}_summary.csv", f"{stem}_timeline.csv"]
    )


def test_analyze_resilience_from_a_config_file(tiny_source_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "resilience.json"
    config.write_text(
        json.dumps(
            {
                "analysis_type": "resilience",
                "start": "2026-01-01T00:00:00Z",
                "hours": 24,
                "weights": {"rpo": 0.6, "success": 0.4},
            }
        )
    )
    result = cli(
        "analyze",
        "resilience",
        "--source",
        str(tiny_source_dir),
        "--config",
        str(config),
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    targets = report["targets"]
    assert targets["vm-1"]["final_score"] == pytest.approx(50.0)
    assert targets["vm-1"]["final_status"] == "CRITICAL"
    assert targets["vm-1"]["actual_rpo_hours"] == pytest.approx(12.0)
    assert (targets["vm-1"]["total_backups"], targets["vm-1"]["successful_backups"]) == (2, 1)
    assert targets["ct-1"]["final_score"] == pytest.approx(40.0)
    assert targets["never"]["final_status"] == "SEVERE"
    assert targets["never"]["actual_rpo_hours"] is None
    assert report["summary"]["aggregated_score"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--start", "yesterday"], None, "start"),
        (["--hours", "5"], None, "--hours applies to resilience"),
        (
            [],
            {"analysis_type": "availability", "service_error_budgets": {"web-1": 0}},
            "service_error_budgets.web-1: 0 is out of range (allowed 1 to 50)",
        ),
        ([], {"analysis_type": "availability", "colour": "blue"}, "colour"),
        ([], {"analysis_type": "availability", "services": ["nope"]}, "nope"),
        ([], {"analysis_type": "resilience"}, "resilience analysis, not availability"),
        ([], "{not json", "config"),
    ],
)
def test_invalid_input_exits_2_with_one_line(
    tiny_source_dir: Path, tmp_path: Path, args, config, message
) -> None:
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(config if isinstance(config, str) else json.dumps(config))
        args = [*args, "--config", str(path)]
    out = tmp_path / "reports"
    result = cli(
        "analyze",
        "availability",
        "--source",
        str(tiny_source_dir),
        "--out",
        str(out),
        *args,
        tmp_path=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("metrics-dashboard:")]
    assert len(errors) == 1 and errors[0].startswith("metrics-dashboard: error:"), result.stderr
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert message in errors[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_missing_source_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = cli(
        "analyze", "availability", "--source", str(tmp_path / "missing"), tmp_path=tmp_path
    )
    assert result.returncode in (2, 3)
    assert "missing" in result.stderr and "Traceback" not in result.stderr


def test_unreachable_mongodb_exits_3_quickly(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # "Quickly" is the short server-selection timeout in the URI; cli()'s subprocess timeout is
    # only a bound on the wait (a wall-clock check would flake on a busy machine).
    result = cli(
        "analyze",
        "availability",
        "--source",
        f"mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=500",
        tmp_path=tmp_path,
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "output").exists() or not any((tmp_path / "output").iterdir())


def test_unwritable_output_dir_exits_4_and_leaves_nothing(
    tiny_source_dir: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the output directory should be")
    out = blocker / "reports"  # cannot be created, even by root
    result = cli(
        "analyze",
        "availability",
        "--source",
        str(tiny_source_dir),
        "--out",
        str(out),
        tmp_path=tmp_path,
    )
    assert result.returncode == 4, result.stderr
    assert str(out) in result.stderr
    assert "Traceback" not in result.stderr
    assert blocker.read_text() == "a file where the output directory should be"


def test_invalid_setting_exits_2(tmp_path: Path) -> None:
    result = cli("analyze", "availability", tmp_path=tmp_path, env={"DEFAULT_ERROR_BUDGET": "99"})
    assert result.returncode == 2
    assert "DEFAULT_ERROR_BUDGET=99 is out of range (allowed 1 to 50)" in result.stderr


def test_analyze_does_not_import_dash(tiny_source_dir: Path, tmp_path: Path) -> None:
    code = (
        "import sys\nfrom metrics_dashboard.cli import main\n"
        f"status = main(['--env-file', '/nonexistent', 'analyze', 'availability', '--source', {str(tiny_source_dir)!r},"
        f" '--out', {str(tmp_path / 'o')!r}])\n"
        "assert status == 0, status\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dash', 'plotly', 'flask'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CACHE_DIR": str(tmp_path / "cache")},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_demo_data_writes_a_files_source(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = cli("demo-data", "--out", str(out), "--day", "2026-01-31", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {
        "services.csv",
        "metrics.csv",
        "backup_targets.csv",
        "backups.csv",
    }
    again = cli(
        "analyze",
        "availability",
        "--source",
        str(out),
        "--out",
        str(tmp_path / "r"),
        tmp_path=tmp_path,
    )
    assert again.returncode == 0, again.stderr


def test_init_db_without_a_uri_explains_what_to_do(tmp_path: Path) -> None:
    result = cli("init-db", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "MONGODB_CONNECTION_STRING" in result.stderr


def test_add_user_hashes_the_password_read_from_stdin(tmp_path: Path) -> None:
    users = tmp_path / "users"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "metrics_dashboard.cli",
            "--env-file",
            "/nonexistent",
            "add-user",
            "alice",
            "--users-file",
            str(users),
        ],
        cwd=PROJECT_ROOT,
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr
    line = users.read_text().strip()
    assert line.startswith("alice:") and "s3cret" not in line
    assert oct(users.stat().st_mode & 0o777) == "0o600"


def test_serve_refuses_a_missing_users_file_in_one_line(tmp_path: Path) -> None:
    result = cli(
        "serve",
        "--port",
        "1",
        tmp_path=tmp_path,
        env={"AUTH_MODE": "basic", "AUTH_USERS_FILE": str(tmp_path / "missing")},
    )
    assert result.returncode == 2
    assert "AUTH_USERS_FILE" in result.stderr and "Traceback" not in result.stderr


def test_resilience_defaults_come_from_the_defaults_file(
    tiny_source_dir: Path, tmp_path: Path
) -> None:
    config_dir = tmp_path / "configs"
    shutil.copytree(PROJECT_ROOT / "configs", config_dir)
    defaults = json.loads((config_dir / "defaults.json").read_text())
    defaults["resilience"]["weights"] = {"rpo": 0.5, "success": 0.5}
    defaults["resilience"]["default_hours"] = 24
    (config_dir / "defaults.json").write_text(json.dumps(defaults))
    result = cli(
        "analyze",
        "resilience",
        "--source",
        str(tiny_source_dir),
        "--start",
        "2026-01-01T00:00:00Z",
        tmp_path=tmp_path,
        env={"CONFIG_DIR": str(config_dir)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(Path(result.stdout.strip().splitlines()[-1]).read_text())
    assert report["configuration"]["weights"] == {"rpo": 0.5, "success": 0.5}
    assert report["window"]["hours"] == 24
    # ct-1 at the last instant: compliance 0, success rate 1 (0.4 with the 0.6/0.4 default)
    assert report["targets"]["ct-1"]["final_score"] == pytest.approx(50.0)


def test_a_config_file_that_is_not_utf8_exits_2_with_one_line(
    tiny_source_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes('analysis_type: availability\nname: "caf\u00e9"\n'.encode("latin-1"))
    out = tmp_path / "reports"
    result = cli(
        "analyze",
        "availability",
        "--source",
        str(tiny_source_dir),
        "--config",
        str(config),
        "--out",
        str(out),
        tmp_path=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert (
        line == f"metrics-dashboard: error: {config}: configuration is not UTF-8 text (byte 38)"
    )  # 28 + len(name: "caf)
    assert not out.exists()


# The disk fills up while the third file (the timeline CSV) is being written.
FULL_AT_THE_TIMELINE = """
import errno, os, sys
from metrics_dashboard.cli import main

real_fsync = os.fsync

def full_at_the_timeline(descriptor):
    if "_timeline.csv" in os.readlink(f"/proc/self/fd/{descriptor}"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    real_fsync(descriptor)

os.fsync = full_at_the_timeline
sys.exit(main(sys.argv[1:]))
"""


def test_csv_exports_are_all_or_nothing(tiny_source_dir: Path, tmp_path: Path) -> None:
    """The report and the summary CSV written before the failing timeline CSV must go too,
    and no path is printed."""
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, "-c", FULL_AT_THE_TIMELINE, "--env-file", "/nonexistent", "analyze",
         "availability", "--source", str(tiny_source_dir), "--start", "2026-01-01T00:00:00Z",
         "--end", "2026-01-02T00:00:00Z", "--out", str(out), "--csv"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""  # no path: nothing was written
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"metrics-dashboard: error: not enough disk space to write in {out}")
    )
    assert sorted(path.name for path in out.iterdir()) == []  # no report, CSV or fragment


def test_data_problems_are_one_warning_line_each_before_the_report_path(
    tiny_source_dir: Path, tmp_path: Path
) -> None:
    with (tiny_source_dir / "metrics.csv").open("a") as metrics:
        metrics.write("web-1,2026-01-01T00:30:00Z,DOWNN\nghost,2026-01-01T00:30:00Z,down\n")
    result = cli(
        "analyze",
        "availability",
        "--source",
        str(tiny_source_dir),
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-02T00:00:00Z",
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    warnings = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("metrics-dashboard: warning:")
    ]
    assert warnings == [
        "metrics-dashboard: warning: metrics.csv: 1 row names services not in services.csv "
        "(ignored): ghost",
        "metrics-dashboard: warning: metrics.csv: 1 row has a status in neither "
        "availability.failure_statuses nor availability.success_statuses: 'DOWNN' (1); left out "
        "of the scores (UNKNOWN_STATUS_POLICY=unknown; add the words to configs/defaults.json "
        "if they are right)",
    ]
    report_path = Path(result.stdout.strip().splitlines()[-1])
    quality = json.loads(report_path.read_text())["data_quality"]
    assert quality["unknown_statuses"] == {"DOWNN": 1}
    assert quality["dropped_rows"] == {"metrics.csv: rows naming services not in services.csv": 1}
    assert quality["warnings"] == [
        line.removeprefix("metrics-dashboard: warning: ") for line in warnings
    ]


def test_the_error_policy_exits_2_naming_the_words(tiny_source_dir: Path, tmp_path: Path) -> None:
    with (tiny_source_dir / "metrics.csv").open("a") as metrics:
        metrics.write("web-1,2026-01-01T00:30:00Z,DOWNN\n")
    result = cli(
        "analyze",
        "availability",
        "--source",
        str(tiny_source_dir),
        "--start",
        "2026-01-01T00:00:00Z",
        "--end",
        "2026-01-02T00:00:00Z",
        tmp_path=tmp_path,
        env={"UNKNOWN_STATUS_POLICY": "error"},
    )
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("metrics-dashboard: error: metrics.csv: 1 row has a status in neither")
    assert "'DOWNN' (1)" in last and "the analysis stops" in last
    assert not (tmp_path / "output").exists() or not any((tmp_path / "output").iterdir())
