"""Slots for web analyses: at most ``MAX_CONCURRENT_ANALYSES`` run at once in all and
``MAX_ANALYSES_PER_USER`` per user; further jobs wait in a first-come queue of at most
``MAX_QUEUED_ANALYSES``, and a job may claim an *exclusive key* (one run at a time per key).

Every job takes a ticket in one shared document before it runs (:meth:`JobSlots.enter`), waits
until a grant pass gives it a slot (:meth:`JobSlots.poll`, each waiting job polls) and gives the
ticket back when it ends (:meth:`JobSlots.leave`). The document lives where every web worker and
job process sees it: a diskcache (SQLite, one transaction per change) in ``CACHE_DIR/slots``, or
Redis (an optimistic WATCH/MULTI transaction) when ``REDIS_URL`` sets Celery workers to run the
jobs, possibly on other machines.

A job that dies never leaks its slot: each ticket has a lease that the job's heartbeat thread
renews every :data:`HEARTBEAT_S`; a ticket whose lease lapsed (:data:`LEASE_S`) is dropped by
the next change. A ticket owned by a process of this machine is dropped at once when that
process is gone (a cancelled diskcache job is killed with SIGKILL, no clean-up runs). The lease
also tells the web process that a Celery job's worker died (see :mod:`metrics_dashboard.web.jobs`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# A job's heartbeat renews its lease this often; a lease lapses after LEASE_S without renewal.
# The margin covers a busy machine where the heartbeat thread waits its turn for the GIL.
HEARTBEAT_S = 4.0
LEASE_S = 20.0
# After a job gives its ticket back its lease is kept this long: the job's result is written
# just after, and the web process must not take the job for lost meanwhile.
FINISHED_LEASE_S = 120.0
# A job was started when its "started" mark exists: kept a day, longer than any job.
STARTED_MARK_S = 86_400.0
# How often a waiting job polls the queue.
QUEUE_POLL_S = 0.5
# Redis calls give up after this long: a job queue that does not answer is an error, not a hang.
REDIS_TIMEOUT_S = 3.0
_DOCUMENT = "metrics-dashboard:job-slots"


class SlotStore(Protocol):
    """Where the queue document and the leases live."""

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        """Apply ``change`` to the document atomically (it may run again on a conflict)."""
        ...

    def renew(self, name: str, seconds: float) -> None:
        """Keep the mark ``name`` for ``seconds`` from now."""
        ...

    def exists(self, name: str) -> bool: ...

    def delete(self, name: str) -> None: ...

    def ping(self) -> None:
        """Raise unless the store answers."""
        ...


class DiskcacheSlotStore:
    """The document and leases in a diskcache shared by the processes of one machine."""

    def __init__(self, directory: Path) -> None:
        import diskcache

        self._cache = diskcache.Cache(str(directory))

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        with self._cache.transact():
            document = self._cache.get(_DOCUMENT) or _empty_document()
            result = change(document)
            self._cache.set(_DOCUMENT, document)
        return result

    def renew(self, name: str, seconds: float) -> None:
        self._cache.set(name, True, expire=seconds)

    def exists(self, name: str) -> bool:
        return self._cache.get(name) is not None

    def delete(self, name: str) -> None:
        self._cache.delete(name)

    def ping(self) -> None:
        self._cache.get(_DOCUMENT)


class RedisSlotStore:
    """The document and leases in Redis (leases are keys with a time to live)."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        def transaction(pipe: Any) -> T:
            raw = pipe.get(_DOCUMENT)
            document = json.loads(raw) if raw else _empty_document()
            result = change(document)
            pipe.multi()
            pipe.set(_DOCUMENT, json.dumps(document))
            return result

        return self._client.transaction(transaction, _DOCUMENT, value_from_callable=True)

    def renew(self, name: str, seconds: float) -> None:
        self._client.set(name, 1, px=int(seconds * 1000))

    def exists(self, name: str) -> bool:
        return bool(self._client.exists(name))

    def delete(self, name: str) -> None:
        self._client.delete(name)

    def ping(self) -> None:
        self._client.ping()


