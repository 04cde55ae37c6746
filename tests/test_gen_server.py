"""GenServer (SPEC §6)."""

from __future__ import annotations

import threading
from typing import Any, Protocol

import pytest

import threadactors as ta

from .signal_helpers import down_of


class Counter(ta.GenServer):
    def init(self, start: int = 0) -> None:
        self.n = start

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        match request:
            case ("add", int(k)):
                self.n += k
                return self.n
            case "get":
                return self.n
            case ("stop_after", reason):
                self.stop(reason)
                return "stopping"
            case "crash":
                raise RuntimeError("handler crashed")
            case ("slow", gate):
                ta.receive(gate)  # until told
                return "late"
            case ("defer", helper):
                ta.send(helper, ("answer", caller, self.n))
                return ta.NOREPLY
        raise ValueError(request)

    def handle_cast(self, msg: Any) -> None:
        if msg == "reset":
            self.n = 0

    def handle_info(self, msg: Any) -> None:
        if isinstance(msg, tuple) and msg[0] == "tell":
            ta.send(msg[1], ("info", self.n))


class Recorder(ta.GenServer):
    """Reports terminate to ``observer``."""

    def init(self, observer: ta.Pid, trap: bool = False) -> None:
        self.observer = observer
        ta.trap_exit(trap)

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        if request == "stop_me":
            self.stop("asked")
        return request

    def handle_info(self, msg: Any) -> None:
        ta.send(self.observer, ("info", msg))

    def terminate(self, reason: Any) -> None:
        ta.send(self.observer, ("terminate", reason))


def test_start_call_cast_stop() -> None:
    pid = Counter.start(10, name="counter")
    assert ta.whereis("counter") == pid
    assert ta.call("counter", ("add", 5), timeout=5.0) == 15
    ta.cast(pid, "reset")
    assert ta.call(pid, "get") == 0
    ta.send(pid, ("tell", ta.self()))
    assert ta.receive(("info", int), timeout=5) == ("info", 0)
    ta.stop(pid)
    assert not ta.is_alive(pid)
    assert ta.whereis("counter") is None
    assert ta.receive(timeout=0, default=None) is None  # nothing left by the calls


def test_info_names_the_server_class() -> None:
    pid = Counter.start()
    assert ta.info(pid)["function"] == f"{__name__}.Counter"  # type: ignore[index]
    ta.stop(pid)


def test_init_failure_is_start_error_and_name_free() -> None:
    class Broken(ta.GenServer):
        def init(self) -> None:
            raise ValueError("no config")

    with pytest.raises(ta.StartError) as info:
        Broken.start(name="broken")
    assert isinstance(info.value.reason, ValueError)
    assert ta.whereis("broken") is None
    # start_link too: the caller gets StartError, not an exit signal.
    with pytest.raises(ta.StartError):
        Broken.start_link(name="broken")
    assert ta.whereis("broken") is None
    assert ta.receive(timeout=0, default=None) is None


def test_init_exit_is_start_error() -> None:
    class Quits(ta.GenServer):
        def init(self) -> None:
            ta.exit("not today")

    with pytest.raises(ta.StartError) as info:
        Quits.start()
    assert info.value.reason == "not today"


def test_start_with_taken_name() -> None:
    pid = Counter.start(name="taken")
    with pytest.raises(ta.NameTaken):
        Counter.start(name="taken")
    ta.stop(pid)


def test_noreply_and_reply_from_another_actor() -> None:
    def helper() -> None:
        _, caller, n = ta.receive(("answer", ta.Caller, int))
        ta.reply(caller, ("deferred", n))

    pid = Counter.start(7)
    assert ta.call(pid, ("defer", ta.spawn(helper))) == ("deferred", 7)
    ta.stop(pid)


def test_self_stop_in_handler_still_replies_then_terminates() -> None:
    me = ta.self()
    pid = Recorder.start(me)
    ref = ta.monitor(pid)
    assert ta.call(pid, "stop_me") == "stop_me"
    assert ta.receive(("terminate", ta.ANY), timeout=5) == ("terminate", "asked")
    assert down_of(ref) == "asked"


