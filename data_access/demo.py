"""The embedded demo data set: a deterministic, realistic month of health checks and backups.

It is what the app shows with no configuration at all, and what ``metrics-dashboard demo-data``
writes as a files source or loads into MongoDB. The same seed, ``end_day`` and ``now`` always give
the same frames, so tests and screenshots are reproducible.

Every pattern the dashboards must cope with is present on purpose, on a named service or target
(the constants below): healthy services, incident bursts, a flapping service, an outage of
several hours, maintenance gaps without data, a service silent for its last two days, an unknown
service type, backups every 12 h, daily and weekly with occasional failures, a target whose
backups stopped days ago, one that started failing, and one never backed up. Statuses sometimes
come in odd spellings (``" DOWN"``, ``"Ok"``) to exercise normalisation.

Rows are generated per service with numpy (no loop over rows): the month takes well under a
second.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analytics.utc import as_utc
from data_access.base import Progress
from data_access.frames import RawTables

DEMO_SEED = 20250904
DEMO_DAYS = 30

# (service_id, display_name, service_type); "message_queue" is deliberately not a known type.
DEMO_SERVICES: tuple[tuple[str, str, str], ...] = (
    ("nginx-frontend", "NGINX frontend", "web_service"),
    ("apache-intranet", "Apache intranet", "web_service"),
    ("haproxy-edge", "HAProxy edge balancer", "web_service"),
    ("customer-portal", "Customer portal", "web_service"),
    ("api-gateway", "API gateway", "web_service"),
    ("www-corporate", "Corporate website", "web_service"),
    ("postgres-main", "PostgreSQL main cluster", "database"),
    ("mysql-erp", "MySQL (ERP)", "database"),
    ("redis-cache", "Redis cache", "database"),
    ("mongodb-logs", "MongoDB log store", "database"),
    ("mssql-accounting", "SQL Server accounting", "database"),
    ("elasticsearch-search", "Elasticsearch search", "database"),
    ("erp-core", "ERP core", "application"),
    ("crm-app", "CRM", "application"),
    ("hr-portal", "HR portal", "application"),
    ("billing-service", "Billing service", "application"),
    ("inventory-api", "Inventory API", "application"),
    ("keycloak-sso", "Keycloak SSO", "application"),
    ("openldap", "OpenLDAP directory", "application"),
    ("veeam-backup-server", "Veeam backup server", "backup"),
    ("proxmox-backup-server", "Proxmox Backup Server", "backup"),
    ("acronis-cyber-protect", "Acronis Cyber Protect", "backup"),
    ("bacula-director", "Bacula director", "backup"),
    ("prometheus", "Prometheus", "monitoring"),
    ("grafana", "Grafana", "monitoring"),
    ("zabbix-server", "Zabbix server", "monitoring"),
    ("alertmanager", "Alertmanager", "monitoring"),
    ("uptime-kuma", "Uptime Kuma", "monitoring"),
    ("postfix-relay", "Postfix relay", "mail"),
    ("dovecot-imap", "Dovecot IMAP", "mail"),
    ("exchange-hybrid", "Exchange hybrid", "mail"),
    ("rspamd-filter", "Rspamd spam filter", "mail"),
    ("gitlab-ci", "GitLab CI", "ci_cd"),
    ("jenkins-master", "Jenkins controller", "ci_cd"),
    ("harbor-registry", "Harbor registry", "ci_cd"),
    ("argocd", "Argo CD", "ci_cd"),
    ("nextcloud", "Nextcloud", "file_sharing"),
    ("samba-fileserver", "Samba file server", "file_sharing"),
    ("sftp-gateway", "SFTP gateway", "file_sharing"),
    ("seafile", "Seafile", "file_sharing"),
    ("minio-storage", "MinIO object storage", "file_sharing"),
    ("rabbitmq-broker", "RabbitMQ broker", "message_queue"),
)

# (target_id, display_name, target_type, schedule in hours; 0 = never backed up)
DEMO_TARGETS: tuple[tuple[str, str, str, int], ...] = (
    ("vm-erp-01", "ERP application VM", "vm", 24),
    ("vm-crm-01", "CRM VM", "vm", 24),
    ("vm-web-01", "Web VM 1", "vm", 24),
    ("vm-web-02", "Web VM 2", "vm", 24),
    ("vm-mail-01", "Mail VM", "vm", 24),
    ("vm-gitlab-01", "GitLab VM", "vm", 12),
    ("vm-monitoring-01", "Monitoring VM", "vm", 24),
    ("vm-dc-01", "Domain controller VM", "vm", 12),
    ("vm-legacy-crm", "Legacy CRM VM", "vm", 24),
    ("ct-nextcloud", "Nextcloud container", "container", 12),
    ("ct-keycloak", "Keycloak container", "container", 12),
    ("ct-grafana", "Grafana container", "container", 24),
    ("ct-redis", "Redis container", "container", 12),
    ("ct-harbor", "Harbor container", "container", 24),
    ("ct-wiki", "Wiki container", "container", 168),
    ("ct-ci-runner", "CI runner container", "container", 12),
    ("srv-db-01", "Database server", "physical_server", 24),
    ("srv-file-01", "File server", "physical_server", 24),
    ("srv-backup-01", "Backup repository server", "physical_server", 168),
    ("srv-hyperv-01", "Hyper-V host", "physical_server", 168),
    ("srv-lab-01", "Lab server", "physical_server", 0),
    ("pve-node-01", "Proxmox node 1", "proxmox_node", 168),
    ("pve-node-02", "Proxmox node 2", "proxmox_node", 168),
    ("pve-node-03", "Proxmox node 3", "proxmox_node", 168),
    ("pve-node-04", "Proxmox node 4", "proxmox_node", 24),
    ("acronis-fileserver-daily", "Acronis: file server daily", "acronis_job", 24),
    ("acronis-exchange-daily", "Acronis: Exchange daily", "acronis_job", 24),
    ("acronis-sql-12h", "Acronis: SQL every 12 h", "acronis_job", 12),
    ("acronis-laptops-weekly", "Acronis: laptops weekly", "acronis_job", 168),
    ("acronis-erp-daily", "Acronis: ERP daily", "acronis_job", 24),
    ("acronis-hr-weekly", "Acronis: HR weekly", "acronis_job", 168),
)

# The deliberate patterns, by name (tests assert each one is visible in the data).
FLAPPING_SERVICE = "haproxy-edge"
OUTAGE_SERVICE = "mysql-erp"
OUTAGE_HOURS = 5
BURST_SERVICES = ("api-gateway", "crm-app", "gitlab-ci", "postfix-relay", "redis-cache")
MAINTENANCE_SERVICES = ("postgres-main", "exchange-hybrid", "nextcloud")
MAINTENANCE_HOURS = 3
SILENT_SERVICE = "jenkins-master"
UNKNOWN_TYPE_SERVICE = "rabbitmq-broker"
STOPPED_TARGET = "vm-legacy-crm"
STOPPED_DAYS_AGO = 6
FAILING_TARGET = "acronis-sql-12h"
FAILING_HOURS = 36
NEVER_BACKED_UP_TARGET = "srv-lab-01"

METRIC_STATUSES = ("up", "ok", "degraded", "down", "timeout", "error")
BACKUP_STATUSES = ("success", "completed", "warning", "failed", "error")
# The odd spellings real exports contain; same meaning as the canonical word at the same index.
_METRIC_SPELLINGS = ("UP", "Ok", "Degraded ", " DOWN", "Timeout", "ERROR ")
_BACKUP_SPELLINGS = ("SUCCESS", " Completed", "Warning", "Failed ", "ERROR")
# Odd spellings are rare, but frequent enough that failures get some too.
_METRIC_ODD_SPELLING_RATE = 0.02
_BACKUP_ODD_SPELLING_RATE = 0.05

_MINUTE = 60 * 10**9
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


def generate_demo_frames(
    end_day: date,
    *,
    seed: int = DEMO_SEED,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> RawTables:
    """The demo data set: ``DEMO_DAYS`` days of checks and backups ending at the end of
    ``end_day`` (UTC), cut at ``now`` (default: the current time) so nothing lies in the future.

    The cut only removes rows: the rows kept are the same whatever ``now`` is.
    """
    end = pd.Timestamp(end_day, tz="UTC") + pd.Timedelta(days=1)
    cut = as_utc(now or datetime.now(UTC))
    end_ns, cut_ns = int(end.value), min(int(cut.as_unit("ns").value), int(end.value) - 1)
    start_ns = end_ns - DEMO_DAYS * _DAY
    rng = np.random.default_rng(seed)

    services = _id_frame(DEMO_SERVICES, ("service_id", "display_name", "service_type"))
    service_rows = []
    for index, service_id in enumerate(services["service_id"]):
        timestamps, codes = _service_checks(service_id, rng, start_ns, end_ns)
        keep = timestamps <= cut_ns
        service_rows.append((index, timestamps[keep], codes[keep]))
        if progress:
            progress("generating demo health checks", (index + 1) / len(services))
    metrics = _events_frame(
        service_rows, services["service_id"], "service_id", METRIC_STATUSES + _METRIC_SPELLINGS
    )

    targets = _id_frame(
        tuple(row[:3] for row in DEMO_TARGETS), ("target_id", "display_name", "target_type")
    )
    schedule_by_target = {row[0]: row[3] for row in DEMO_TARGETS}
    target_rows = []
    for index, target_id in enumerate(targets["target_id"]):
        timestamps, codes = _target_runs(
            target_id, schedule_by_target[target_id], rng, start_ns, end_ns
        )
        keep = timestamps <= cut_ns
        target_rows.append((index, timestamps[keep], codes[keep]))
    backups = _events_frame(
        target_rows, targets["target_id"], "target_id", BACKUP_STATUSES + _BACKUP_SPELLINGS
    )
    if progress:
        progress("generating demo backups", 1.0)
    return RawTables(services=services, metrics=metrics, backup_targets=targets, backups=backups)


def _id_frame(rows: tuple[tuple[str, ...], ...], columns: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(columns))
    return frame.sort_values(columns[0], kind="stable").reset_index(drop=True)


def _service_checks(
    service_id: str, rng: np.random.Generator, start_ns: int, end_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """One service's check timestamps and status codes (indexes into METRIC_STATUSES)."""
    interval = int(rng.integers(1, 6)) * _MINUTE
    first = start_ns + int(rng.integers(0, 60)) * 10**9
    timestamps = np.arange(first, end_ns, interval, dtype=np.int64)
    checks_per_day = _DAY // interval
    # Most services fail a few times a month; a third are noisier (one to three a day).
    failures_per_day = rng.uniform(1.0, 3.0) if rng.random() < 0.3 else rng.uniform(0.0, 0.4)
    failed = rng.random(len(timestamps)) < failures_per_day / checks_per_day
    # The day before end_day: the last full day when end_day is today.
    last_day_start = end_ns - 2 * _DAY

    if service_id in BURST_SERVICES:
        for burst_start in rng.integers(0, len(timestamps) - 30, size=int(rng.integers(3, 7))):
            length = int(rng.integers(4, 20))
            failed[burst_start : burst_start + length] |= rng.random(length) < 0.85
    if service_id == FLAPPING_SERVICE:
        # Up/down on alternate checks for 75 minutes, on a dozen random days and on the day
        # before end_day.
        day_starts = np.arange(start_ns, end_ns, _DAY)
        flap_starts = np.append(
            rng.choice(day_starts, size=12, replace=False) + rng.integers(0, 20, 12) * _HOUR,
            last_day_start + 15 * _HOUR,
        )
        for flap_start in flap_starts:
            window = (timestamps >= flap_start) & (timestamps < flap_start + 75 * _MINUTE)
            failed[window] = np.arange(int(window.sum())) % 2 == 1
    if service_id == OUTAGE_SERVICE:
        outage_start = last_day_start + 9 * _HOUR
        failed[
            (timestamps >= outage_start) & (timestamps < outage_start + OUTAGE_HOURS * _HOUR)
        ] = True

    labels = np.where(rng.random(len(timestamps)) < 0.003, 2, 1 if rng.random() < 0.3 else 0)
    failure_labels = rng.choice([3, 4, 5], size=len(timestamps), p=[0.6, 0.25, 0.15])
    codes = np.where(failed, failure_labels, labels)
    codes = _odd_spellings(codes, rng, len(METRIC_STATUSES), _METRIC_ODD_SPELLING_RATE)

    keep = np.ones(len(timestamps), dtype=bool)
    if service_id in MAINTENANCE_SERVICES:
        # A weekly maintenance window at 01:00 with no checks at all.
        first_window = start_ns + int(rng.integers(0, 7)) * _DAY + _HOUR
        for window_start in range(first_window, end_ns, 7 * _DAY):
            keep &= (timestamps < window_start) | (
                timestamps >= window_start + MAINTENANCE_HOURS * _HOUR
            )
    if service_id == SILENT_SERVICE:
        keep &= timestamps < last_day_start
    return timestamps[keep], codes[keep]


