"""Supervisor and ChildSpec (SPEC §6)."""

from __future__ import annotations

from typing import Any

import pytest

import threadactors as ta

from .signal_helpers import down_of


class Worker(ta.GenServer):
    """Reports its start and its terminate to the registered "observer"."""

    def init(self, wid: Any, trap: bool = True) -> None:
        self.wid = wid
        ta.trap_exit(trap)
        ta.send("observer", ("started", wid, ta.self()))

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        if request == "crash":
            raise RuntimeError(f"{self.wid} crashed")
        return (self.wid, request)

    def handle_cast(self, msg: Any) -> None:
        if msg == "normal":
            self.stop("normal")
        elif isinstance(msg, tuple) and msg[0] == "exit":
            self.stop(msg[1])

    def terminate(self, reason: Any) -> None:
        ta.send("observer", ("stopped", self.wid, reason))


def spec(wid: Any, **kw: Any) -> ta.ChildSpec:
    return ta.ChildSpec(wid, Worker.start_link, args=(wid,), **kw)


def started(n: int) -> list[tuple[Any, ta.Pid]]:
    return [tuple(ta.receive(("started", ta.ANY, ta.Pid), timeout=10)[1:]) for _ in range(n)]  # type: ignore[misc]


def stopped(n: int) -> list[Any]:
    return [ta.receive(("stopped", ta.ANY, ta.ANY), timeout=10)[1] for _ in range(n)]


@pytest.fixture(autouse=True)
def observer() -> None:
    ta.register("observer")


def nothing_more() -> None:
    assert ta.receive(("started", ta.ANY, ta.ANY), timeout=0.05, default=None) is None
    assert ta.receive(("stopped", ta.ANY, ta.ANY), timeout=0, default=None) is None


def start_sup(strategy: str, n: int = 3, **kw: Any) -> tuple[ta.Pid, dict[Any, ta.Pid]]:
    sup = ta.Supervisor.start(
        [spec(f"w{i}") for i in range(1, n + 1)], strategy=strategy, intensity=10, **kw
    )
    pids = dict(started(n))
    assert list(pids) == [f"w{i}" for i in range(1, n + 1)]  # in list order
    return sup, pids


def crash(pid: ta.Pid) -> None:
    with pytest.raises(ta.CallError):
        ta.call(pid, "crash")


def test_one_for_one_restarts_only_the_crashed() -> None:
    sup, pids = start_sup("one_for_one")
    crash(pids["w2"])
    assert stopped(1) == ["w2"]  # its own terminate, on the crash
    [(wid, new)] = started(1)
    assert wid == "w2" and new != pids["w2"]
    nothing_more()
    children = ta.Supervisor.which_children(sup)
    assert children == [
        ("w3", pids["w3"], "worker"),
        ("w2", new, "worker"),
        ("w1", pids["w1"], "worker"),
    ]
    ta.stop(sup)
    assert stopped(3) == ["w3", "w2", "w1"]  # reverse order


def test_one_for_all_restarts_everyone_in_order() -> None:
    sup, pids = start_sup("one_for_all")
    crash(pids["w2"])
    assert stopped(1) == ["w2"]
    assert stopped(2) == ["w3", "w1"]  # the others, in reverse start order
    again = started(3)
    assert [wid for wid, _ in again] == ["w1", "w2", "w3"]
    assert all(pid != pids[wid] for wid, pid in again)
    nothing_more()
    ta.stop(sup)
    stopped(3)


def test_rest_for_one_restarts_the_rest() -> None:
    sup, pids = start_sup("rest_for_one", n=4)
    crash(pids["w2"])
    assert stopped(1) == ["w2"]
    assert stopped(2) == ["w4", "w3"]
    again = started(3)
    assert [wid for wid, _ in again] == ["w2", "w3", "w4"]
    children = dict((c[0], c[1]) for c in ta.Supervisor.which_children(sup))
    assert children["w1"] == pids["w1"]  # untouched
    nothing_more()
    ta.stop(sup)
    stopped(4)


def test_simple_one_for_one() -> None:
    sup = ta.Supervisor.start(
        [ta.ChildSpec("worker", Worker.start_link, args=())], strategy="simple_one_for_one"
    )
    assert ta.Supervisor.which_children(sup) == []
    a = ta.Supervisor.start_child(sup, "a")
    b = ta.Supervisor.start_child(sup, "b")
    assert dict(started(2)) == {"a": a, "b": b}
    assert ta.call(a, "hi") == ("a", "hi")
    crash(a)
    stopped(1)
    [(wid, a2)] = started(1)
    assert wid == "a" and a2 != a  # restarted with the same extra args
    counts = ta.Supervisor.count_children(sup)
    assert counts == {"specs": 1, "active": 2, "supervisors": 0, "workers": 2}
    ta.Supervisor.terminate_child(sup, b)
    assert stopped(1) == ["b"]
    assert [c[1] for c in ta.Supervisor.which_children(sup)] == [a2]
    ta.stop(sup)
    stopped(1)


