"""Edge cases found in review: odd reasons, races with kill, bad input."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import threadactors as ta
from threadactors._node import get_node

from .conftest import node_sockets
from .signal_helpers import down_of, idle


class TwoArgError(Exception):
    """Pickles, but does not unpickle (its __init__ takes two arguments)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code


def test_reason_that_does_not_unpickle_becomes_unpicklable_error() -> None:
    def body() -> None:
        raise TwoArgError(1, "x")

    _, ref = ta.spawn_monitor(body)
    reason = down_of(ref)
    assert isinstance(reason, ta.UnpicklableError)
    assert "TwoArgError" in str(reason)
    # The monitor thread is still at work.
    _, ref = ta.spawn_monitor(ta.exit, threading.Lock())
    assert isinstance(down_of(ref), ta.UnpicklableError)
    _, ref = ta.spawn_monitor(lambda: None)
    assert down_of(ref) == "normal"


def test_link_request_that_arrives_after_its_senders_end() -> None:
    # What the monitor thread sees when an actor is killed while inside
    # link(): its own end first, then its link request.
    me = ta.self()
    ta.trap_exit(True)
    victim, ref = ta.spawn_monitor(idle)
    ta.exit(victim, "kill")
    assert down_of(ref) == "killed"
    get_node().monitor.request("link", victim, me)
    assert ta.receive(ta.ExitSignal, timeout=10) == ta.ExitSignal(victim, "killed")


def test_long_timer_does_not_stop_the_timer_thread() -> None:
    far = ta.send_after(1e10, ta.self(), "far future")
    ta.send_after(0.01, ta.self(), "soon")
    assert ta.receive("soon", timeout=5) == "soon"
    assert ta.cancel_timer(far) is not None


def test_cancelled_timers_do_not_pile_up() -> None:
    refs = [ta.send_after(60, ta.self(), i) for i in range(1_000)]
    for ref in refs:
        ta.cancel_timer(ref)
    assert len(get_node().timers._heap) < 100


def test_kill_interrupts_a_long_cleanup() -> None:
    me = ta.self()

    def body() -> None:
        try:
            ta.send(me, "ready")  # inside the try: an exit before it skips it
            idle()
        finally:
            ta.send(me, "cleaning")
            x = 0
            while True:  # a cleanup that never ends
                x += 1

    pid, ref = ta.spawn_monitor(body)
    ta.receive("ready", timeout=10)
    ta.exit(pid, "stop")
    assert ta.receive("cleaning", timeout=10) == "cleaning"
    ta.exit(pid, "kill")
    assert down_of(ref) == "killed"
    # The fixture checks that its thread is gone (joined at shutdown).


def test_adopted_thread_killed_in_receive_closes_its_fds() -> None:
    me = ta.self()
    got: list[Any] = []

    def app_thread() -> None:
        ta.send(me, ("adopted", ta.self()))
        try:
            ta.receive("never")
        except ta.Exit as e:
            got.append(e.reason)

    t = threading.Thread(target=app_thread)
    t.start()
    _, pid = ta.receive(("adopted", ta.Pid), timeout=10)
    while ta.info(pid)["status"] != "waiting":  # type: ignore[index]
        ta.receive(timeout=0.001, default=None)
    ta.exit(pid, "kill")
    t.join()
    assert got == ["killed"]
    # The fixture checks its socket and fds are gone.


def test_receive_times_out_only_after_a_last_look() -> None:
    ta.send(ta.self(), "here")
    assert ta.receive("here", timeout=1e-9) == "here"


def test_runtime_calls_during_shutdown_start_no_new_node() -> None:
    me = ta.self()

    def body() -> None:
        try:
            ta.send(me, "up")
            idle()
        finally:
            ta.whereis("x")
            ta.is_alive(me)
            ta.processes()
            ta.make_ref()

    ta.spawn(body)
    ta.receive("up", timeout=10)
    ta.shutdown()
    assert node_sockets() == []


def test_shutdown_called_by_an_actor() -> None:
    done = threading.Event()

    def stopper() -> None:
        ta.spawn_link(idle)
        ta.spawn_link(idle)
        ta.shutdown(timeout=5)
        done.set()

    ta.spawn(stopper)
    assert done.wait(30)
    assert node_sockets() == []


def test_spawn_failure_undoes_link_and_monitor(monkeypatch: pytest.MonkeyPatch) -> None:
    ta.self()  # node and its threads up before the patch

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    with pytest.raises(ta.SpawnError) as info:
        ta.spawn_link(idle)
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(ta.SpawnError):
        ta.spawn_monitor(idle)
    monkeypatch.undo()
    # Nothing of them arrives later, and nothing is left.
    _, ref = ta.spawn_monitor(lambda: None)
    assert down_of(ref) == "normal"
    assert ta.receive(timeout=0.05, default=None) is None
    assert ta.processes() == [ta.self()]


def test_bad_input() -> None:
    ta.send(ta.self(), "x")
    assert ta.receive(timeout=1e19) == "x"
    with pytest.raises(TypeError):
        ta.unregister(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ta.whereis(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ta.shutdown(-1)
    ta.shutdown(None)


class FlakyWaker:
    """Stands in for the node's waker socket: the first wake-up fails."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failures = 1

    def sendto(self, *args: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise BlockingIOError
        return self.real.sendto(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_failed_wake_up_is_retried_by_the_timer_thread() -> None:
    from threadactors import _wire

    me = ta.self()
    node = get_node()

    def sleeper() -> None:
        ta.send(me, ta.receive())

    pid = ta.spawn(sleeper)
    target = node.actors[pid]
    while not target.mailbox.sleeping:  # blocked in recv, backlog empty
        ta.receive(timeout=0.001, default=None)
    node.waker, real = FlakyWaker(node.waker), node.waker  # type: ignore[assignment]
    try:
        # What a sender does when the socket refuses: backlog, then a wake-up
        # (which fails here, so the timer thread must try again).
        with target.mailbox.lock:
            target.mailbox.backlog.append(_wire.encode("from the backlog"))
            target.mailbox.woken = True
        node.wake(target.mailbox)
        assert ta.receive(timeout=10) == "from the backlog"
    finally:
        node.waker = real