def test_stop_runs_terminate_and_waits() -> None:
    me = ta.self()
    pid = Recorder.start(me)
    ta.stop(pid, reason="bye")
    # terminate has run by the time stop returns, and the server is gone.
    assert ta.receive(("terminate", ta.ANY), timeout=0) == ("terminate", "bye")
    assert not ta.is_alive(pid)
    with pytest.raises(ta.NoProc):
        ta.stop(pid)


def test_call_errors() -> None:
    with pytest.raises(ta.NoProc):
        ta.call("nobody", "x")
    pid = Counter.start()
    ta.stop(pid)
    with pytest.raises(ta.NoProc):
        ta.call(pid, "get")

    class Selfish(ta.GenServer):
        def handle_call(self, request: Any, caller: ta.Caller) -> Any:
            try:
                ta.call(ta.self(), "again")
            except ta.CallError as e:
                return e.reason
            return "deadlock?"

    s = Selfish.start()
    assert ta.call(s, "x") == "calling_self"
    ta.stop(s)


def test_call_to_a_server_that_is_exiting_gives_its_reason() -> None:
    # Not alive (is_alive is False) but not gone: OTP's call waits for its
    # end and reports the real reason, not noproc.
    me = ta.self()

    def slow_cleanup() -> None:
        try:
            ta.send(me, "ready")
            ta.receive("never")
        finally:
            ta.send(me, "cleaning")
            ta.receive()  # the call's request: then it ends

    pid = ta.spawn(slow_cleanup)
    # An exit signal that comes before the actor's first line ends it there,
    # as on the BEAM: wait until it is inside its try.
    assert ta.receive("ready", timeout=10) == "ready"
    ta.exit(pid, "shutdown")
    assert ta.receive("cleaning", timeout=10) == "cleaning"
    assert not ta.is_alive(pid)
    with pytest.raises(ta.CallError) as info:
        ta.call(pid, "hello", timeout=10)
    assert info.value.reason == "shutdown"


def test_call_timeout_leaves_nothing_in_mailbox() -> None:
    pid = Counter.start()
    gate = ta.make_ref()
    with pytest.raises(ta.Timeout):
        ta.call(pid, ("slow", gate), timeout=0.1)
    ta.send(pid, gate)  # now it replies, late
    assert ta.call(pid, "get") == 0  # the late reply came before this answer
    assert ta.receive(timeout=0, default=None) is None
    ta.stop(pid)


def test_server_crash_mid_call_is_call_error() -> None:
    pid = Counter.start()
    with pytest.raises(ta.CallError) as info:
        ta.call(pid, "crash")
    assert isinstance(info.value.reason, RuntimeError)
    assert not ta.is_alive(pid)
    assert ta.receive(timeout=0, default=None) is None


def test_server_killed_mid_call() -> None:
    me = ta.self()

    class Stalls(ta.GenServer):
        def handle_call(self, request: Any, caller: ta.Caller) -> Any:
            ta.send(me, "in handler")
            ta.receive("never")

    pid = Stalls.start()
    result: list[Any] = []

    def caller() -> None:
        try:
            ta.call(pid, "q", timeout=10)
        except ta.CallError as e:
            result.append(e.reason)
        ta.send(me, "done")

    ta.spawn(caller)
    ta.receive("in handler", timeout=10)
    ta.exit(pid, "kill")
    assert ta.receive("done", timeout=10) == "done"
    assert result == ["killed"]


def test_terminate_on_parent_exit_when_trapping() -> None:
    me = ta.self()

    def parent() -> None:
        ta.send(me, ("server", Recorder.start_link(me, True)))
        ta.receive("die")
        ta.exit("parent gone")

    p = ta.spawn(parent)
    _, server = ta.receive(("server", ta.Pid), timeout=5)
    ref = ta.monitor(server)
    ta.send(p, "die")
    assert ta.receive(("terminate", ta.ANY), timeout=5) == ("terminate", "parent gone")
    assert down_of(ref) == "parent gone"


def test_other_exit_signals_reach_handle_info() -> None:
    me = ta.self()
    server = Recorder.start(me, True)
    other = ta.spawn(ta.receive, "x")
    ta.exit(server, "from the test")
    assert ta.receive(("info", ta.ANY), timeout=5) == ("info", ta.ExitSignal(me, "from the test"))
    ta.exit(other, "kill")
    ta.stop(server)
    assert ta.receive(("terminate", ta.ANY), timeout=5) == ("terminate", "normal")


