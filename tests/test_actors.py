"""Actors, adoption, introspection and the node's life (SPEC §1, §2)."""

from __future__ import annotations

import functools
import os
import pickle
import threading
import time
from typing import Any

import pytest

import threadactors as ta

from .conftest import node_sockets, open_fds
from .helpers import echo
from .helpers import wait_ended as wait_dead


def test_spawn_runs_function_with_args() -> None:
    me = ta.self()

    def worker(a: int, b: int, *, c: int) -> None:
        ta.send(me, (ta.self(), a + b + c))

    pid = ta.spawn(worker, 1, 2, c=3)
    assert ta.receive(timeout=5) == (pid, 6)


def test_spawn_opt_args_kwargs() -> None:
    me = ta.self()
    pid = ta.spawn_opt(lambda x, y=0: ta.send(me, x + y), args=(1,), kwargs={"y": 2})
    assert isinstance(pid, ta.Pid)
    assert ta.receive(timeout=5) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda: ta.spawn(42),  # type: ignore[arg-type]
        lambda: ta.spawn_opt(echo, args=[1]),  # type: ignore[arg-type]
        lambda: ta.spawn_opt(echo, kwargs=[("a", 1)]),  # type: ignore[arg-type]
        lambda: ta.spawn_opt(echo, name=7),  # type: ignore[arg-type]
    ],
)
def test_spawn_misuse_is_type_error(call: Any) -> None:
    with pytest.raises(TypeError):
        call()


async def _coroutine_function() -> None:
    pass


class _AsyncCallable:
    async def __call__(self) -> None:
        pass


@pytest.mark.parametrize(
    "fn", [_coroutine_function, functools.partial(_coroutine_function), _AsyncCallable()]
)
def test_spawn_refuses_a_coroutine_function(fn: Any) -> None:
    before = ta.processes()
    for spawn in (ta.spawn, ta.spawn_link, ta.spawn_monitor, ta.spawn_opt):
        with pytest.raises(TypeError, match="coroutine function"):
            spawn(fn)
    assert ta.processes() == before


@pytest.mark.parametrize("flag", ["yes", 1, None, "false"])
def test_trap_exit_takes_a_bool(flag: Any) -> None:
    with pytest.raises(TypeError, match="trap_exit"):
        ta.trap_exit(flag)
    with pytest.raises(TypeError, match="trap_exit"):
        ta.spawn_opt(echo, trap_exit=flag)
    assert ta.trap_exit(False) is False  # unchanged


def test_pid_is_immutable_hashable_ordered_picklable() -> None:
    a = ta.spawn(echo)
    b = ta.spawn(echo)
    assert a != b
    assert a < b or b < a
    assert sorted([b, a]) == sorted([a, b])
    assert len({a, b, a}) == 2
    assert pickle.loads(pickle.dumps(a)) == a
    assert hash(pickle.loads(pickle.dumps(a))) == hash(a)
    assert repr(a) == f"<Pid {os.getpid()}.{repr(a).split('.')[1]}"
    assert a.address.startswith(b"\0ta-%d-" % os.getpid())
    with pytest.raises(AttributeError):
        a.x = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        ta.Pid()
    for pid in (a, b):
        ta.send(pid, "stop")


def test_refs_are_unique_hashable_picklable() -> None:
    refs = [ta.make_ref() for _ in range(100)]
    assert len(set(refs)) == 100
    assert pickle.loads(pickle.dumps(refs[0])) == refs[0]
    assert refs[0] != refs[1]
    assert repr(refs[0]).startswith("<Ref ")


def test_is_alive_processes_info() -> None:
    pid = ta.spawn(echo)
    assert ta.is_alive(pid)
    assert pid in ta.processes()
    assert ta.self() in ta.processes()  # the adopted main thread
    # Wait until it is blocked in receive: a round trip, then poll status.
    ta.send(pid, (ta.self(), "ready?"))
    assert ta.receive(timeout=5) == "ready?"
    info = ta.info(pid)
    assert info is not None
    assert info["function"] == "tests.helpers.echo"
    assert info["name"] is None
    assert info["status"] in ("running", "waiting")
    assert info["message_queue_len"] == 0
    assert info["links"] == [] and info["monitors"] == [] and info["monitored_by"] == []
    assert info["trap_exit"] is False
    assert isinstance(info["thread_id"], int)
    ta.send(pid, "stop")
    wait_dead(pid)
    assert ta.info(pid) is None
    assert pid not in ta.processes()


def test_status_waiting_while_in_receive() -> None:
    me = ta.self()

    def waiter() -> None:
        ta.send(me, "about to wait")
        ta.receive("go")

    pid = ta.spawn(waiter)
    ta.receive("about to wait", timeout=5)
    while ta.info(pid)["status"] != "waiting":  # type: ignore[index]
        ta.receive(timeout=0.001, default=None)
    ta.send(pid, "go")
    wait_dead(pid)