def test_intensity_exceeded_stops_supervisor_and_children() -> None:
    me = ta.self()
    sup = ta.Supervisor.start([spec("w1"), spec("w2")], intensity=3, period=5.0)
    ref = ta.monitor(sup)
    pids = dict(started(2))
    current = pids["w1"]
    for _ in range(3):
        crash(current)
        stopped(1)
        [(_, current)] = started(1)
    assert ta.is_alive(sup)  # 3 restarts within the period: allowed
    crash(current)  # the 4th
    assert stopped(1) == ["w1"]
    assert stopped(1) == ["w2"]  # the supervisor stops every child...
    assert down_of(ref) == "shutdown"  # ...and itself, with shutdown
    assert all(not ta.is_alive(p) for p in ta.processes() if p != me)
    nothing_more()


def test_crashes_spread_wider_than_period_never_stop_it() -> None:
    sup = ta.Supervisor.start([spec("w1")], intensity=2, period=0.5)
    [(_, current)] = started(1)
    for _ in range(3):
        for _ in range(2):  # two restarts: within intensity
            crash(current)
            stopped(1)
            [(_, current)] = started(1)
        ta.receive("nothing", timeout=0.6, default=None)  # let the period pass
    assert ta.is_alive(sup)
    ta.stop(sup)
    stopped(1)


@pytest.mark.parametrize(
    ("restart", "reason", "restarted"),
    [
        ("permanent", "normal", True),
        ("permanent", "boom", True),
        ("transient", "normal", False),
        ("transient", "shutdown", False),
        ("transient", ("shutdown", "done"), False),
        ("transient", "boom", True),
        ("temporary", "boom", False),
        ("temporary", "normal", False),
    ],
)
def test_restart_types(restart: str, reason: Any, restarted: bool) -> None:
    sup = ta.Supervisor.start([spec("w", restart=restart)], intensity=5)
    [(_, pid)] = started(1)
    ta.cast(pid, ("exit", reason))
    assert stopped(1) == ["w"]
    if restarted:
        [(wid, new)] = started(1)
        assert wid == "w" and new != pid
    else:
        nothing_more()
        children = ta.Supervisor.which_children(sup)
        assert children == ([] if restart == "temporary" else [("w", None, "worker")])
    ta.stop(sup)


def stubborn(report_to: ta.Pid) -> None:
    """Traps exits and ignores them all."""
    ta.trap_exit(True)
    ta.send(report_to, ("stubborn", ta.self()))
    while True:
        ta.receive()


def test_child_ignoring_shutdown_is_killed_after_its_time() -> None:
    me = ta.self()
    sup = ta.Supervisor.start([ta.ChildSpec("s", ta.spawn_link, args=(stubborn, me), shutdown=0.2)])
    _, child = ta.receive(("stubborn", ta.Pid), timeout=5)
    ref = ta.monitor(child)
    ta.Supervisor.terminate_child(sup, "s")
    assert down_of(ref) == "killed"
    assert ta.Supervisor.which_children(sup) == [("s", None, "worker")]
    assert ta.Supervisor.restart_child(sup, "s") != child
    _, child = ta.receive(("stubborn", ta.Pid), timeout=5)
    ref = ta.monitor(child)
    ta.stop(sup)
    assert down_of(ref) == "killed"


def test_brutal_kill() -> None:
    me = ta.self()
    sup = ta.Supervisor.start(
        [ta.ChildSpec("s", ta.spawn_link, args=(stubborn, me), shutdown="brutal_kill")]
    )
    _, child = ta.receive(("stubborn", ta.Pid), timeout=5)
    ref = ta.monitor(child)
    ta.Supervisor.terminate_child(sup, "s")
    assert down_of(ref) == "killed"
    ta.Supervisor.delete_child(sup, "s")
    assert ta.Supervisor.which_children(sup) == []
    ta.stop(sup)


