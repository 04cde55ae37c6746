"""Links, monitors and exit signals: SPEC §4."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from typing import Any

import pytest

import threadactors as ta

from .signal_helpers import down_of, exit_signal_from, idle, report_trapped


def start_linked_pair(partner_body: Any, trapping: bool) -> tuple[ta.Pid, ta.Ref, ta.Pid]:
    """A watched actor linked to a partner; returns (watched, its monitor, partner)."""
    me = ta.self()

    def watched(partner_args: tuple[Any, ...]) -> None:
        ta.trap_exit(trapping)
        partner = ta.spawn_link(partner_body, *partner_args)
        ta.send(me, ("partner", partner))
        while True:
            msg = ta.receive()
            ta.send(me, ("got", msg))

    pid, ref = ta.spawn_monitor(watched, ())
    _, partner = ta.receive(("partner", ta.Pid), timeout=10)
    return pid, ref, partner


def ender(how: str) -> None:
    """Wait for "go", then end the way ``how`` says."""
    ta.receive("go")
    if how == "return":
        return
    if how == "raise":
        raise ValueError("crash")
    ta.exit(how)


# -- the reception table, row by row --------------------------------------


@pytest.mark.parametrize(
    ("how", "reason"),
    [("return", "normal"), ("kill", "kill"), ("boom", "boom")],
)
@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_link_signal_table(how: str, reason: str, trapping: bool) -> None:
    me = ta.self()

    def partner() -> None:
        ender(how)

    pid, ref, p = start_linked_pair(partner, trapping)
    ta.send(p, "go")
    if trapping:
        # Any reason, "kill" through a link included, arrives as a message.
        assert ta.receive(("got", ta.ExitSignal), timeout=10) == ("got", ta.ExitSignal(p, reason))
        assert ta.is_alive(pid)
        ta.exit(pid, "kill")
        assert down_of(ref) == "killed"
    elif reason == "normal":
        # Ignored: still alive and answering.
        probe = ta.make_ref()
        ta.send(pid, probe)
        assert ta.receive(("got", probe), timeout=10) == ("got", probe)
        assert ta.is_alive(pid)
        ta.exit(pid, "kill")
        assert down_of(ref) == "killed"
    else:
        # Dies with the partner's reason: "kill" through a link stays "kill".
        assert down_of(ref) == reason
    assert me == ta.self()


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_linked_partner_crash(trapping: bool) -> None:
    def partner() -> None:
        ender("raise")

    pid, ref, p = start_linked_pair(partner, trapping)
    ta.send(p, "go")
    if trapping:
        _, msg = ta.receive(("got", ta.ExitSignal), timeout=10)
        assert msg.pid == p and isinstance(msg.reason, ValueError)
        ta.exit(pid, "kill")
        assert down_of(ref) == "killed"
    else:
        reason = down_of(ref)
        assert isinstance(reason, ValueError) and reason.args == ("crash",)


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_partner_killed_gives_killed_through_link(trapping: bool) -> None:
    pid, ref, p = start_linked_pair(idle, trapping)
    ta.exit(p, "kill")
    if trapping:
        assert ta.receive(("got", ta.ExitSignal), timeout=10) == ("got", ta.ExitSignal(p, "killed"))
        ta.exit(pid, "kill")
        assert down_of(ref) == "killed"
    else:
        assert down_of(ref) == "killed"


def spawn_trap_reporter(trapping: bool) -> tuple[ta.Pid, ta.Ref]:
    me = ta.self()

    def body() -> None:
        ta.trap_exit(trapping)
        ta.send(me, "ready")
        while True:
            ta.send(me, ("got", ta.receive()))

    pid, ref = ta.spawn_monitor(body)
    assert ta.receive("ready", timeout=10) == "ready"
    return pid, ref


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_exit2_normal_from_other(trapping: bool) -> None:
    pid, ref = spawn_trap_reporter(trapping)
    ta.exit(pid, "normal")
    if trapping:
        assert ta.receive(("got", ANYMSG), timeout=10) == (
            "got",
            ta.ExitSignal(ta.self(), "normal"),
        )
    else:
        probe = ta.make_ref()
        ta.send(pid, probe)
        assert ta.receive(("got", ANYMSG), timeout=10) == ("got", probe)  # ignored
    ta.exit(pid, "kill")
    assert down_of(ref) == "killed"


ANYMSG = ta.ANY


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_exit2_kill_is_untrappable(trapping: bool) -> None:
    pid, ref = spawn_trap_reporter(trapping)
    ta.exit(pid, "kill")
    assert not ta.is_alive(pid)  # as soon as exit returns
    assert down_of(ref) == "killed"


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_exit2_other_reason(trapping: bool) -> None:
    pid, ref = spawn_trap_reporter(trapping)
    ta.exit(pid, "bye")
    if trapping:
        assert ta.receive(("got", ANYMSG), timeout=10) == ("got", ta.ExitSignal(ta.self(), "bye"))
        ta.exit(pid, "kill")
        assert down_of(ref) == "killed"
    else:
        assert down_of(ref) == "bye"


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_exit_self_normal(trapping: bool) -> None:
    me = ta.self()

    def body() -> None:
        ta.trap_exit(trapping)
        ta.exit(ta.self(), "normal")
        ta.send(me, ("after", ta.receive(timeout=5)))
        idle()

    pid, ref = ta.spawn_monitor(body)
    if trapping:
        assert ta.receive(("after", ANYMSG), timeout=10) == ("after", ta.ExitSignal(pid, "normal"))
        ta.exit(pid, "kill")
        assert down_of(ref) == "killed"
    else:
        assert down_of(ref) == "normal"
        assert ta.receive(timeout=0, default=None) is None


@pytest.mark.parametrize("trapping", [False, True], ids=["plain", "trapping"])
def test_exit_self_kill_and_other_never_returns(trapping: bool) -> None:
    me = ta.self()

    def body(reason: str) -> None:
        ta.trap_exit(trapping)
        try:
            ta.exit(ta.self(), reason)
        except Exception:
            pass
        if reason == "kill" or not trapping:
            ta.send(me, "returned")  # must not happen

    _, ref = ta.spawn_monitor(body, "kill")
    assert down_of(ref) == "killed"
    _, ref = ta.spawn_monitor(body, "die")
    assert down_of(ref) == ("normal" if trapping else "die")
    assert ta.receive("returned", timeout=0, default=None) is None


def test_link_to_dead_pid() -> None:
    pid, ref = ta.spawn_monitor(lambda: None)
    assert down_of(ref) == "normal"
    with pytest.raises(ta.NoProc):
        ta.link(pid)
    assert ta.trap_exit(True) is False
    ta.link(pid)
    assert exit_signal_from(pid) == "noproc"
    assert ta.trap_exit(False) is True


def test_monitor_dead_pid_gives_noproc_down() -> None:
    pid, ref = ta.spawn_monitor(lambda: None)
    assert down_of(ref) == "normal"
    ref2 = ta.monitor(pid)
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref2, pid, "noproc")


# -- properties of links and monitors --------------------------------------


def test_spawn_link_and_spawn_monitor_are_atomic() -> None:
    for _ in range(50):
        _, ref = ta.spawn_monitor(ta.exit, "early")
        assert down_of(ref) == "early"
    me = ta.self()

    def parent() -> None:
        ta.trap_exit(True)
        child = ta.spawn_link(ta.exit, "early")
        ta.send(me, ta.receive(ta.ExitSignal, timeout=10) == ta.ExitSignal(child, "early"))

    for _ in range(20):
        ta.spawn(parent)
        assert ta.receive(bool, timeout=10) is True


def test_each_monitor_fires_once_and_monitor_self_never() -> None:
    pid = ta.spawn(idle)
    refs = [ta.monitor(pid) for _ in range(3)]
    self_ref = ta.monitor(ta.self())
    assert len(set(refs)) == 3
    ta.exit(pid, "stop")
    assert sorted(down_of(ref) for ref in refs) == ["stop"] * 3
    assert ta.receive(ta.Down, timeout=0, default=None) is None
    ta.demonitor(self_ref)


def test_info_shows_links_and_monitors() -> None:
    pid = ta.spawn(idle)
    ta.link(pid)
    ref = ta.monitor(pid)
    me = ta.self()
    # The monitor thread takes requests in order: once it sends this Down it
    # has recorded the link and the monitor above.
    _, probe = ta.spawn_monitor(lambda: None)
    down_of(probe)
    info = ta.info(pid)
    assert info is not None
    assert info["links"] == [me]
    assert info["monitored_by"] == [me]
    mine = ta.info(me)
    assert mine is not None
    assert pid in mine["links"] and pid in mine["monitors"]
    ta.unlink(pid)
    ta.demonitor(ref)
    ta.exit(pid, "kill")


def test_unlink_before_partner_dies_no_signal() -> None:
    me = ta.self()

    def body() -> None:
        partner = ta.spawn_link(ender, "boom")
        ta.unlink(partner)
        pref = ta.monitor(partner)
        ta.send(partner, "go")
        ta.send(me, ("partner down", down_of(pref)))
        ta.send(me, ("still here", ta.self()))
        idle()

    pid, ref = ta.spawn_monitor(body)
    assert ta.receive(("partner down", ANYMSG), timeout=10) == ("partner down", "boom")
    assert ta.receive(("still here", ta.Pid), timeout=10) == ("still here", pid)
    assert ta.is_alive(pid)
    ta.exit(pid, "kill")
    assert down_of(ref) == "killed"


def test_unlink_is_idempotent_and_link_self_does_nothing() -> None:
    ta.link(ta.self())
    pid = ta.spawn(idle)
    ta.unlink(pid)
    ta.link(pid)
    ta.link(pid)
    ta.unlink(pid)
    ta.unlink(pid)
    ref = ta.monitor(pid)
    ta.exit(pid, "bye")
    assert down_of(ref) == "bye"
    assert ta.is_alive(ta.self())


def test_demonitor_flush_after_target_died_leaves_no_down() -> None:
    pid, ref = ta.spawn_monitor(lambda: None)
    other_ref = ta.monitor(pid)
    # Wait until the Downs are in the mailbox: the second one tells us.
    assert ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == other_ref, timeout=10)
    ta.demonitor(ref, flush=True)
    assert ta.receive(ta.Down, timeout=0, default=None) is None


def test_demonitor_before_death_no_down() -> None:
    pid = ta.spawn(idle)
    ref = ta.monitor(pid)
    ta.demonitor(ref)
    check = ta.monitor(pid)
    ta.exit(pid, "bye")
    assert down_of(check) == "bye"
    assert ta.receive(ta.Down, timeout=0, default=None) is None
    ta.demonitor(ref)  # spent: harmless
    ta.demonitor(ta.make_ref(), flush=True)  # unknown: harmless


def test_messages_before_end_arrive_before_down_and_name_released() -> None:
    me = ta.self()

    def talker() -> None:
        ta.register("talker")
        for i in range(100):
            ta.send(me, ("msg", i))

    pid, ref = ta.spawn_monitor(talker)
    down = ta.receive(ta.Down, timeout=10)
    assert down == ta.Down(ref, pid, "normal")
    # Every message it sent is already here, and its name is free.
    assert [ta.receive(("msg", int), timeout=0)[1] for _ in range(100)] == list(range(100))
    assert ta.whereis("talker") is None
    ta.register("talker")


def test_cleanup_runs_before_end_is_announced() -> None:
    me = ta.self()

    def body() -> None:
        try:
            ta.send(me, "ready")
            idle()
        finally:
            ta.send(me, "cleaned up")

    pid, ref = ta.spawn_monitor(body)
    # Inside its try first: an exit that comes before its first line ends it
    # there, with nothing to clean up (the BEAM allows that too).
    ta.receive("ready", timeout=10)
    ta.exit(pid, "stop")
    assert ta.receive(timeout=10) == "cleaned up"  # before the Down
    assert down_of(ref) == "stop"


def test_first_exit_reason_wins() -> None:
    me = ta.self()

    def body() -> None:
        try:
            ta.send(me, "ready")
            idle()
        finally:
            ta.send(me, "unwinding")
            ta.receive("go on")
            raise RuntimeError("cleanup failed")

    pid, ref = ta.spawn_monitor(body)
    ta.receive("ready", timeout=10)
    ta.exit(pid, "first")
    ta.receive("unwinding", timeout=10)
    ta.exit(pid, "second")  # ignored: already exiting
    ta.send(pid, "go on")
    assert down_of(ref) == "first"


def test_an_exit_raised_at_a_runtime_call_is_not_raised_again_in_its_cleanup() -> None:
    # The exit signal finds it in a C call (armed: it is outside the
    # runtime); it comes back straight into a runtime call on the same line,
    # with no line start between, so the call raises the exit. The armed
    # interruption must not raise it a second time at the cleanup's first line.
    me = ta.self()
    r, w = os.pipe()

    def body() -> None:
        try:
            ta.send(me, "ready")
            os.read(r, 1) and ta.send(me, "not reached")  # one line
        finally:
            ta.send(me, "unwinding")

    try:
        pid, ref = ta.spawn_monitor(body)
        ta.receive("ready", timeout=10)
        ta.exit(pid, "stop")
        os.write(w, b"x")
        assert ta.receive("unwinding", ta.Down, timeout=10) == "unwinding"
        assert down_of(ref) == "stop"
    finally:
        os.close(r)
        os.close(w)


def test_kill_while_exiting_ends_at_once() -> None:
    me = ta.self()
    release = threading.Event()

    def body() -> None:
        try:
            ta.send(me, "ready")  # inside the try: an exit before it skips it
            idle()
        finally:
            ta.send(me, "unwinding")
            release.wait()  # stuck in cleanup
            ta.send(me, "stray")  # the killed thread's runtime call

    pid, ref = ta.spawn_monitor(body)
    ta.receive("ready", timeout=10)
    ta.exit(pid, "stop")
    assert ta.receive(timeout=10) == "unwinding"
    ta.exit(pid, "kill")
    assert not ta.is_alive(pid)
    assert down_of(ref) == "killed"
    release.set()
    assert ta.receive("stray", timeout=0.2, default=None) is None


def test_killed_actor_stray_calls_raise_killed() -> None:
    me = ta.self()
    release = threading.Event()
    finished = threading.Event()
    seen: list[Any] = []

    def body() -> None:
        try:
            try:
                ta.send(me, "ready")
                release.wait()  # in a C call: the kill cannot interrupt it
            except BaseException as e:  # the kill, swallowed by careless code
                seen.append(e)
            try:
                ta.send(me, "stray")  # dead: its runtime calls raise
            except ta.Exit as e:
                seen.append(e.reason)
        finally:
            finished.set()

    pid, ref = ta.spawn_monitor(body)
    ta.receive("ready", timeout=10)
    ta.exit(pid, "kill")
    assert not ta.is_alive(pid)
    assert down_of(ref) == "killed"
    release.set()
    assert finished.wait(10)
    assert isinstance(seen[0], ta.Exit) and seen[0].reason == "killed"
    assert seen[1] == "killed"
    assert ta.receive("stray", timeout=0, default=None) is None


@pytest.mark.parametrize("reason", ["kill", "shutdown"])
def test_spinning_actor_is_stopped(reason: str) -> None:
    spinning = threading.Event()

    def spinner() -> None:
        spinning.set()
        x = 0
        while True:
            x += 1

    pid, ref = ta.spawn_monitor(spinner)
    spinning.wait()
    ta.exit(pid, reason)
    assert down_of(ref, timeout=10) == ("killed" if reason == "kill" else reason)


def test_chain_of_thousand_linked_actors() -> None:
    me = ta.self()

    def link_next(remaining: int) -> None:
        if remaining > 1:
            ta.spawn_link(link_next, remaining - 1)
        else:
            ta.send(me, "chain complete")
        ta.send(me, ("member", ta.self()))
        idle()

    first = ta.spawn(link_next, 1_000)
    assert ta.receive("chain complete", timeout=60) == "chain complete"
    members = [ta.receive(("member", ta.Pid), timeout=60)[1] for _ in range(1_000)]
    assert first in members and len(set(members)) == 1_000
    refs = {ta.monitor(pid): pid for pid in members}
    ta.exit(first, "kill")
    reasons = [down_of_any(refs) for _ in range(1_000)]
    # The killed end: "killed"; passed on through every link as "killed".
    assert reasons == ["killed"] * 1_000
    assert ta.processes() == [me]


def down_of_any(refs: dict[ta.Ref, ta.Pid]) -> Any:
    msg = ta.receive(ta.Down, timeout=30)
    assert refs.pop(msg.ref) == msg.pid
    return msg.reason


def test_exit_in_tight_send_receive_loop_200_rounds() -> None:
    me = ta.self()
    rng = random.Random(1234)

    def looper(peer: ta.Pid) -> None:
        n = 0
        while True:
            ta.send(peer, ("ping", ta.self(), n))
            ta.receive(("pong", n))
            n += 1

    def counter() -> None:
        # Another sender's stream to the main thread, never disturbed.
        for i in range(200):
            ta.send(me, ("count", i))

    echo_pid = ta.spawn(pong_server)
    ta.spawn(counter)
    for round_ in range(200):
        pid, ref = ta.spawn_monitor(looper, echo_pid)
        for _ in range(rng.randrange(0, 30)):
            ta.send(me, ("noise",))
        reason = rng.choice(["kill", "stop", ("shutdown", round_)])
        ta.exit(pid, reason)
        assert down_of(ref) == ("killed" if reason == "kill" else reason)
    # No lock of the runtime is left held by an interrupted actor...
    from threadactors._node import get_node

    node = get_node()
    for lock in (node.registry._lock, node.monitor.mailbox.lock, ta_mailbox_lock(echo_pid)):
        assert lock.acquire(blocking=False), "a runtime lock is still held"
        lock.release()
    # ...and it still works for everyone: the server answers, nothing of
    # the counter's stream was lost or reordered.
    ta.send(echo_pid, ("ping", me, -1))
    assert ta.receive(("pong", -1), timeout=10) == ("pong", -1)
    assert [ta.receive(("count", int), timeout=10)[1] for _ in range(200)] == list(range(200))
    ta.send(echo_pid, "stop")


def ta_mailbox_lock(pid: ta.Pid) -> Any:
    from threadactors._node import get_node

    return get_node().actors[pid].mailbox.lock


def pong_server() -> None:
    while True:
        match ta.receive():
            case ("ping", sender, n):
                ta.send(sender, ("pong", n))
            case "stop":
                return


def test_adopted_thread_gets_exit_at_next_runtime_call() -> None:
    me = ta.self()
    got: list[Any] = []
    proceed = threading.Event()

    sent = threading.Event()

    def app_thread() -> None:
        ta.send(me, ("adopted", ta.self()))
        sent.set()  # out of the runtime call: an exit now waits for the next
        proceed.wait()
        try:
            ta.send(me, "never")
        except ta.Exit as e:
            got.append(e.reason)
        got.append(ta.self())  # a new actor now

    t = threading.Thread(target=app_thread)
    t.start()
    _, pid = ta.receive(("adopted", ta.Pid), timeout=10)
    assert sent.wait(10)
    ref = ta.monitor(pid)
    ta.exit(pid, "stop")
    proceed.set()
    t.join()
    assert got[0] == "stop"
    assert got[1] != pid
    assert down_of(ref) == "stop"
    assert ta.receive("never", timeout=0, default=None) is None


def test_exit_signal_wakes_receive_at_once() -> None:
    pid, ref = ta.spawn_monitor(idle)
    ta.exit(pid, "wake up")
    assert down_of(ref, timeout=5) == "wake up"


def test_misuse() -> None:
    with pytest.raises(TypeError):
        ta.link("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ta.monitor(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ta.demonitor("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ta.exit("x", "y", "z")  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        ta.exit("x", "y")  # type: ignore[call-overload]


def test_exit_to_dead_pid_is_harmless() -> None:
    pid, ref = ta.spawn_monitor(lambda: None)
    down_of(ref)
    ta.exit(pid, "kill")
    ta.exit(pid, "bye")


def test_trap_exit_report() -> None:
    me = ta.self()
    pid = ta.spawn(report_trapped, me)
    ta.receive(("ready", ta.Pid), timeout=10)
    ta.exit(pid, "hello")
    assert ta.receive(("trapped", ANYMSG), timeout=10) == ("trapped", ta.ExitSignal(me, "hello"))
    ta.exit(pid, "kill")


def test_shutdown_with_actor_stuck_in_sleep_returns_in_time() -> None:
    script = (
        "import logging, time, structlog, threadactors as ta\n"
        "structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))\n"
        "def stuck():\n"
        "    time.sleep(30)\n"  # sleep-ok: the stuck actor the test is about
        "me = ta.self()\n"
        "ta.spawn(ta.send, me, 'up'); ta.receive('up')\n"
        "ta.spawn(stuck)\n"
        "t = time.monotonic(); ta.shutdown(timeout=1.0); took = time.monotonic() - t\n"
        "pid = ta.spawn(ta.send, ta.self(), 'new node')\n"
        "print(f'RESULT {took:.2f} {ta.receive(timeout=5)}', flush=True)\n"
        "import os; os._exit(0)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, out.stdout + out.stderr
    line = lines[0]
    _, took, rest = line.split(" ", 2)
    assert rest == "new node"
    assert 1.0 <= float(took) < 3.0


def test_exit_events_are_logged(logs: list[dict[str, Any]]) -> None:
    _, ref = ta.spawn_monitor(lambda: None)
    down_of(ref)
    pid, ref = ta.spawn_monitor(idle)
    ta.exit(pid, "bad luck")
    down_of(ref)
    exits = [(e["log_level"], e["reason"]) for e in logs if e["event"] == "actor_exit"]
    assert ("debug", "normal") in exits
    assert ("warning", "'bad luck'") in exits
    crasher, ref = ta.spawn_monitor(ender, "raise")
    ta.send(crasher, "go")
    down_of(ref)
    assert [e["log_level"] for e in logs if e["event"] == "crash_report"] == ["error"]
    assert ("warning", repr(ValueError("crash"))) not in [
        (e["log_level"], e["reason"]) for e in logs if e["event"] == "actor_exit"
    ]