def test_no_terminate_when_not_trapping_parent_exit() -> None:
    me = ta.self()
    server = Recorder.start(me, False)
    ref = ta.monitor(server)
    ta.exit(server, "shutdown")
    assert down_of(ref) == "shutdown"
    assert ta.receive(("terminate", ta.ANY), timeout=0, default=None) is None


def test_server_calls_other_server() -> None:
    counter = Counter.start(3)

    class Front(ta.GenServer):
        def handle_call(self, request: Any, caller: ta.Caller) -> Any:
            return ta.call(counter, request) * 10

    front = Front.start()
    assert ta.call(front, ("add", 1)) == 40
    ta.stop(front)
    ta.stop(counter)


def test_many_callers() -> None:
    pid = Counter.start()
    me = ta.self()

    def client() -> None:
        for _ in range(200):
            ta.call(pid, ("add", 1))
        ta.send(me, "done")

    for _ in range(5):
        ta.spawn(client)
    for _ in range(5):
        ta.receive("done", timeout=60)
    assert ta.call(pid, "get") == 1000
    ta.stop(pid)


def test_reply_type_error() -> None:
    with pytest.raises(TypeError):
        ta.reply("nope", 1)  # type: ignore[arg-type]


def test_call_from_adopted_thread() -> None:
    pid = Counter.start(1)
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(ta.call(pid, ("add", 1))))
    t.start()
    t.join()
    assert out == [2]
    ta.stop(pid)


def test_deferred_reply_after_the_server_died_never_shows_up() -> None:
    me = ta.self()

    class Defers(ta.GenServer):
        def handle_call(self, request: Any, caller: ta.Caller) -> Any:
            ta.send(me, ("caller", caller))
            return ta.NOREPLY

        def handle_cast(self, msg: Any) -> None:
            raise RuntimeError("gone")

    pid = Defers.start()
    out: list[Any] = []

    def client() -> None:
        try:
            ta.call(pid, "q", timeout=10)
        except ta.CallError as e:
            out.append(e.reason)
        # The deferred reply comes after the CallError: never seen here.
        ta.send(me, "client waits")
        ta.receive("reply sent")
        out.append(ta.receive(timeout=0.05, default="nothing"))
        ta.send(me, "checked")

    c = ta.spawn(client)
    _, caller = ta.receive(("caller", ta.Caller), timeout=10)
    ta.cast(pid, "crash")
    ta.receive("client waits", timeout=10)
    ta.reply(caller, "too late")
    ta.send(c, "reply sent")
    ta.receive("checked", timeout=10)
    assert isinstance(out[0], RuntimeError)
    assert out[1] == "nothing"


def test_stop_of_a_server_that_crashed_first_is_call_error() -> None:
    me = ta.self()

    class Fragile(ta.GenServer):
        def handle_cast(self, msg: Any) -> None:
            ta.send(me, "in handler")
            ta.receive("go")
            raise RuntimeError("crashed before the stop")

    pid = Fragile.start()
    ta.cast(pid, "work")
    ta.receive("in handler", timeout=10)

    def release() -> None:
        # Once the stop request waits in its mailbox, let it crash.
        while ta.info(pid)["message_queue_len"] < 1:  # type: ignore[index]
            ta.receive(timeout=0.001, default=None)
        ta.send(pid, "go")

    ta.spawn(release)
    with pytest.raises(ta.CallError) as info:
        ta.stop(pid)
    assert isinstance(info.value.reason, RuntimeError)


def test_start_link_killed_in_init_leaves_no_exit_signal() -> None:
    def killer() -> None:
        ta.exit(ta.receive(ta.Pid), "kill")

    k = ta.spawn(killer)

    class Slow(ta.GenServer):
        def init(self) -> None:
            ta.send(k, ta.self())
            ta.receive("never")

    ta.trap_exit(True)
    with pytest.raises(ta.StartError) as info:
        Slow.start_link()
    assert info.value.reason == "killed"
    assert ta.receive(ta.ExitSignal, timeout=0.05, default=None) is None
    ta.trap_exit(False)