def test_management_calls_and_errors() -> None:
    sup = ta.Supervisor.start([spec("w1")])
    started(1)
    pid = ta.Supervisor.start_child(sup, spec("w2"))
    assert started(1) == [("w2", pid)]
    with pytest.raises(ValueError):
        ta.Supervisor.start_child(sup, spec("w2"))
    with pytest.raises(ValueError):
        ta.Supervisor.delete_child(sup, "w2")  # running
    with pytest.raises(ValueError):
        ta.Supervisor.restart_child(sup, "w2")  # running
    with pytest.raises(ValueError):
        ta.Supervisor.terminate_child(sup, "nope")
    assert ta.Supervisor.count_children(sup) == {
        "specs": 2,
        "active": 2,
        "supervisors": 0,
        "workers": 2,
    }
    ta.Supervisor.terminate_child(sup, "w2")
    assert stopped(1) == ["w2"]
    ta.Supervisor.delete_child(sup, "w2")
    assert [c[0] for c in ta.Supervisor.which_children(sup)] == ["w1"]
    ta.stop(sup)
    stopped(1)


def test_start_failure_stops_started_children() -> None:
    class Fails(ta.GenServer):
        def init(self) -> None:
            raise ValueError("cannot start")

    with pytest.raises(ta.StartError) as info:
        ta.Supervisor.start([spec("w1"), spec("w2"), ta.ChildSpec("bad", Fails.start_link)])
    assert info.value.reason[:2] == ("failed_to_start_child", "bad")
    started(2)
    assert stopped(2) == ["w2", "w1"]


def test_nested_supervisors_and_name() -> None:
    inner = ta.ChildSpec(
        "inner",
        ta.Supervisor.start_link,
        args=([spec("i1"), spec("i2")],),
        kwargs={"strategy": "one_for_all"},
        type="supervisor",
    )
    assert inner.shutdown == "infinity"
    top = ta.Supervisor.start([spec("t1"), inner], name="top")
    assert ta.whereis("top") == top
    pids = dict(started(3))
    crash(pids["i1"])
    stopped(1)
    assert stopped(1) == ["i2"]
    assert [wid for wid, _ in started(2)] == ["i1", "i2"]
    assert ta.Supervisor.count_children("top") == {
        "specs": 2,
        "active": 2,
        "supervisors": 1,
        "workers": 1,
    }
    ta.stop("top")
    # Reverse order: the inner supervisor (and its children, reversed), then t1.
    assert stopped(3) == ["i2", "i1", "t1"]


def test_crash_storm() -> None:
    me = ta.self()

    def fragile() -> None:
        ta.send(me, "up")
        ta.receive("crash")
        raise RuntimeError("storm")

    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        sup = ta.Supervisor.start(
            [ta.ChildSpec("f", ta.spawn_link, args=(fragile,))], intensity=2_000, period=60
        )
        for _ in range(1_000):
            ta.receive("up", timeout=10)
            [(_, pid, _)] = ta.Supervisor.which_children(sup)
            ta.send(pid, "crash")
        ta.receive("up", timeout=10)  # the 1,000th restart
        assert ta.is_alive(sup)
        assert len(ta.processes()) == 3  # us, the supervisor, one child
        ta.stop(sup)
    finally:
        structlog.reset_defaults()


def test_childspec_validation() -> None:
    with pytest.raises(ValueError):
        ta.ChildSpec("x", Worker.start_link, restart="sometimes")
    with pytest.raises(ValueError):
        ta.ChildSpec("x", Worker.start_link, shutdown=-1)
    with pytest.raises(ValueError):
        ta.ChildSpec("x", Worker.start_link, type="manager")
    with pytest.raises(TypeError):
        ta.ChildSpec("x", "not callable")  # type: ignore[arg-type]
    assert ta.ChildSpec("x", Worker.start_link).shutdown == 5.0
    with pytest.raises(ValueError):
        ta.Supervisor.start([], strategy="one_for_some")
    with pytest.raises(ValueError):
        ta.Supervisor.start([spec("a"), spec("a")])


def test_supervisor_events_are_logged(logs: list[dict[str, Any]]) -> None:
    sup = ta.Supervisor.start([spec("w1")], intensity=1, period=5.0)
    ref = ta.monitor(sup)
    [(_, pid)] = started(1)
    crash(pid)
    [(_, pid)] = started(1)
    crash(pid)
    assert down_of(ref) == "shutdown"
    events = [e["event"] for e in logs]
    for name in ("child_started", "child_ended", "child_restarted", "supervisor_gave_up"):
        assert name in events, name
    gave_up = next(e for e in logs if e["event"] == "supervisor_gave_up")
    assert gave_up["log_level"] == "error"


FAIL_STARTS: set[str] = set()