def test_message_queue_len_counts_waiting_messages() -> None:
    gate = threading.Event()
    pid = ta.spawn(lambda: (gate.wait(), ta.receive()))
    for i in range(30):  # more than the socket holds
        ta.send(pid, i)
    assert ta.info(pid)["message_queue_len"] == 30  # type: ignore[index]
    gate.set()
    wait_dead(pid)


def test_adopted_thread_can_send_and_receive_and_is_cleaned_up() -> None:
    results: list[Any] = []
    main = ta.self()

    def app_thread() -> None:
        me = ta.self()
        ta.send(main, ("hello from", me))
        results.append(ta.receive(timeout=5))

    t = threading.Thread(target=app_thread)
    t.start()
    _, pid = ta.receive(("hello from", ta.Pid), timeout=5)
    assert ta.info(pid)["function"].endswith("app_thread")  # type: ignore[index]
    ta.send(pid, "reply")
    t.join()
    assert results == ["reply"]
    assert not ta.is_alive(pid)  # its end ended the actor
    assert pid not in ta.processes()


def test_crash_is_logged_with_traceback(logs: list[dict[str, Any]]) -> None:
    def crasher() -> None:
        raise ValueError("boom")

    pid = ta.spawn(crasher)
    wait_dead(pid)
    reports = [e for e in logs if e["event"] == "crash_report"]
    assert len(reports) == 1
    assert reports[0]["log_level"] == "error"
    assert reports[0]["pid"] == repr(pid)
    assert isinstance(reports[0]["exc_info"], ValueError)


def test_exit_ends_actor_without_crash_report(logs: list[dict[str, Any]]) -> None:
    me = ta.self()

    def quitter() -> None:
        try:
            ta.exit("done")
        except Exception:  # Exit is a BaseException: not swallowed here
            ta.send(me, "swallowed")
        ta.send(me, "not reached")

    pid = ta.spawn(quitter)
    wait_dead(pid)
    assert ta.receive(timeout=0, default=None) is None
    assert not [e for e in logs if e["event"] == "crash_report"]
    assert issubclass(ta.Exit, BaseException) and not issubclass(ta.Exit, Exception)
    assert ta.Exit("x").reason == "x"


def test_thousand_actors_spawned_and_ended_leave_nothing() -> None:
    me = ta.self()
    fds = open_fds()
    pids = [ta.spawn(ta.send, me, i) for i in range(1_000)]
    assert sorted(ta.receive(timeout=10) for _ in range(1_000)) == list(range(1_000))
    for pid in pids:
        wait_dead(pid)
    # The main thread's own actor is all that is left of the node.
    assert ta.processes() == [me]
    assert {os.readlink(f"/proc/self/fd/{fd}") for fd in open_fds() - fds} == set()
    assert len(node_sockets()) == 2  # ours and the monitor thread's


def test_shutdown_ends_waiting_and_busy_actors_and_node_restarts() -> None:
    me = ta.self()
    first_prefix = me.address.rsplit(b"-", 1)[0]
    spinning = threading.Event()

    def spinner() -> None:
        spinning.set()
        x = 0
        while True:
            x += 1

    waiter = ta.spawn(echo)
    spinner_pid = ta.spawn(spinner)
    spinning.wait()
    start = time.monotonic()
    ta.shutdown(timeout=5)
    assert time.monotonic() - start < 5  # both ended on the shutdown exit
    assert node_sockets() == []
    assert not ta.is_alive(waiter) and not ta.is_alive(spinner_pid)
    # A runtime call starts a new node, with a new address prefix.
    new_me = ta.self()
    assert new_me != me
    assert new_me.address.rsplit(b"-", 1)[0] != first_prefix
    pid = ta.spawn(echo)
    ta.send(pid, (new_me, "works"))
    assert ta.receive(timeout=5) == "works"
    ta.send(pid, "stop")


def test_shutdown_twice_and_without_node_is_harmless() -> None:
    ta.shutdown()
    ta.shutdown()


def test_spawned_actor_can_spawn() -> None:
    me = ta.self()

    def parent() -> None:
        child = ta.spawn(ta.send, me, "from child")
        ta.send(me, ("child", child))

    ta.spawn(parent)
    got = [ta.receive(timeout=5) for _ in range(2)]
    assert "from child" in got


def test_shutdown_racing_actors_that_are_ending() -> None:
    # Exits injected while actors return on their own must never escape the
    # runner (pytest turns an exception in a thread into an error here).
    for _ in range(20):
        me = ta.self()
        for i in range(50):
            ta.spawn(ta.send, me, i)
        ta.shutdown(timeout=5)
    assert node_sockets() == []


def test_interpreter_exit_stops_the_node() -> None:
    import subprocess
    import sys

    script = (
        "import threadactors as ta\n"
        "def waiter():\n"
        "    ta.receive()\n"
        "def spinner():\n"
        "    while True: pass\n"
        "ta.spawn(waiter); ta.spawn(spinner)\n"
        "print('bye', flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "bye"