class Finisher(ta.GenServer):
    """``handle_call("stop_me")`` stops with a reply; ``terminate`` reports
    to the caller and, if asked, fails."""

    def init(self, observer: ta.Pid, fail: Any = None, trap: bool = False) -> None:
        self.observer = observer
        self.fail = fail
        ta.trap_exit(trap)

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        if request == "crash":
            raise RuntimeError("handler crashed")
        if request == "stop_me":
            self.stop("asked")
        return request

    def terminate(self, reason: Any) -> None:
        ta.send(self.observer, ("terminate", reason))
        if isinstance(self.fail, BaseException):
            raise self.fail
        if self.fail is not None:
            ta.exit(self.fail)


def test_stop_with_reply_runs_terminate_before_the_reply() -> None:
    me = ta.self()
    pid = Finisher.start(me)
    ref = ta.monitor(pid)
    # The request as ta.call sends it: our mailbox then shows the order in
    # which the server sent its two messages (one sender, one receiver).
    tag = ta.make_ref()
    ta.send(pid, ("$call", me, tag, "stop_me"))
    first = ta.receive(timeout=5)
    second = ta.receive(timeout=5)
    assert (first, second) == (("terminate", "asked"), ("$reply", tag, "stop_me"))
    assert down_of(ref) == "asked"
    # So whoever holds the reply knows the cleanup is done.
    pid = Finisher.start(me)
    assert ta.call(pid, "stop_me") == "stop_me"
    assert ta.receive(("terminate", ta.ANY), timeout=0) == ("terminate", "asked")


def test_stop_with_reply_still_replies_when_terminate_raises() -> None:
    me = ta.self()
    pid = Finisher.start(me, ValueError("cleanup failed"))
    ref = ta.monitor(pid)
    assert ta.call(pid, "stop_me") == "stop_me"
    assert ta.receive(("terminate", ta.ANY), timeout=0) == ("terminate", "asked")
    reason = down_of(ref)
    assert isinstance(reason, ValueError) and reason.args == ("cleanup failed",)


def test_terminate_error_ends_the_server_with_it(logs: list[dict[str, Any]]) -> None:
    me = ta.self()
    pid = Finisher.start(me, ValueError("cleanup failed"))
    ref = ta.monitor(pid)

    def linked() -> None:
        ta.trap_exit(True)
        ta.link(pid)
        ta.send(me, "linked")
        ta.send(me, ("linked saw", ta.receive(ta.ExitSignal).reason))

    ta.spawn(linked)
    ta.receive("linked", timeout=5)
    with pytest.raises(ta.CallError) as info:
        ta.stop(pid, reason="bye")
    assert isinstance(info.value.reason, ValueError)
    assert ta.receive(("terminate", ta.ANY), timeout=0) == ("terminate", "bye")
    assert isinstance(down_of(ref), ValueError)
    _, seen = ta.receive(("linked saw", ta.ANY), timeout=5)
    assert isinstance(seen, ValueError) and seen.args == ("cleanup failed",)
    crashes = [e for e in logs if e["event"] == "crash_report"]
    assert [e["error"] for e in crashes] == ["ValueError('cleanup failed')"]
    assert crashes[0]["log_level"] == "error"


def test_terminate_exit_reason_wins() -> None:
    me = ta.self()
    pid = Finisher.start(me, "from terminate")
    ref = ta.monitor(pid)
    with pytest.raises(ta.CallError) as info:
        ta.stop(pid, reason="bye")
    assert info.value.reason == "from terminate"
    assert down_of(ref) == "from terminate"


def test_terminate_error_wins_over_a_handler_crash() -> None:
    me = ta.self()
    pid = Finisher.start(me, ValueError("cleanup failed"))
    ref = ta.monitor(pid)
    with pytest.raises(ta.CallError) as info:
        ta.call(pid, "crash")
    assert isinstance(info.value.reason, ValueError)
    _, seen = ta.receive(("terminate", ta.ANY), timeout=0)
    assert isinstance(seen, RuntimeError)  # terminate was told of the crash
    assert isinstance(down_of(ref), ValueError)