def flaky_start(wid: str) -> ta.Pid:
    if wid in FAIL_STARTS:
        raise RuntimeError(f"{wid} cannot start now")
    return Worker.start_link(wid)


def test_simple_one_for_one_failed_restart_is_retried_and_counts() -> None:
    sup = ta.Supervisor.start(
        [ta.ChildSpec("w", flaky_start)], strategy="simple_one_for_one", intensity=3
    )
    ref = ta.monitor(sup)
    a = ta.Supervisor.start_child(sup, "a")
    b = ta.Supervisor.start_child(sup, "b")
    assert dict(started(2)) == {"a": a, "b": b}
    FAIL_STARTS.add("b")
    try:
        crash(b)
        # Each failed retry of b is one more restart: the 4th stops it all.
        assert down_of(ref) == "shutdown"
    finally:
        FAIL_STARTS.clear()
    stopped(2)


def test_which_children_lists_in_reverse_start_order() -> None:
    # What OTP 25 prints for one_for_one: the newest child first; a restart
    # keeps the child's place.
    sup, pids = start_sup("one_for_one")
    assert [c[0] for c in ta.Supervisor.which_children(sup)] == ["w3", "w2", "w1"]
    w4 = ta.Supervisor.start_child(sup, spec("w4"))
    started(1)
    crash(pids["w2"])
    stopped(1)
    [(_, w2)] = started(1)
    assert ta.Supervisor.which_children(sup) == [
        ("w4", w4, "worker"),
        ("w3", pids["w3"], "worker"),
        ("w2", w2, "worker"),
        ("w1", pids["w1"], "worker"),
    ]
    ta.stop(sup)
    assert stopped(4) == ["w4", "w3", "w2", "w1"]


def test_which_children_of_simple_one_for_one_in_start_order() -> None:
    # OTP 25 lists simple children by pid, i.e. in the order the running
    # ones were started: a restarted child comes last.
    sup = ta.Supervisor.start(
        [ta.ChildSpec("worker", Worker.start_link)], strategy="simple_one_for_one", intensity=5
    )
    a, b, c = (ta.Supervisor.start_child(sup, wid) for wid in "abc")
    started(3)
    assert [p for _, p, _ in ta.Supervisor.which_children(sup)] == [a, b, c]
    crash(a)
    stopped(1)
    [(_, a2)] = started(1)
    assert ta.Supervisor.which_children(sup) == [
        (None, b, "worker"),
        (None, c, "worker"),
        (None, a2, "worker"),
    ]
    ta.stop(sup)
    stopped(3)


LINK_NEXT_START: set[str] = set()


def unlinked_start(wid: str, name: str | None = None) -> ta.Pid:
    """A start that forgets the link (``GenServer.start``) unless told."""
    if wid in LINK_NEXT_START:
        return Worker.start_link(wid, name=name)
    return Worker.start(wid, name=name)


def refused_pid(info: pytest.ExceptionInfo[ta.StartError], *head: Any) -> ta.Pid:
    """The pid in ``StartError((*head, ("not_linked", pid)))``, or in
    ``StartError(("not_linked", pid))`` without ``head``."""
    reason = info.value.reason
    if head:
        assert reason[: len(head)] == head and len(reason) == len(head) + 1
        reason = reason[-1]
    kind, pid = reason
    assert kind == "not_linked" and isinstance(pid, ta.Pid)
    assert not ta.is_alive(pid)  # killed: nothing runs unsupervised
    return pid


def test_start_link_refuses_an_unlinked_child() -> None:
    ta.trap_exit(True)  # to see that no exit signal reaches us either
    with pytest.raises(ta.StartError) as info:
        ta.Supervisor.start_link(
            [spec("w1"), ta.ChildSpec("u", unlinked_start, args=("u",), kwargs={"name": "u"})]
        )
    pid = refused_pid(info, "failed_to_start_child", "u")
    [(w1, _), (u, u_pid)] = started(2)
    assert (w1, u, u_pid) == ("w1", "u", pid)
    assert stopped(1) == ["w1"]  # the started one is stopped; "u" was killed
    assert ta.whereis("u") is None  # its name is free again
    nothing_more()
    assert ta.receive(ta.ExitSignal, timeout=0, default=None) is None
    ta.trap_exit(False)


