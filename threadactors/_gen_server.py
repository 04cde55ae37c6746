"""GenServer: a stateful server actor (SPEC §6), written on the public API.

Protocol, all tuples with a ``$``-string head so a receive for them stays
cheap: ``("$call", pid, tag, request)``, ``("$cast", msg)``,
``("$stop", pid, tag, reason)``, and the reply ``("$reply", tag, value)``
(``value`` a ``_ReplyNotSent`` when the real one could not be sent).
"""

from __future__ import annotations

import dataclasses
import pickle
import time
from typing import Any, Final, NoReturn, TypeVar, final

from . import _api as ta
from ._errors import NOPROC, CallError, Exit, NoProc, StartError, Timeout
from ._log import logger
from ._node import NO_EXIT, caller_node, current_actor, enter, leave, portable
from ._pid import Pid, Ref
from ._receive import REPLY, _TimedOut, check_timeout, drop_replies, mark, receive_in
from ._signals import Down, ExitSignal

__all__ = ["NOREPLY", "Caller", "GenServer", "call", "cast", "reply", "stop"]

S = TypeVar("S", bound="GenServer")


@final
class _NoReply:
    """``ta.NOREPLY``: returned by ``handle_call``, the reply comes later
    through ``ta.reply(caller, value)`` (OTP's ``{noreply, State}``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOREPLY"

    def __reduce__(self) -> str:
        return "NOREPLY"


NOREPLY: Final[Any] = _NoReply()
"""Returned by ``handle_call`` to answer later with ``reply(caller, value)``."""

_CALL: Final = "$call"
_CAST: Final = "$cast"
_STOP: Final = "$stop"
_INIT: Final = "$init"
_NOT_STOPPING: Final = object()


@final
class _ReplyNotSent:
    """Sent in place of a reply that could not be sent (``error``: why)."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error

    def __reduce__(self) -> tuple[type[_ReplyNotSent], tuple[str]]:
        return (_ReplyNotSent, (self.error,))


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who is waiting for a reply: give it to ``reply`` (from any actor)."""

    pid: Pid
    tag: Ref


def reply(caller: Caller, value: Any) -> None:
    """Answer a ``call`` whose ``handle_call`` returned ``NOREPLY``."""
    if not isinstance(caller, Caller):
        raise TypeError(f"reply takes the Caller handed to handle_call, not {caller!r}")
    ta.send(caller.pid, (REPLY, caller.tag, value))


def _resolve(server: Pid | str) -> Pid:
    if isinstance(server, Pid):
        return server
    if isinstance(server, str):
        pid = ta.whereis(server)
        if pid is None:
            raise NoProc(f"no process is registered as {server!r}")
        return pid
    raise TypeError(f"a server is a Pid or a registered name, not {type(server).__name__}")


# A call waits this long for its reply before it monitors the server: most
# replies come sooner, and a monitor costs two trips through the monitor
# thread. A server that ends before the monitor is taken is still reported
# with its real reason (the monitor thread remembers recent ends).
_FAST: Final = 0.002


def _await(
    pid: Pid, message: Any, timeout: float | None, eager: bool = False, watch_first: bool = False
) -> tuple[Any, Any]:
    """Send ``pid`` ``message(tag)`` and wait for our reply or its end:
    ``("reply", value)`` or ``("down", reason)``.

    The receive looks only at messages newer than its marker (the ref trick),
    and a reply that comes after a timeout is dropped on arrival.
    """
    actor = enter()
    try:
        node = actor.node
        since = mark(actor)
        tag = node.make_ref()
        watch: list[Ref] = []
        if eager or watch_first:
            watch.append(ta.monitor(pid))
        ta.send(pid, message(tag))

        def ours(m: Any) -> bool:
            if m.__class__ is tuple:
                return len(m) == 3 and m[0] == REPLY and m[1] == tag
            return m.__class__ is Down and bool(watch) and m.ref == watch[0]

        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            if watch:
                got = receive_in(actor, ours, None, timeout, since)
            else:
                try:
                    first = _FAST if timeout is None else min(timeout, _FAST)
                    got = receive_in(actor, ours, None, first, since)
                except _TimedOut:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise
                    ref = node.make_ref()
                    with actor.exc_lock:
                        actor.monitors[ref] = pid
                    node.monitor.request("monitor", actor.pid, pid, ref, True)
                    watch.append(ref)
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    got = receive_in(actor, ours, None, left, since)
        except _TimedOut:
            if not eager:  # (a stop is never answered)
                drop_replies(actor, tag)  # first: the flush below may read it
            if watch:
                _demonitor_since(actor, watch[0], since)
            raise Timeout(f"no reply from {pid!r} within {timeout} s") from None
        if got.__class__ is Down:
            if not eager:
                drop_replies(actor, tag)  # a deferred reply may still come
            return "down", got.reason
        if watch:
            _demonitor_since(actor, watch[0], since)
        return "reply", got[2]
    finally:
        leave(actor)


def _demonitor_since(actor: Any, tag: Ref, since: int) -> None:
    """``demonitor(tag, flush=True)``, looking only at messages after ``since``."""
    ta.demonitor(tag)
    try:
        receive_in(actor, lambda m: m.__class__ is Down and m.ref == tag, None, 0, since)
    except _TimedOut:
        pass


def call(server: Pid | str, request: Any, timeout: float | None = 5.0) -> Any:
    """Send ``request`` to a GenServer and wait for its reply.

    ``Timeout`` after ``timeout`` seconds (a later reply never shows up in the
    mailbox); ``NoProc`` if the server is not alive; ``CallError(reason)`` if
    it ends during the call; ``CallError("calling_self")`` for a call to
    oneself.
    """
    timeout = check_timeout(timeout)
    pid = _resolve(server)
    me = ta.self()
    if pid == me:
        raise CallError("calling_self")
    remote = pid.os_pid != me.os_pid
    if not remote and pid not in caller_node().actors:
        # Gone: no need to wait. One that is exiting is still there: its
        # Down tells the real reason, as OTP's call does.
        raise NoProc(f"{server!r} is not alive")
    # Another node's server is monitored from the start: its end (or its
    # node's) comes only through the monitor.
    kind, value = _await(pid, lambda tag: (_CALL, me, tag, request), timeout, watch_first=remote)
    if kind == "reply":
        if value.__class__ is _ReplyNotSent:
            raise CallError(("reply_not_sent", value.error))
        return value
    if value == NOPROC:
        raise NoProc(f"{server!r} is not alive")
    raise CallError(value)


def cast(server: Pid | str, msg: Any) -> None:
    """Send ``msg`` to a GenServer's ``handle_cast``; never fails, never waits."""
    try:
        pid = _resolve(server)
    except NoProc:
        return
    ta.send(pid, (_CAST, msg))