def test_terminate_error_wins_over_the_parent_exit() -> None:
    me = ta.self()

    def parent() -> None:
        ta.send(me, ("server", Finisher.start_link(me, ValueError("cleanup failed"), True)))
        ta.receive("die")
        ta.exit("parent gone")

    p = ta.spawn(parent)
    _, server = ta.receive(("server", ta.Pid), timeout=5)
    ref = ta.monitor(server)
    ta.send(p, "die")
    assert ta.receive(("terminate", ta.ANY), timeout=5) == ("terminate", "parent gone")
    reason = down_of(ref)
    assert isinstance(reason, ValueError) and reason.args == ("cleanup failed",)


def test_subclass_with_dunder_init_is_refused() -> None:
    with pytest.raises(TypeError, match=r"\binit\b"):

        class Eager(ta.GenServer):
            def __init__(self) -> None:
                self.n = 0

    class Base:
        def __init__(self) -> None:
            self.n = 0

    with pytest.raises(TypeError, match=r"\binit\b"):

        class Mixed(Base, ta.GenServer):
            pass

    class Sized(Protocol):
        def size(self) -> int: ...

    class Fine(ta.GenServer, Sized):  # typing's own __init__ is no setup
        def init(self) -> None:
            self.n = 3

        def size(self) -> int:
            return self.n

        def handle_call(self, request: Any, caller: ta.Caller) -> Any:
            return self.size()

    pid = Fine.start()
    assert ta.call(pid, "size") == 3
    ta.stop(pid)


def test_call_error_says_the_server_ended() -> None:
    e = ta.CallError(RuntimeError("boom"))
    assert str(e) == "the server ended during the call: RuntimeError('boom')"
    assert isinstance(e.reason, RuntimeError)
    assert str(ta.CallError("killed")) == "the server ended during the call: 'killed'"
    selfish = ta.CallError("calling_self")
    assert selfish.reason == "calling_self"
    assert "deadlock" in str(selfish) and "itself" in str(selfish)
    with pytest.raises(ta.CallError, match=r"^an actor called itself"):
        ta.call(ta.self(), "x")
    pid = Counter.start()
    with pytest.raises(ta.CallError, match=r"^the server ended during the call: RuntimeError"):
        ta.call(pid, "crash")


class Careless(ta.GenServer):
    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        if request == "lock":
            return threading.Lock()
        if request == "lock and stop":
            self.stop("done")
            return threading.Lock()
        return request


def test_unpicklable_reply_is_call_error_and_the_server_goes_on(
    logs: list[dict[str, Any]],
) -> None:
    pid = Careless.start()
    with pytest.raises(ta.CallError) as info:
        ta.call(pid, "lock")
    kind, error = info.value.reason
    assert kind == "reply_not_sent"
    assert error.startswith("TypeError(") and "pickle" in error
    assert str(info.value).startswith("the server could not send its reply: TypeError(")
    assert ta.call(pid, "again") == "again"  # still serving
    assert ta.receive(timeout=0, default=None) is None
    assert [e["event"] for e in logs if e["event"] == "reply_not_sent"] == ["reply_not_sent"]
    ref = ta.monitor(pid)
    with pytest.raises(ta.CallError) as info:
        ta.call(pid, "lock and stop")
    assert info.value.reason[0] == "reply_not_sent"
    assert down_of(ref) == "done"


def test_unpicklable_reply_when_send_wraps_the_pickle_error(monkeypatch: Any) -> None:
    # ta.send may raise the pickle error itself or a TypeError caused by it:
    # the caller is told of the pickle error either way.
    from threadactors import _api

    real = _api.send

    def wrapping_send(dest: Any, msg: Any) -> None:
        try:
            real(dest, msg)
        except Exception as e:
            raise TypeError("the message cannot be sent") from e

    monkeypatch.setattr(_api, "send", wrapping_send)
    pid = Careless.start()
    with pytest.raises(ta.CallError) as info:
        ta.call(pid, "lock")
    kind, error = info.value.reason
    assert kind == "reply_not_sent"
    assert "cannot pickle" in error and "cannot be sent" not in error
    assert ta.call(pid, "again") == "again"
    ta.stop(pid)
