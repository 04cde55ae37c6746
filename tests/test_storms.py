"""Storms and scale: many actors crashing, restarting or alive at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
import structlog

import threadactors as ta


@pytest.fixture
def quiet() -> Iterator[None]:
    """A thousand crash reports are expected here: keep them off stdout."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    yield
    structlog.reset_defaults()


@pytest.fixture
def small_stacks() -> Iterator[None]:
    old = threading.stack_size(256 * 1024)
    yield
    threading.stack_size(old)


def _crash_on_go(i: int) -> None:
    ta.receive("go")
    raise RuntimeError(i)


def test_a_thousand_linked_actors_crash_at_once(quiet: None, small_stacks: None) -> None:
    ta.trap_exit(True)
    pids = {ta.spawn_link(_crash_on_go, i): i for i in range(1_000)}
    for pid in pids:
        ta.send(pid, "go")
    seen = {}
    for _ in range(1_000):
        signal = ta.receive(ta.ExitSignal, timeout=30)
        seen[signal.pid] = signal.reason
    assert {pid: r.args[0] for pid, r in seen.items()} == pids
    assert all(isinstance(r, RuntimeError) for r in seen.values())
    assert ta.processes() == [ta.self()]


def _member(report_to: ta.Pid) -> None:
    ta.send(report_to, "linked")
    ta.receive("never")


def _hub(report_to: ta.Pid, n: int) -> None:
    for _ in range(n):
        ta.spawn_link(_member, report_to)
    ta.receive("crash")
    raise ValueError("hub down")


def test_a_crashing_hub_takes_a_thousand_linked_actors_with_it(
    quiet: None, small_stacks: None
) -> None:
    me = ta.self()
    hub = ta.spawn(_hub, me, 1_000)
    for _ in range(1_000):
        ta.receive("linked", timeout=30)
    members = [p for p in ta.processes() if p not in (me, hub)]
    assert len(members) == 1_000
    refs = {ta.monitor(p): p for p in members}
    ta.send(hub, "crash")
    for _ in range(1_000):
        down = ta.receive(ta.Down, timeout=30)
        assert refs.pop(down.ref) == down.pid
        assert repr(down.reason) == repr(ValueError("hub down"))
    assert ta.processes() == [me]


def _crash_at_once() -> None:
    raise RuntimeError("born broken")


def test_children_crashing_in_a_loop_until_intensity_stops_the_supervisor(
    quiet: None,
) -> None:
    specs = [ta.ChildSpec(f"c{i}", ta.spawn_link, args=(_crash_at_once,)) for i in range(20)]
    # Each child is started (spawn_link returns) before it crashes: the
    # supervisor's start succeeds, and the exits are handled after it.
    sup = ta.Supervisor.start(specs, intensity=50, period=60)
    ref = ta.monitor(sup)
    down = ta.receive(ta.Down, timeout=30)
    assert down.ref == ref and down.reason == "shutdown"
    assert ta.processes() == [ta.self()]


def _restarting_worker(report_to: ta.Pid) -> None:
    ta.send(report_to, "up")
    raise RuntimeError("again")


def test_shutdown_in_the_middle_of_storms_returns_and_leaves_nothing(
    quiet: None, small_stacks: None
) -> None:
    me = ta.self()
    ta.Supervisor.start(
        [ta.ChildSpec("w", ta.spawn_link, args=(_restarting_worker, me))],
        intensity=1_000_000,
        period=1,
    )
    hub = ta.spawn(_hub, me, 300)
    for _ in range(300):
        ta.receive("linked", timeout=30)
    for _ in range(20):
        ta.receive("up", timeout=30)  # the supervisor is busy restarting
    ta.trap_exit(True)
    crashers = [ta.spawn_link(_crash_on_go, i) for i in range(300)]
    ta.send(hub, "crash")
    for pid in crashers:
        ta.send(pid, "go")
    ta.shutdown(timeout=30)
    # The autouse fixture checks that no thread, fd or socket is left.


def _answer_once(report_to: ta.Pid) -> None:
    ta.send(report_to, ("answer", ta.receive()))


def test_ten_thousand_actors_alive_at_once(quiet: None, small_stacks: None) -> None:
    me = ta.self()
    refs = dict(ta.spawn_monitor(_answer_once, me) for _ in range(10_000))
    assert len(ta.processes()) == 10_001
    for i, pid in enumerate(refs):
        ta.send(pid, i)
    got = sorted(ta.receive(("answer", int), timeout=60)[1] for _ in refs)
    assert got == list(range(10_000))
    for _ in range(len(refs)):
        down = ta.receive(ta.Down, timeout=60)
        assert refs.pop(down.pid) == down.ref and down.reason == "normal"
    assert not refs
    # CPython takes seconds to tear 10,000 threads down once their actors
    # have ended (19 s on 3.13t, linux-facts §13): more than the default 5 s.
    ta.shutdown(timeout=60)
