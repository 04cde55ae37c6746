"""Nodes in several OS processes of one user: named nodes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator

import pytest

import threadactors as ta

from . import node_helpers as h


@pytest.fixture
def here() -> str:
    name = h.unique("test-parent")
    ta.start(name)
    return name


@pytest.fixture
def child(here: str) -> Iterator[h.ChildNode]:
    node = h.ChildNode(h.unique("test-child"))
    yield node
    node.close()


def test_named_send_and_ping_pong_between_two_processes(child: h.ChildNode) -> None:
    me = ta.self()
    ta.send(("echo", child.name), (me, "hello"))
    assert ta.receive(timeout=10) == "hello"
    echo = h.remote_whereis(child.name, "echo")
    assert echo.os_pid == child.proc.pid
    for i in range(1_000):
        ta.send(echo, (me, ("pong", i)))
        assert ta.receive(timeout=10) == ("pong", i)


def test_a_big_message_crosses_as_a_memfd(child: h.ChildNode) -> None:
    echo = h.remote_whereis(child.name, "echo")
    blob = bytes(range(256)) * 4096 * 4  # 4 MiB
    ta.send(echo, (ta.self(), blob))
    assert ta.receive(bytes, timeout=30) == blob


TAKEN = """
import sys
import threadactors as ta
try:
    ta.start(sys.argv[1])
except ta.NameTaken:
    sys.stderr.write("taken")
