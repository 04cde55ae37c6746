"""Registered names and timers (SPEC §5)."""

from __future__ import annotations

import time

import pytest

import threadactors as ta
from threadactors._node import get_node

from .helpers import echo, wait_ended


def test_register_whereis_send_by_name() -> None:
    pid = ta.spawn(echo)
    ta.register("echo", pid)
    assert ta.whereis("echo") == pid
    assert "echo" in ta.registered()
    ta.send("echo", (ta.self(), "by name"))
    assert ta.receive(timeout=5) == "by name"
    assert ta.info(pid)["name"] == "echo"  # type: ignore[index]
    ta.send("echo", "stop")


def test_a_message_to_a_name_just_taken_by_spawn_is_delivered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Whoever finds the name of an actor spawned with one finds the actor:
    # a message sent the instant the name is taken, before spawn goes on, is
    # not dropped as if to the dead (it was, where another thread did that).
    me = ta.self()
    registry = get_node().registry
    real = registry.register

    def register_then_send(name: str, pid: ta.Pid) -> None:
        real(name, pid)
        if name == "newborn":
            ta.send("newborn", "first")

    monkeypatch.setattr(registry, "register", register_then_send)

    def body() -> None:
        ta.send(me, ("got", ta.receive(timeout=5, default="nothing")))

    ta.spawn_opt(body, name="newborn")
    assert ta.receive(timeout=10) == ("got", "first")


def test_register_self_by_default() -> None:
    ta.register("me")
    assert ta.whereis("me") == ta.self()
    ta.unregister("me")
    assert ta.whereis("me") is None


def test_one_name_per_actor_and_one_actor_per_name() -> None:
    a = ta.spawn(echo)
    b = ta.spawn(echo)
    ta.register("a", a)
    with pytest.raises(ta.NameTaken):
        ta.register("a", b)
    with pytest.raises(ta.NameTaken):
        ta.register("other", a)
    for pid in (a, b):
        ta.send(pid, "stop")


def test_spawn_opt_name_is_atomic_and_taken_name_fails() -> None:
    pid = ta.spawn_opt(echo, name="svc")
    assert ta.whereis("svc") == pid
    with pytest.raises(ta.NameTaken):
        ta.spawn_opt(echo, name="svc")
    ta.send("svc", "stop")


def test_register_dead_pid_is_noproc() -> None:
    pid = ta.spawn(echo)
    ta.send(pid, "stop")
    wait_ended(pid)
    with pytest.raises(ta.NoProc):
        ta.register("late", pid)


def test_unregister_unknown_is_noproc() -> None:
    with pytest.raises(ta.NoProc):
        ta.unregister("never")


def test_name_released_when_actor_ends() -> None:
    me = ta.self()

    def worker() -> None:
        ta.register("short")
        ta.send(me, "registered")
        ta.receive("go")

    pid = ta.spawn(worker)
    assert ta.receive(timeout=5) == "registered"
    assert ta.whereis("short") == pid
    ta.send(pid, "go")
    wait_ended(pid)
    assert ta.whereis("short") is None
    ta.register("short")  # free again


def test_register_type_errors() -> None:
    with pytest.raises(TypeError):
        ta.register(42)  # type: ignore[arg-type]


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        ta.register("")
    with pytest.raises(ValueError, match="empty"):
        ta.spawn_opt(echo, name="")
    assert ta.registered() == []


def test_monitor_by_name_carries_the_name() -> None:
    pid = ta.spawn_opt(echo, name="watched")
    ref = ta.monitor("watched")
    ta.send("watched", "stop")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, "watched", "normal")
    # Looked up once: a name taken again later is not watched.
    again = ta.spawn_opt(echo, name="watched")
    ref = ta.monitor("watched")
    ta.unregister("watched")
    ta.exit(again, "kill")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, "watched", "killed")
    assert not ta.is_alive(pid)


def test_monitor_of_a_name_not_registered_is_noproc_at_once() -> None:
    ref = ta.monitor("nobody")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, "nobody", "noproc")


def test_demonitor_of_a_monitor_by_name() -> None:
    pid = ta.spawn_opt(echo, name="watched")
    ref = ta.monitor("watched")
    ta.demonitor(ref)
    check = ta.monitor(pid)
    ta.send(pid, "stop")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(check, pid, "normal")
    assert ta.receive(timeout=0, default=None) is None


@pytest.mark.parametrize("bad", [42, ("a",), ("a", 1), ["a", "b"], None])
def test_monitor_of_something_else_is_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="monitor takes"):
        ta.monitor(bad)  # type: ignore[arg-type]


