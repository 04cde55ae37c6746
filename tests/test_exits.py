"""An exit signal reaching an actor: cleanup, the first reason, "exiting" (SPEC §2, §4)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import threadactors as ta

# Loops that CPython 3.11+ compiles with a jump outside the exception-table
# range of the try (or with) in the same frame, on some version (see
# threadactors/_interrupt.py): an exception raised there by
# PyThreadState_SetAsyncExc leaves the frame without running its handlers.
STOP = [False]


class Reporter:
    """A context manager that reports its exit.

    The patterns send "started" inside their try (or with): an exit signal
    may be raised by that very send, and cleanup runs then too."""

    def __init__(self, report: ta.Pid) -> None:
        self.report = report

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        ta.send(self.report, "cleanup")


def try_while_cond(report: ta.Pid) -> None:
    x = 0
    try:
        ta.send(report, "started")
        while not STOP[0]:
            x += 1
    finally:
        ta.send(report, "cleanup")


def try_while_true(report: ta.Pid) -> None:
    x = 0
    try:
        ta.send(report, "started")
        while True:
            x += 1
    finally:
        ta.send(report, "cleanup")


def try_for(report: ta.Pid) -> None:
    try:
        ta.send(report, "started")
        for _ in range(10**15):
            pass
    finally:
        ta.send(report, "cleanup")


def with_while_cond(report: ta.Pid) -> None:
    with Reporter(report):
        ta.send(report, "started")
        while not STOP[0]:
            pass


def with_in_loop(report: ta.Pid) -> None:
    lock = threading.Lock()
    try:
        ta.send(report, "started")
        while not STOP[0]:
            with lock:
                pass
    finally:
        ta.send(report, "cleanup")


def continue_in_except(report: ta.Pid) -> None:
    try:
        ta.send(report, "started")
        while True:
            try:
                raise ValueError
            except ValueError:
                continue
    finally:
        ta.send(report, "cleanup")


def if_continue(report: ta.Pid) -> None:
    x = 0
    try:
        ta.send(report, "started")
        while True:
            x += 1
            if x % 2:
                continue
            x += 1
    finally:
        ta.send(report, "cleanup")


def except_exit(report: ta.Pid) -> None:
    event = threading.Event()
    try:
        ta.send(report, "started")
        while not event.is_set():
            pass
    except ta.Exit:
        ta.send(report, "cleanup")
        raise


ENTERED: dict[ta.Pid, bool] = {}


def continue_first_in_try(report: ta.Pid) -> None:
    me = ta.self()
    ta.send(report, "started")
    try:
        while True:
            ENTERED[me] = True
            try:
                raise ValueError
            except ValueError:
                continue
    finally:
        ta.send(report, "cleanup")


LOOPS = [
    try_while_cond,
    try_while_true,
    try_for,
    with_while_cond,
    with_in_loop,
    continue_in_except,
    continue_first_in_try,
    if_continue,
    except_exit,
]


def while_cond() -> None:
    x = 0
    while not STOP[0]:
        x += 1


@pytest.mark.parametrize("loop", LOOPS, ids=lambda f: f.__name__)
def test_cleanup_runs_before_the_down_whatever_the_loop(loop: Callable[[ta.Pid], None]) -> None:
    me = ta.self()
    for i in range(30):
        reason = ("custom", i) if i % 2 else "shutdown"
        pid, ref = ta.spawn_monitor(loop, me)
        assert ta.receive(timeout=10) == "started"
        if loop is continue_first_in_try:
            # It sent "started" before its try: wait until it is in there.
            while not ENTERED.pop(pid, False):
                pass
        ta.exit(pid, reason)
        got = [ta.receive(timeout=10) for _ in range(2)]
        assert got == ["cleanup", ta.Down(ref, pid, reason)], i


def test_kill_stops_a_spinning_thread() -> None:
    me = ta.self()
    stopped = threading.Event()

    def spinner() -> None:
        try:
            ta.send(me, "started")
            while_cond()
        finally:
            stopped.set()

    pid, ref = ta.spawn_monitor(spinner)
    assert ta.receive(timeout=10) == "started"
    ta.exit(pid, "kill")
    assert not ta.is_alive(pid)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "killed")
    assert stopped.wait(10)


def test_swallowed_exit_ends_with_the_signal_reason() -> None:
    me = ta.self()

    def swallower() -> None:
        try:
            ta.send(me, "waiting")
            ta.receive("never sent")
        except ta.Exit:
            return  # swallowed: still the signal's end

    pid, ref = ta.spawn_monitor(swallower)
    assert ta.receive(timeout=10) == "waiting"
    ta.exit(pid, "bye")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "bye")


def test_swallowed_injected_exit_ends_with_the_signal_reason() -> None:
    me = ta.self()

    def swallower() -> None:
        try:
            ta.send(me, "spinning")
            while_cond()
        except BaseException:
            pass  # swallowed, then the function returns

    pid, ref = ta.spawn_monitor(swallower)
    assert ta.receive(timeout=10) == "spinning"
    ta.exit(pid, ("reason", 1))
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, ("reason", 1))


def test_after_a_swallowed_exit_the_next_runtime_call_raises_it_again() -> None:
    me = ta.self()
    caught: list[Any] = []

    def stubborn() -> None:
        for i in range(3):
            try:
                if i == 0:
                    ta.send(me, "waiting")
                ta.receive("never sent")
            except ta.Exit as e:
                caught.append(e.reason)
        try:
            ta.self()  # any runtime call
        except ta.Exit as e:
            caught.append(("self", e.reason))

    pid, ref = ta.spawn_monitor(stubborn)
    assert ta.receive(timeout=10) == "waiting"
    ta.exit(pid, "again")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "again")
    assert caught == ["again", "again", "again", ("self", "again")]


def test_a_later_exit_of_its_own_does_not_replace_the_signal_reason() -> None:
    me = ta.self()

    def renamer() -> None:
        try:
            ta.send(me, "waiting")
            ta.receive("never sent")
        finally:
            ta.exit("my own reason")  # (a new Exit raised in cleanup)

    pid, ref = ta.spawn_monitor(renamer)
    assert ta.receive(timeout=10) == "waiting"
    ta.exit(pid, "first")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "first")


def test_an_exception_in_cleanup_keeps_the_signal_reason_and_is_reported(
    logs: list[dict[str, Any]],
) -> None:
    me = ta.self()

    def broken_cleanup() -> None:
        try:
            ta.send(me, "waiting")
            ta.receive("never sent")
        finally:
            raise RuntimeError("cleanup failed")

    pid, ref = ta.spawn_monitor(broken_cleanup)
    assert ta.receive(timeout=10) == "waiting"
    ta.exit(pid, "first")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "first")
    reports = [e for e in logs if e["event"] == "crash_report"]
    assert len(reports) == 1 and "cleanup failed" in reports[0]["error"]
    assert reports[0]["exiting"] == "'first'"


def test_cleanup_may_receive_and_is_exiting_meanwhile() -> None:
    me = ta.self()

    def slow_cleanup() -> None:
        try:
            ta.send(me, "waiting")
            ta.receive("never sent")
        finally:
            ta.send(me, "cleaning")
            ta.send(me, ("got", ta.receive("go", timeout=10)))

    pid, ref = ta.spawn_monitor(slow_cleanup)
    assert ta.receive(timeout=10) == "waiting"
    ta.exit(pid, "stop now")
    assert ta.receive(timeout=10) == "cleaning"
    info = ta.info(pid)
    assert info is not None and info["status"] == "exiting"
    assert not ta.is_alive(pid)
    assert pid in ta.processes()  # it exists until its end, as in Erlang
    ta.exit(pid, "ignored: it is exiting")
    ta.send(pid, "go")
    assert ta.receive(timeout=10) == ("got", "go")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "stop now")
    assert ta.info(pid) is None


def test_not_alive_as_soon_as_a_fatal_exit_signal_is_sent() -> None:
    waiting, ref = ta.spawn_monitor(ta.receive, "never sent")
    ta.exit(waiting, "foo")
    assert not ta.is_alive(waiting)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, waiting, "foo")


def test_not_alive_as_soon_as_exit_is_sent_to_a_spinning_actor() -> None:
    me = ta.self()

    def spinner() -> None:
        ta.send(me, "spinning")
        while_cond()

    pid, ref = ta.spawn_monitor(spinner)
    assert ta.receive(timeout=10) == "spinning"
    ta.exit(pid, "foo")
    assert not ta.is_alive(pid)
    with pytest.raises(ta.NoProc):
        ta.register("late", pid)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "foo")


def test_alive_after_signals_that_do_not_end_it() -> None:
    me = ta.self()

    def trapper() -> None:
        ta.trap_exit(True)
        ta.send(me, "trapping")
        ta.receive("never sent")

    plain = ta.spawn(ta.receive, "never sent")
    ta.exit(plain, "normal")
    assert ta.is_alive(plain)
    trapping = ta.spawn(trapper)
    assert ta.receive(timeout=10) == "trapping"
    ta.exit(trapping, "foo")
    assert ta.is_alive(trapping)
    for pid in (plain, trapping):
        ref = ta.monitor(pid)
        ta.exit(pid, "kill")
        assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "killed")