def test_start_child_and_restart_child_refuse_an_unlinked_child() -> None:
    sup = ta.Supervisor.start([], strategy="one_for_one")
    with pytest.raises(ta.StartError) as info:
        ta.Supervisor.start_child(sup, ta.ChildSpec("u", unlinked_start, args=("u",)))
    refused_pid(info)
    started(1)
    assert ta.Supervisor.which_children(sup) == []
    LINK_NEXT_START.add("u")
    try:
        ta.Supervisor.start_child(sup, ta.ChildSpec("u", unlinked_start, args=("u",)))
    finally:
        LINK_NEXT_START.clear()
    started(1)
    ta.Supervisor.terminate_child(sup, "u")
    assert stopped(1) == ["u"]
    with pytest.raises(ta.StartError) as info:
        ta.Supervisor.restart_child(sup, "u")  # this time it forgets the link
    refused_pid(info)
    started(1)
    assert ta.Supervisor.which_children(sup) == [("u", None, "worker")]
    simple = ta.Supervisor.start([ta.ChildSpec("u", unlinked_start)], strategy="simple_one_for_one")
    with pytest.raises(ta.StartError) as info:
        ta.Supervisor.start_child(simple, "s")
    refused_pid(info)
    started(1)
    assert ta.Supervisor.which_children(simple) == []
    ta.stop(simple)
    ta.stop(sup)
    nothing_more()


def test_an_unlinked_restart_is_a_failed_restart() -> None:
    me = ta.self()
    LINK_NEXT_START.add("u")
    try:
        sup = ta.Supervisor.start([ta.ChildSpec("u", unlinked_start, args=("u",))], intensity=2)
    finally:
        LINK_NEXT_START.clear()
    ref = ta.monitor(sup)
    [(_, pid)] = started(1)
    crash(pid)
    stopped(1)
    # A refused restart is retried, and each try counts: with intensity 2
    # the third restart event (the second retry) is not made.
    assert len(started(2)) == 2
    assert down_of(ref) == "shutdown"
    nothing_more()
    assert [p for p in ta.processes() if p != me] == []  # the refused ones too


CRASHED: list[ta.Pid] = []


def self_linking(parent: ta.Pid, then: str) -> None:
    """Links itself to ``parent`` (the supervisor), says so, then ``then``."""
    ta.link(parent)
    ta.send(parent, ("self-linked", ta.self()))
    if then == "return":
        return
    ta.send("observer", ("up", ta.self()))
    if then == "crash once" and not CRASHED:
        CRASHED.append(ta.self())
        raise RuntimeError("once")
    ta.receive("never")


def no_link(parent: ta.Pid, then: str) -> None:
    """Ends at once, linked to nobody."""


def start_self_linking(then: str, link: bool = True, wait_end: bool = False) -> ta.Pid:
    """A start whose child makes the link itself before start returns; with
    ``wait_end``, start returns only once the child has ended."""
    pid, ref = ta.spawn_monitor(self_linking if link else no_link, ta.self(), then)
    if link:
        ta.receive(("self-linked", pid))
    if wait_end:
        ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == ref)
    else:
        ta.demonitor(ref, flush=True)
    return pid


def test_a_child_that_links_itself_is_supervised() -> None:
    CRASHED.clear()
    sup = ta.Supervisor.start([ta.ChildSpec("s", start_self_linking, args=("crash once",))])
    _, first = ta.receive(("up", ta.Pid), timeout=5)
    # Its crash reached the supervisor through the link: it was restarted.
    _, second = ta.receive(("up", ta.Pid), timeout=5)
    assert second != first
    assert ta.Supervisor.which_children(sup) == [("s", second, "worker")]
    ta.stop(sup)


def spawn_link_and_wait() -> ta.Pid:
    """``spawn_link`` of a child that ends at once; returns once it has."""
    pid, ref = ta.spawn_opt(int, link=True, monitor=True)
    ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == ref)
    return pid  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("start", "args"),
    [(start_self_linking, ("return", True, True)), (spawn_link_and_wait, ())],
    ids=["linked itself", "spawn_link"],
)
def test_a_linked_child_already_dead_is_a_child_that_ended(start: Any, args: Any) -> None:
    # Its exit signal is already in the supervisor's mailbox when start
    # returns, so it is handled before our call: transient, normal, done.
    sup = ta.Supervisor.start([ta.ChildSpec("d", start, args=args, restart="transient")])
    assert ta.Supervisor.which_children(sup) == [("d", None, "worker")]
    ta.stop(sup)


def test_an_unlinked_child_already_dead_is_refused() -> None:
    with pytest.raises(ta.StartError) as info:
        ta.Supervisor.start([ta.ChildSpec("d", start_self_linking, args=("x", False, True))])
    refused_pid(info, "failed_to_start_child", "d")