def _target_runs(
    target_id: str, schedule_hours: int, rng: np.random.Generator, start_ns: int, end_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """One target's backup completion times and status codes (indexes into BACKUP_STATUSES)."""
    if schedule_hours == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    period = schedule_hours * _HOUR
    first_schedule = start_ns + int(rng.integers(0, schedule_hours)) * _HOUR
    scheduled = np.arange(first_schedule, end_ns, period, dtype=np.int64)
    timestamps = scheduled + rng.integers(5, 180, len(scheduled)) * _MINUTE
    outcome = rng.random(len(timestamps))
    success_label = 1 if target_id.startswith("acronis") else 0
    codes = np.select([outcome < 0.05, outcome < 0.09], [3 + (outcome < 0.02), 2], success_label)
    if target_id == FAILING_TARGET:
        codes[timestamps >= end_ns - FAILING_HOURS * _HOUR] = 3
    keep = timestamps < end_ns
    if target_id == STOPPED_TARGET:
        keep &= timestamps < end_ns - STOPPED_DAYS_AGO * _DAY
    codes = _odd_spellings(codes, rng, len(BACKUP_STATUSES), _BACKUP_ODD_SPELLING_RATE)
    return timestamps[keep], codes[keep]


def _odd_spellings(
    codes: np.ndarray, rng: np.random.Generator, vocabulary: int, rate: float
) -> np.ndarray:
    """Move a few rows to the odd spelling of their status (stored right after the vocabulary)."""
    return np.where(rng.random(len(codes)) < rate, codes + vocabulary, codes)


def _events_frame(
    rows: list[tuple[int, np.ndarray, np.ndarray]],
    ids: pd.Series,
    id_column: str,
    labels: tuple[str, ...],
) -> pd.DataFrame:
    id_codes = np.concatenate([np.full(len(ts), index, dtype=np.int32) for index, ts, _ in rows])
    timestamps = np.concatenate([ts for _, ts, _ in rows])
    status_codes = np.concatenate([codes for _, _, codes in rows]).astype(np.int8)
    return pd.DataFrame(
        {
            id_column: pd.Categorical.from_codes(id_codes, categories=pd.Index(ids)),
            "timestamp": pd.DatetimeIndex(timestamps.view("M8[ns]"), tz="UTC"),
            "status": pd.Categorical.from_codes(status_codes, categories=list(labels)),
        }
    )


def write_demo_files(
    directory: Path,
    frames: RawTables,
    fmt: Literal["csv", "parquet"] = "csv",
    progress: Progress | None = None,
) -> Path:
    """Write the four tables as a files source in ``directory``, atomically.

    Everything is written into a temporary sibling directory first. A new ``directory`` appears
    with one rename, complete; into an existing one each file is moved with an atomic replace,
    and the other format's file of the same table is removed (it would otherwise shadow or
    contradict the new one: Parquet wins when both exist).
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"demo data format must be 'csv' or 'parquet', got {fmt!r}")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} is a file; give a directory for the demo data")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    staging.chmod(0o755)  # mkdtemp makes it owner-only; the published directory is ordinary
    try:
        tables = {
            "services": frames.services,
            "metrics": frames.metrics,
            "backup_targets": frames.backup_targets,
            "backups": frames.backups,
        }
        total_rows = sum(len(frame) for frame in tables.values())
        written = 0
        for name, frame in tables.items():
            target = staging / f"{name}.{fmt}"
            if fmt == "csv":
                pa_csv.write_csv(_csv_table(frame), target)
            else:
                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target)
            written += len(frame)
            if progress:
                progress(f"writing {target.name}", written / total_rows)
        _publish(staging, directory, other_suffix=".parquet" if fmt == "csv" else ".csv")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def _publish(staging: Path, directory: Path, *, other_suffix: str) -> None:
    try:
        staging.rename(directory)
        return
    except OSError:
        if not directory.is_dir():
            raise
    for written in staging.iterdir():
        os.replace(written, directory / written.name)
        (directory / written.name).with_suffix(other_suffix).unlink(missing_ok=True)


def _csv_table(frame: pd.DataFrame) -> pa.Table:
    """The frame with timestamps as ISO-8601 UTC text (``2025-09-04T10:30:00Z``)."""
    columns = {}
    for name, values in frame.items():
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            as_seconds = values.to_numpy(dtype="datetime64[s]")
            columns[name] = pa.array(np.datetime_as_string(as_seconds, unit="s", timezone="UTC"))
        else:
            columns[name] = pa.array(values.astype(str).to_numpy())
    return pa.table(columns)