ta.shutdown()
"""


def test_node_name_is_unique_on_the_host(here: str) -> None:
    assert ta.node() == here
    out = subprocess.run(
        [sys.executable, "-c", TAKEN, here], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stderr == "taken"
    with pytest.raises(ValueError):
        ta.start("another-name")
    ta.start(here)  # the same name again: harmless
    with pytest.raises(ValueError):
        ta.start("no spaces")


def test_nodes_lists_the_other_named_nodes(child: h.ChildNode, here: str) -> None:
    assert child.name in ta.nodes()
    assert here not in ta.nodes()


def test_remote_call_to_a_gen_server(child: h.ChildNode) -> None:
    counter = h.remote_whereis(child.name, "counter")
    assert ta.call(counter, 5) == 5
    assert ta.call(counter, 2) == 7


def test_spawn_on_another_node(child: h.ChildNode) -> None:
    pid = ta.spawn_on(child.name, h.echo)
    assert pid.os_pid == child.proc.pid
    ta.send(pid, (ta.self(), "spawned there"))
    assert ta.receive(timeout=10) == "spawned there"
    ta.send(pid, "stop")
    with pytest.raises(ta.SpawnError):
        ta.spawn_on("no-such-node-anywhere", h.echo)


def test_links_and_monitors_across_nodes_fire_with_the_real_reason(child: h.ChildNode) -> None:
    ta.trap_exit(True)
    pid = ta.spawn_on(child.name, h.echo)
    ta.link(pid)
    ref = ta.monitor(pid)
    ta.send(pid, "stop")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "normal")
    assert ta.receive(ta.ExitSignal, timeout=10) == ta.ExitSignal(pid, "normal")


def _linker(to: ta.Pid, report_to: ta.Pid) -> None:
    ta.link(to)
    ta.send(report_to, "linked")
    ta.receive("never")


def test_a_remote_actor_linked_to_ours_dies_with_it(child: h.ChildNode) -> None:
    remote = ta.spawn_on(child.name, h.echo)
    ref = ta.monitor(remote)
    local = ta.spawn(_linker, remote, ta.self())
    assert ta.receive("linked", timeout=10) == "linked"
    # The link request left before "linked" was sent; our end's signal
    # follows it to the other node (one queue per node when they wait).
    ta.exit(local, "kill")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, remote, "killed")


def test_link_message_sigkill_never_loses_the_exit_signal(here: str) -> None:
    # Each of a node's actors links to us, then sends us a message; then its
    # process is SIGKILLed. The link went first, so a message that arrived
    # proves the link was in place: its ``noconnection`` must follow, every
    # time (SPEC §8). (What was still in flight may be lost, as on the BEAM.)
    ta.trap_exit(True)
    ta.register("sink", ta.self())
    ta.spawn_opt(h.directory, name="directory")
    nodes, count, heard = 8, 25, 0
    for index in range(nodes):
        proc = h.start_linkers(here, index, count)
        assert proc.stdin is not None and proc.stdout is not None
        assert proc.stdout.readline() == "up\n"
        ta.monitor_node(h.unique(f"linkers{index}"))
        proc.stdin.write("go\n")
        proc.stdin.flush()
        said: set[ta.Pid] = set()
        ended: set[ta.Pid] = set()
        while True:
            got = ta.receive(timeout=30)
            if isinstance(got, ta.NodeDown):
                break
            if isinstance(got, ta.ExitSignal):
                assert got.reason == "noconnection", got
                ended.add(got.pid)
            else:
                assert got[0] == "hello" and got[2] not in ended, (got, index)
                said.add(got[2])
        assert said <= ended, (index, said - ended)
        assert ta.receive(timeout=0, default=None) is None
        assert proc.wait(timeout=30) == -signal.SIGKILL
        proc.stdin.close()
        proc.stdout.close()
        heard += len(said)
    assert heard > 0


def test_exit_signals_and_messages_from_another_node_arrive_in_order(
    child: h.ChildNode,
) -> None:
    ta.trap_exit(True)
    count = 500
    pid = ta.spawn_on(child.name, h.signals_then_messages, ta.self(), count)
    ref = ta.monitor(pid)
    ta.send(pid, "go")
    got = [ta.receive(timeout=30) for _ in range(2 * count)]
    expected: list[object] = []
    for i in range(count):
        expected += [ta.ExitSignal(pid, ("signal", i)), ("message", i)]
    assert got == expected
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "normal")


def test_sigkill_of_a_node_fires_links_and_monitors_with_noconnection(
    child: h.ChildNode,
) -> None:
    ta.trap_exit(True)
    echo = h.remote_whereis(child.name, "echo")
    ta.link(echo)
    ref = ta.monitor(echo)
    ta.monitor_node(child.name)
    # A round trip: the link and monitor are in place on the other side.
    ta.send(echo, (ta.self(), "ready?"))
    assert ta.receive("ready?", timeout=10) == "ready?"
    start = time.monotonic()
    child.kill()
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, echo, "noconnection")
    assert ta.receive(ta.ExitSignal, timeout=10) == ta.ExitSignal(echo, "noconnection")
    assert ta.receive(ta.NodeDown, timeout=10) == ta.NodeDown(child.name)
    elapsed = time.monotonic() - start
    assert elapsed < 0.2, elapsed


def test_monitor_of_a_node_that_is_not_up(here: str) -> None:
    ta.monitor_node("no-such-node-anywhere")
    assert ta.receive(ta.NodeDown, timeout=10) == ta.NodeDown("no-such-node-anywhere")


def _sink(report_to: ta.Pid, senders: int, count: int) -> None:
    expected = [0] * senders
    for _ in range(senders * count):
        index, i = ta.receive()
        assert i == expected[index], (index, i, expected[index])  # per-sender order
        expected[index] += 1
    ta.send(report_to, ("all in order", expected))
    assert ta.receive(timeout=0.5, default=None) is None  # nothing twice


def test_eight_processes_blast_one_receiver_in_a_third(here: str) -> None:
    senders, count = 8, 10_000
    ta.spawn_opt(h.directory, name="directory")
    sink, ref = ta.spawn_opt(_sink, (ta.self(), senders, count), name="sink", monitor=True)
    procs = h.start_blasters(here, count, senders)
    try:
        got = ta.receive(("all in order", list), timeout=120)
        assert got == ("all in order", [count] * senders)
        assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, sink, "normal")
    finally:
        for proc in procs:
            assert proc.wait(timeout=60) == 0


def test_ps_lists_two_live_nodes_with_their_registered_actors(
    child: h.ChildNode, here: str
) -> None:
    ta.spawn_opt(h.echo, name="parent_echo")
    out = subprocess.run(
        [sys.executable, "-m", "threadactors", "ps"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=h.ROOT,
    ).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["node", "pid", "name", "status", "mailbox", "function"]
    mine = [line for line in lines if line.startswith(here + " ")]
    theirs = [line for line in lines if line.startswith(child.name + " ")]
    assert any(" parent_echo " in line and "tests.helpers.echo" in line for line in mine), out
    assert any(" echo " in line and "waiting" in line for line in theirs), out
    assert any(" counter " in line for line in theirs), out


def test_messages_by_name_and_by_pid_from_another_node_arrive_in_order(
    child: h.ChildNode, here: str
) -> None:
    ta.register("sink", ta.self())
    count = 500
    pid = ta.spawn_on(child.name, h.by_name_and_by_pid, "sink", here, ta.self(), count)
    ta.send(pid, "go")
    got = [ta.receive(timeout=30) for _ in range(2 * count)]
    expected: list[object] = []
    for i in range(count):
        expected += [("by name", i), ("by pid", i)]
    assert got == expected


def test_monitor_a_name_on_another_node(child: h.ChildNode) -> None:
    name = ("echo", child.name)
    ref = ta.monitor(name)
    echo = h.remote_whereis(child.name, "echo")
    check = ta.monitor(echo)
    ta.send(name, "stop")
    downs = {ta.receive(ta.Down, timeout=10) for _ in range(2)}
    assert downs == {ta.Down(ref, name, "normal"), ta.Down(check, echo, "normal")}
    # Looked up there, once: not registered (now) is noproc.
    ref = ta.monitor(name)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, name, "noproc")


def test_monitor_a_name_on_a_node_that_dies_or_is_not_up(child: h.ChildNode) -> None:
    name = ("counter", child.name)
    ref = ta.monitor(name)
    demonitored = ta.monitor(name)
    ta.demonitor(demonitored)
    # A round trip behind the monitors: they are in place there.
    assert ta.call(h.remote_whereis(child.name, "counter"), 1) == 1
    child.kill()
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, name, "noconnection")
    nowhere = ("counter", h.unique("no-such-node"))
    ref = ta.monitor(nowhere)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, nowhere, "noconnection")
    assert ta.receive(timeout=0, default=None) is None


def test_monitor_a_name_of_our_own_node_as_a_tuple(here: str) -> None:
    pid = ta.spawn_opt(h.echo, name="mine")
    ref = ta.monitor(("mine", here))
    ta.send(pid, "stop")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, ("mine", here), "normal")


def test_spawn_on_refuses_what_it_cannot_send(child: h.ChildNode) -> None:
    with pytest.raises(TypeError, match="copied by pickling") as info:
        ta.spawn_on(child.name, h.echo, threading.Lock())
    assert info.value.__cause__ is not None
    with pytest.raises(TypeError, match="coroutine function"):
        ta.spawn_on(child.name, h.coroutine_function)


def test_exit_signals_to_another_node(child: h.ChildNode) -> None:
    for reason, expected in (("bye", "bye"), ("kill", "killed")):
        pid = ta.spawn_on(child.name, h.echo)
        ref = ta.monitor(pid)
        ta.exit(pid, "normal")  # ignored: it does not trap exits
        ta.exit(pid, reason)
        assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, expected)


def test_messages_sent_before_an_end_arrive_before_its_down(child: h.ChildNode) -> None:
    # 2,000 messages into our socket (11 datagrams of room): most wait in
    # the other node's outbox when the sender ends; its Down comes after.
    pid = ta.spawn_on(child.name, h.burst, 2_000)
    ref = ta.monitor(pid)
    ta.send(pid, ta.self())
    got = [ta.receive(timeout=30) for _ in range(2_001)]
    assert got[:2_000] == list(range(2_000))
    assert got[2_000] == ta.Down(ref, pid, "normal")


def test_a_reason_whose_class_is_unknown_here_arrives_as_unpicklable(
    child: h.ChildNode,
) -> None:
    ta.trap_exit(True)
    crasher = h.remote_whereis(child.name, "crasher")
    ta.link(crasher)
    ref = ta.monitor(crasher)
    ta.send(crasher, "crash")
    down = ta.receive(ta.Down, timeout=10)
    assert down.ref == ref and isinstance(down.reason, ta.UnpicklableError)
    assert "only the child knows this class" in str(down.reason)
    signal = ta.receive(ta.ExitSignal, timeout=10)
    assert signal.pid == crasher and isinstance(signal.reason, ta.UnpicklableError)


def test_spawn_on_with_arguments_the_other_node_cannot_load(child: h.ChildNode) -> None:
    module = types.ModuleType("ta_known_only_here")
    sys.modules[module.__name__] = module
    try:
        cls = type("Config", (), {"__module__": module.__name__})
        module.Config = cls  # type: ignore[attr-defined]
        with pytest.raises(ta.SpawnError, match="ta_known_only_here"):
            ta.spawn_on(child.name, h.echo, cls())
    finally:
        del sys.modules[module.__name__]


def test_spawn_on_leaves_other_downs_alone(child: h.ChildNode) -> None:
    pid, ref = ta.spawn_monitor(int)
    assert ta.receive(ta.Down, timeout=10).ref == ref  # (known to be waiting next)
    ta.send(ta.self(), ta.Down(ref, pid, "unrelated"))
    remote = ta.spawn_on(child.name, h.echo)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "unrelated")
    ta.send(remote, "stop")


def _requests_processed_there(child: h.ChildNode) -> None:
    """Our monitor thread's earlier requests to ``child`` have been handled
    there: a link to an ended actor goes the same way and answers back."""
    trapping = ta.trap_exit(True)
    gone = ta.spawn_on(child.name, int)
    ref = ta.monitor(gone)
    assert ta.receive(ta.Down, timeout=10).ref == ref
    ta.link(gone)
    assert ta.receive(ta.ExitSignal, timeout=10).pid == gone
    ta.trap_exit(trapping)


def test_a_node_that_stops_while_its_process_lives_is_down_for_others(
    child: h.ChildNode,
) -> None:
    echo = h.remote_whereis(child.name, "echo")
    ref = ta.monitor(echo)
    ta.monitor_node(child.name)
    _requests_processed_there(child)
    child.stop_node()
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, echo, "shutdown")
    assert ta.receive(ta.NodeDown, timeout=10) == ta.NodeDown(child.name)
    assert child.proc.poll() is None  # the process is still there
    assert child.name not in ta.nodes()
    # Down for good: what is set up with it later fires at once.
    ref = ta.monitor(echo)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, echo, "noconnection")
    ta.trap_exit(True)
    ta.link(echo)
    assert ta.receive(ta.ExitSignal, timeout=10) == ta.ExitSignal(echo, "noconnection")


def test_an_unnamed_node_refuses_what_needs_answers_from_other_nodes() -> None:
    other = h.ChildNode(h.unique("test-lonely-peer"))
    try:
        from threadactors._pid import _pid_from_key
        from threadactors._remote import list_nodes

        key = list_nodes()[other.name]
        remote = _pid_from_key(key[0], key[1], 2)
        for attempt in (
            lambda: ta.spawn_on(other.name, h.echo),
            lambda: ta.link(remote),
            lambda: ta.monitor(remote),
            lambda: ta.monitor(("echo", other.name)),
            lambda: ta.monitor_node(other.name),
        ):
            with pytest.raises(ta.ActorError, match=r"ta.start\(name\) first"):
                attempt()
        assert ta.node() is None
    finally:
        other.close()


def _waits_for_go() -> None:
    ta.receive("go")


def test_max_mailbox_holds_against_senders_in_other_processes(child: h.ChildNode) -> None:
    bounded, ref = ta.spawn_opt(_waits_for_go, max_mailbox=5, monitor=True)
    sender = ta.spawn_on(child.name, h.burst, 100)
    ta.send(sender, bounded)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, bounded, "mailbox_overflow")
