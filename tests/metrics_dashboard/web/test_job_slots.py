"""Job slots: global and per-user limits, a first-come queue with a bound, exclusive keys, and
slots that a dead job gives back; on diskcache and on a real redis-server."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from metrics_dashboard.web import job_slots
from metrics_dashboard.web.job_slots import (
    DiskcacheSlotStore,
    JobSlots,
    Limits,
    Place,
    RedisSlotStore,
    SlotRefused,
    lease_name,
)
from tests.scaleout import redis_server


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("slots_redis")) as url:
        yield url


@pytest.fixture(params=["diskcache", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "diskcache":
        return DiskcacheSlotStore(tmp_path / "slots")
    url = request.getfixturevalue("redis_url")
    redis_store = RedisSlotStore(url)
    redis_store._client.flushdb()  # each test starts with an empty queue
    return redis_store


def slots(store, running: int = 2, per_user: int = 1, waiting: int = 10) -> JobSlots:
    return JobSlots(store, Limits(running=running, per_user=per_user, waiting=waiting))


def test_slots_go_first_come_first_served_within_the_limits(store) -> None:
    queue = slots(store, running=2, per_user=1)
    assert queue.enter("a1", user="alice") == Place(running=True)
    assert queue.enter("a2", user="alice") == Place(running=False, ahead=0, own_running=True)
    assert queue.enter("b1", user="bob") == Place(running=True)
    assert queue.enter("c1", user="carol") == Place(running=False, ahead=1)
    assert queue.enter("d1", user="dave") == Place(running=False, ahead=2)

    queue.leave("a1")  # alice's first job ends: her second one is next in line
    assert queue.poll("c1") == Place(running=False, ahead=0)
    assert queue.poll("a2") == Place(running=True)
    queue.leave("b1")  # whoever polls first, the slot goes to the first in line
    assert queue.poll("d1") == Place(running=False, ahead=0)
    assert queue.poll("c1") == Place(running=True)
    assert [t["id"] for t in queue.snapshot()] == ["a2", "c1", "d1"]


def test_a_user_over_their_share_does_not_hold_up_others(store) -> None:
    queue = slots(store, running=3, per_user=1)
    queue.enter("a1", user="alice")
    queue.enter("a2", user="alice")
    queue.enter("a3", user="alice")
    assert queue.enter("b1", user="bob") == Place(running=True)  # past alice's waiting jobs
    assert queue.poll("a2") == Place(running=False, ahead=0, own_running=True)


def test_a_full_queue_refuses_new_jobs(store) -> None:
    queue = slots(store, running=1, per_user=1, waiting=2)
    queue.enter("a", user="u1")
    queue.enter("b", user="u2")
    queue.enter("c", user="u3")
    with pytest.raises(
        SlotRefused, match=r"Too many analyses are waiting: 2 already wait .*MAX_QUEUED_ANALYSES=2"
    ):
        queue.enter("d", user="u4")
    assert [t["id"] for t in queue.snapshot()] == ["a", "b", "c"]


def test_an_exclusive_key_admits_one_job_at_a_time(store) -> None:
    queue = slots(store, running=2, per_user=2)
    queue.enter("live-1", user="alice", exclusive_key="availability:cfg")
    with pytest.raises(SlotRefused, match="An analysis of this configuration is already running"):
        queue.enter("live-2", user="bob", exclusive_key="availability:cfg")
    assert queue.enter("other", user="bob", exclusive_key="resilience:cfg").running
    queue.leave("live-1")
    assert queue.enter("live-3", user="bob", exclusive_key="availability:cfg").running


def test_a_ticket_whose_lease_lapsed_gives_its_slot_back(store) -> None:
    queue = slots(store, running=1)
    queue.enter("crashed", user="alice")
    assert queue.enter("next", user="bob") == Place(running=False, ahead=0)
    store.delete(lease_name("crashed"))  # what LEASE_S without a heartbeat does
    assert queue.poll("next") == Place(running=True)


def test_a_job_process_killed_with_sigkill_gives_its_slot_back_at_once(
    store, tmp_path: Path
) -> None:
    """A cancelled diskcache job is killed outright: its live lease must not hold the slot."""
    from multiprocess import Process, Queue

    entered: Queue = Queue()

    def job() -> None:
        own = job_slots.JobSlots(store, Limits(running=1, per_user=1, waiting=10))
        with own.slot(user="alice", ticket_id="killed"):
            entered.put(True)
            time.sleep(120)

    if isinstance(store, RedisSlotStore):
        store._client.connection_pool.reset()  # a fresh connection in the child
    child = Process(target=job)
    child.start()
    try:
        assert entered.get(timeout=60)
        queue = slots(store, running=1)
        assert queue.enter("waiting", user="bob") == Place(running=False, ahead=0)
        assert store.exists(lease_name("killed"))  # the lease is still alive...
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        assert queue.poll("waiting") == Place(running=True)  # ...the process is not
    finally:
        child.kill()
        child.join()


def test_the_slot_context_reports_its_place_while_waiting_and_gives_the_slot_back(
    store,
) -> None:
    queue = slots(store, running=1)
    queue.enter("first", user="alice")
    places: list[Place] = []

    def on_wait(place: Place) -> None:
        places.append(place)
        queue.leave("first")  # the running job ends while this one waits

    with queue.slot(user="bob", ticket_id="second", on_wait=on_wait, poll_s=0.01):
        assert [t["id"] for t in queue.snapshot() if t["running"]] == ["second"]
    assert places == [Place(running=False, ahead=0)]
    assert queue.snapshot() == []


def test_a_refused_job_leaves_no_ticket(store) -> None:
    queue = slots(store, running=1, waiting=0)
    queue.enter("first", user="alice")
    with pytest.raises(SlotRefused), queue.slot(user="bob", ticket_id="second"):
        raise AssertionError("ran without a slot")
    assert [t["id"] for t in queue.snapshot()] == ["first"]