def _empty_document() -> dict[str, Any]:
    return {"next": 0, "tickets": []}


@functools.cache
def slot_store(cache_dir: Path, redis_url: str | None) -> SlotStore:
    """The store of this process for these settings (one per process and settings)."""
    if redis_url:
        return RedisSlotStore(redis_url)
    return DiskcacheSlotStore(cache_dir / "slots")


def lease_name(ticket_id: str) -> str:
    return f"metrics-dashboard:job-lease:{ticket_id}"


def started_name(ticket_id: str) -> str:
    return f"metrics-dashboard:job-started:{ticket_id}"


@functools.cache
def _this_machine() -> str:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


def _process_started(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


class SlotRefused(Exception):
    """The job may not run now; the message says why, for the page."""


@dataclass(frozen=True)
class Place:
    """Where a ticket stands: running, or waiting behind ``ahead`` others (``own_running``:
    the user's own running analyses are what holds it back)."""

    running: bool
    ahead: int = 0
    own_running: bool = False


@dataclass(frozen=True)
class Limits:
    running: int  # MAX_CONCURRENT_ANALYSES
    per_user: int  # MAX_ANALYSES_PER_USER
    waiting: int  # MAX_QUEUED_ANALYSES


class JobSlots:
    """The queue of one store under ``limits`` (see the module docstring)."""

    def __init__(self, store: SlotStore, limits: Limits) -> None:
        self._store = store
        self._limits = limits

    # -- one job's view ---------------------------------------------------------------------

    @contextmanager
    def slot(
        self,
        *,
        user: str,
        exclusive_key: str | None = None,
        ticket_id: str | None = None,
        on_wait: Callable[[Place], None] = lambda _place: None,
        poll_s: float = QUEUE_POLL_S,
    ) -> Iterator[None]:
        """Hold a slot inside the block: take a ticket, wait for a slot (reporting each
        change of place to ``on_wait``), then give it back. Raises SlotRefused."""
        ticket = ticket_id or uuid.uuid4().hex
        heartbeat = _Heartbeat(self._store, lease_name(ticket))
        heartbeat.start()
        try:
            place = self.enter(ticket, user=user, exclusive_key=exclusive_key)
            last: Place | None = None
            while not place.running:
                if place != last:
                    on_wait(place)
                    last = place
                time.sleep(poll_s)
                place = self.poll(ticket)
            yield
        finally:
            heartbeat.stop()
            try:
                self.leave(ticket)
            except Exception:  # the job's outcome matters more; the lease lapses anyway
                log.warning("could not give back analysis slot ticket=%s", ticket, exc_info=True)

    def enter(self, ticket: str, *, user: str, exclusive_key: str | None = None) -> Place:
        """Put ``ticket`` in the queue; its place. SlotRefused when the key is taken or the
        queue is full. The ticket's lease must be alive already."""
        self._store.renew(lease_name(ticket), LEASE_S)
        self._store.renew(started_name(ticket), STARTED_MARK_S)
        owner = {"machine": _this_machine(), "pid": os.getpid()}
        owner["process_started"] = _process_started(os.getpid())

        def change(document: dict[str, Any]) -> Place:
            tickets = self._live(document["tickets"])
            if exclusive_key is not None and any(t["key"] == exclusive_key for t in tickets):
                document["tickets"] = tickets
                raise SlotRefused(
                    "An analysis of this configuration is already running; this one was not "
                    "started. Its report will appear when it finishes."
                )
            mine = {
                "id": ticket,
                "user": user,
                "key": exclusive_key,
                "seq": document["next"],
                "running": False,
                **owner,
            }
            document["next"] += 1
            tickets.append(mine)
            self._grant(tickets)
            waiting = sum(1 for t in tickets if not t["running"] and t["id"] != ticket)
            if not mine["running"] and waiting >= self._limits.waiting:
                tickets.remove(mine)
                document["tickets"] = tickets
                raise SlotRefused(
                    f"Too many analyses are waiting: {waiting} already wait for a free slot "
                    f"(MAX_QUEUED_ANALYSES={self._limits.waiting}); this one was not started. "
                    "Try again in a few minutes."
                )
            document["tickets"] = tickets
            return self._place(tickets, ticket)

        return self._store.update(change)

    def poll(self, ticket: str) -> Place:
        """Run a grant pass; the ticket's place (running once granted)."""

        def change(document: dict[str, Any]) -> Place:
            tickets = self._live(document["tickets"])
            self._grant(tickets)
            document["tickets"] = tickets
            return self._place(tickets, ticket)

        return self._store.update(change)

    def leave(self, ticket: str) -> None:
        """Give the ticket back (its slot goes to the next waiting job at its next poll)."""

        def change(document: dict[str, Any]) -> None:
            document["tickets"] = [t for t in self._live(document["tickets"]) if t["id"] != ticket]

        try:
            self._store.update(change)
        finally:
            self._store.renew(lease_name(ticket), FINISHED_LEASE_S)

    def snapshot(self) -> list[dict[str, Any]]:
        """The live tickets in queue order (for tests and diagnostics)."""

        def change(document: dict[str, Any]) -> list[dict[str, Any]]:
            document["tickets"] = self._live(document["tickets"])
            return [dict(t) for t in document["tickets"]]

        return self._store.update(change)

    # -- the queue --------------------------------------------------------------------------

    def _live(self, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        alive = [t for t in tickets if self._alive(t)]
        for gone in (t for t in tickets if t not in alive):
            log.warning("analysis slot of a job that died released ticket=%s", gone["id"])
        return sorted(alive, key=lambda t: t["seq"])

    def _alive(self, ticket: dict[str, Any]) -> bool:
        if ticket["machine"] == _this_machine():
            started = _process_started(ticket["pid"])
            if started is None or started != ticket["process_started"]:
                return False
        return self._store.exists(lease_name(ticket["id"]))

    def _grant(self, tickets: list[dict[str, Any]]) -> None:
        """Give free slots to waiting tickets, first come first served, skipping a ticket
        whose user already runs their share."""
        running = [t for t in tickets if t["running"]]
        per_user: dict[str, int] = {}
        for t in running:
            per_user[t["user"]] = per_user.get(t["user"], 0) + 1
        total = len(running)
        for t in tickets:
            if total >= self._limits.running:
                return
            if t["running"] or per_user.get(t["user"], 0) >= self._limits.per_user:
                continue
            t["running"] = True
            per_user[t["user"]] = per_user.get(t["user"], 0) + 1
            total += 1

    def _place(self, tickets: list[dict[str, Any]], ticket: str) -> Place:
        mine = next((t for t in tickets if t["id"] == ticket), None)
        if mine is None:
            raise SlotRefused("This analysis lost its place in the queue; start it again.")
        if mine["running"]:
            return Place(running=True)
        ahead = sum(1 for t in tickets if not t["running"] and t["seq"] < mine["seq"])
        own = sum(1 for t in tickets if t["running"] and t["user"] == mine["user"])
        return Place(running=False, ahead=ahead, own_running=own >= self._limits.per_user)


class _Heartbeat:
    """Renews a lease every HEARTBEAT_S in a daemon thread until stopped."""

    def __init__(self, store: SlotStore, name: str) -> None:
        self._store = store
        self._name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def start(self) -> None:
        self._store.renew(self._name, LEASE_S)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(HEARTBEAT_S * 2)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._store.renew(self._name, LEASE_S)
            except Exception:  # a store that fails now and then: the next beat tries again
                log.warning("job heartbeat could not renew its lease", exc_info=True)