def stop(server: Pid | str, reason: Any = "normal", timeout: float | None = 5.0) -> None:
    """Stop a GenServer (or a Supervisor) with ``reason``.

    Returns once its ``terminate`` has run and it is gone; ``NoProc`` if it
    was not alive; ``Timeout`` if it is not gone within ``timeout``.
    """
    timeout = check_timeout(timeout)
    pickle.dumps(reason)  # an unpicklable reason fails here, before any monitor
    pid = _resolve(server)
    me = ta.self()
    if pid == me:
        raise CallError("calling_self")
    # The server does not answer: it runs terminate and ends; its Down is
    # the answer.
    _, value = _await(pid, lambda tag: (_STOP, me, tag, reason), timeout, eager=True)
    if value == NOPROC:
        raise NoProc(f"{server!r} is not alive")
    if value != reason and repr(value) != repr(reason):
        # It ended otherwise (crashed, killed) before it handled the stop.
        raise CallError(value)


class GenServer:
    """Base class of a stateful server; override the callbacks you need.

    ``start``/``start_link`` run ``init`` in the new actor and return its pid
    once ``init`` has returned; an exception in ``init`` raises
    ``StartError`` here (nothing stays registered). A subclass sets itself up
    in ``init``, never in ``__init__`` (refused: it would not run).
    """

    _parent: Pid | None = None
    _stop_reason: Any = _NOT_STOPPING

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The server is made with __new__ in its own actor, so an __init__
        # would be skipped silently and its state missing at the first call.
        # (typing gives Protocol classes a placeholder __init__: harmless.)
        owner = next(
            (
                k
                for k in cls.__mro__
                if k is not object
                and "__init__" in vars(k)
                and getattr(vars(k)["__init__"], "__module__", None) != "typing"
            ),
            None,
        )
        if owner is not None:
            raise TypeError(
                f"{cls.__qualname__}: a GenServer does its setup in init(self, ...), which"
                f" runs in the server with start()'s arguments; __init__ (defined by"
                f" {owner.__qualname__}) would never run"
            )

    # -- starting ------------------------------------------------------------

    @classmethod
    def start(cls, *args: Any, name: str | None = None, **kwargs: Any) -> Pid:
        """Start a server; ``name`` registers it. ``init(*args, **kwargs)`` runs first."""
        return cls._start(args, kwargs, name, link=False)

    @classmethod
    def start_link(cls, *args: Any, name: str | None = None, **kwargs: Any) -> Pid:
        """Like ``start``, linked to the caller (its parent)."""
        return cls._start(args, kwargs, name, link=True)

    @classmethod
    def _start(
        cls, args: tuple[Any, ...], kwargs: dict[str, Any], name: str | None, link: bool
    ) -> Pid:
        parent = ta.self()
        tag = ta.make_ref()
        pid, ref = ta.spawn_opt(
            _serve,
            (cls, parent, tag, args, kwargs, link),
            link=link,
            monitor=True,
            name=name,
        )

        def ours(m: Any) -> bool:
            if m.__class__ is tuple:
                return len(m) == 3 and m[0] == _INIT and m[1] == tag
            return m.__class__ is Down and m.ref == ref

        got = ta.receive(ours)
        if got.__class__ is Down:
            if link:  # no exit signal of it may stay behind (GS-9)
                ta.unlink(pid)
                ta.receive(
                    lambda m: m.__class__ is ExitSignal and m.pid == pid, timeout=0, default=None
                )
            raise StartError(got.reason)
        status = got[2]
        if status[0] == "ok":
            ta.demonitor(ref, flush=True)
            started: Pid = pid
            return started
        # It has unlinked from us and ends: wait until it is gone (its name too).
        ta.receive(lambda m: m.__class__ is Down and m.ref == ref)
        raise StartError(status[1])

    # -- callbacks -------------------------------------------------------------

    def init(self, *args: Any, **kwargs: Any) -> None:
        """Runs in the new server before ``start`` returns."""

    def handle_call(self, request: Any, caller: Caller) -> Any:
        """Answer a ``call``: the return value is the reply (or ``NOREPLY``)."""
        raise NotImplementedError(f"{type(self).__name__} does not handle calls: {request!r}")

    def handle_cast(self, msg: Any) -> None:
        """Handle a ``cast``."""
        raise NotImplementedError(f"{type(self).__name__} does not handle casts: {msg!r}")

    def handle_info(self, msg: Any) -> None:
        """Handle any other message; by default it is logged and dropped."""
        logger.warning("unexpected_message", server=type(self).__name__, msg=repr(msg))

    def terminate(self, reason: Any) -> None:
        """Runs when the server stops (see SPEC §6)."""

    # -- inside a handler --------------------------------------------------------

    def stop(self, reason: Any = "normal") -> None:
        """End the server after the current handler: ``terminate(reason)``
        runs, then a call's reply (if any) is sent, then the server ends."""
        self._stop_reason = reason

    # -- the loop ------------------------------------------------------------------

    def _loop(self) -> None:
        receive = ta.receive
        send = ta.send
        while True:
            msg = receive()
            if msg.__class__ is tuple and len(msg) >= 2 and msg[0].__class__ is str:
                head = msg[0]
                if head == _CALL and len(msg) == 4:
                    caller = Caller(msg[1], msg[2])
                    result = self._handle(self.handle_call, msg[3], caller)
                    if self._stop_reason is not _NOT_STOPPING:
                        self._stop_then_reply(caller, result)
                    if result is not NOREPLY:
                        # Pickled once, here; only a failure costs more.
                        try:
                            send(msg[1], (REPLY, msg[2], result))
                        except Exception as e:
                            self._reply_failed(caller, e)
                elif head == _CAST and len(msg) == 2:
                    self._handle(self.handle_cast, msg[1])
                elif head == _STOP and len(msg) == 4:
                    self._finish(msg[3])
                else:
                    self._handle(self.handle_info, msg)
            elif msg.__class__ is ExitSignal and msg.pid == self._parent:
                self._finish(msg.reason)
            else:
                self._handle(self.handle_info, msg)
            if self._stop_reason is not _NOT_STOPPING:
                self._finish(self._stop_reason)

    def _handle(self, handler: Any, *args: Any) -> Any:
        try:
            return handler(*args)
        except BaseException as e:
            if isinstance(e, Exit) and current_actor().pending_exit is not NO_EXIT:
                raise  # an exit signal: no terminate (SPEC §6)
            # If terminate raises, its error ends the server instead (OTP).
            self.terminate(e.reason if isinstance(e, Exit) else e)
            raise

    def _finish(self, reason: Any) -> NoReturn:
        # An exception from terminate ends the server with that exception
        # (a crash, logged as one), as gen_server does.
        self.terminate(reason)
        raise Exit(reason)

    def _stop_then_reply(self, caller: Caller, result: Any) -> NoReturn:
        """OTP's ``{stop, Reason, Reply, State}``: terminate first, then the
        reply (even if terminate raised), so the reply means "cleaned up"."""
        try:
            self._finish(self._stop_reason)
        finally:
            if result is not NOREPLY:
                try:
                    ta.send(caller.pid, (REPLY, caller.tag, result))
                except Exception as e:
                    self._reply_failed(caller, e)

    def _reply_failed(self, caller: Caller, error: Exception) -> None:
        """Tell the caller its reply could not be sent (it gets a
        ``CallError``); the server goes on."""
        # ta.send raises the pickle error itself, or a TypeError caused by it.
        cause = error.__cause__ if error.__cause__ is not None else error
        logger.error(
            "reply_not_sent",
            server=type(self).__name__,
            caller=repr(caller.pid),
            error=repr(cause),
        )
        ta.send(caller.pid, (REPLY, caller.tag, _ReplyNotSent(repr(cause))))


def _serve(  # noqa: PLR0917
    cls: type[GenServer],
    parent: Pid,
    tag: Ref,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    linked: bool,
) -> None:
    current_actor().function = f"{cls.__module__}.{cls.__qualname__}"
    server = cls.__new__(cls)
    server._parent = parent if linked else None
    try:
        server.init(*args, **kwargs)
    except BaseException as e:
        reason = e.reason if isinstance(e, Exit) else e
        if linked:
            ta.unlink(parent)  # the caller gets StartError, not an exit signal
        ta.send(parent, (_INIT, tag, ("error", portable(reason))))
        raise
    ta.send(parent, (_INIT, tag, ("ok", None)))
    server._loop()