def test_send_after_delivers_not_early() -> None:
    start = time.monotonic()
    ref = ta.send_after(0.05, ta.self(), "tick")
    assert isinstance(ref, ta.Ref)
    assert ta.receive("tick", timeout=5) == "tick"
    assert time.monotonic() - start >= 0.05


def test_timers_fire_in_time_order() -> None:
    for delay in (0.06, 0.02, 0.04):
        ta.send_after(delay, ta.self(), delay)
    assert [ta.receive(timeout=5) for _ in range(3)] == [0.02, 0.04, 0.06]


def test_send_after_to_name_resolves_at_expiry() -> None:
    ta.send_after(0.02, "late-name", "hello")
    ta.register("late-name")
    assert ta.receive("hello", timeout=5) == "hello"


def test_cancel_pending_timer_returns_time_left() -> None:
    ref = ta.send_after(10, ta.self(), "never")
    left = ta.cancel_timer(ref)
    assert left is not None
    assert 9 < left <= 10
    assert ta.cancel_timer(ref) is None
    assert ta.receive("never", timeout=0.05, default=None) is None


def test_cancel_after_fire_removes_message_in_flight_or_queued() -> None:
    # The timer fires while we are not receiving; cancelling it afterwards
    # still guarantees we never see its message (SPEC §5, stronger than Erlang).
    me = ta.self()
    ref = ta.send_after(0, me, "fired")
    other = ta.send_after(0, me, "kept")
    # Wait (by message) until the second timer's message is here; timers
    # with equal expiry are in id order, so the first has fired too.
    ta.send_after(0.01, me, "sync")
    assert ta.receive("sync", timeout=5) == "sync"
    assert ta.cancel_timer(ref) is None
    assert ta.receive("fired", timeout=0.05, default=None) is None
    assert ta.receive(timeout=1) == "kept"
    assert ta.cancel_timer(other) is None


def test_cancel_after_fire_removes_saved_message() -> None:
    me = ta.self()
    ref = ta.send_after(0, me, ("timer", 1))
    ta.send(me, "marker")
    ta.send_after(0.01, me, "sync")
    assert ta.receive("sync", timeout=5) == "sync"  # the timer's message is saved
    assert ta.cancel_timer(ref) is None
    assert ta.receive(timeout=0) == "marker"
    assert ta.receive(timeout=0, default=None) is None


def test_send_after_unpicklable_raises_at_once() -> None:
    with pytest.raises(TypeError, match="copied by pickling") as info:
        ta.send_after(0, ta.self(), lambda: None)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_send_after_bad_time(bad: float) -> None:
    with pytest.raises(ValueError):
        ta.send_after(bad, ta.self(), "x")


def test_cancel_timer_type_error() -> None:
    with pytest.raises(TypeError):
        ta.cancel_timer("nope")  # type: ignore[arg-type]


def test_one_timer_thread_for_many_timers() -> None:
    import threading

    before = {t.name for t in threading.enumerate()}
    refs = [ta.send_after(30, ta.self(), i) for i in range(100)]
    timer_threads = [t for t in threading.enumerate() if t.name == "ta-timers"]
    assert len(timer_threads) == 1
    assert "ta-timers" not in before
    for ref in refs:
        assert ta.cancel_timer(ref) is not None


def test_a_timer_to_a_dead_pid_is_never_set() -> None:
    pid = ta.spawn(echo)
    ta.send(pid, "stop")
    wait_ended(pid)
    ref = ta.send_after(60, pid, "never")
    assert ta.cancel_timer(ref) is None  # OTP: false
    assert get_node().timers.pending_count() == 0


def test_timers_to_a_pid_end_with_its_actor() -> None:
    pid = ta.spawn(echo)
    refs = [ta.send_after(60, pid, i) for i in range(200)]
    named = ta.send_after(60, "nobody", "kept")  # a name's timer outlives anyone
    assert get_node().timers.pending_count() == 201
    ta.send(pid, "stop")
    wait_ended(pid)
    assert [ta.cancel_timer(ref) for ref in refs] == [None] * 200
    timers = get_node().timers
    assert timers.pending_count() == 1
    assert timers.heap_size() < 100  # the dead entries do not wait for their time
    left = ta.cancel_timer(named)
    assert left is not None and 0 < left <= 60


def test_a_timer_to_a_pid_fires_while_it_lives() -> None:
    me = ta.self()
    pid = ta.spawn(echo)
    ta.send_after(0.01, pid, (me, "echoed"))
    assert ta.receive("echoed", timeout=10) == "echoed"
    ta.send(pid, "stop")
