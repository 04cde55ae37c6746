"""The node: the runtime of this OS process, its actors and how they end."""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import resource
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final, NoReturn

from . import _affinity, _interrupt, _wire
from ._errors import (
    KILL,
    KILLED,
    MAILBOX_OVERFLOW,
    NOPROC,
    NORMAL,
    SHUTDOWN,
    Exit,
    NoProc,
    SpawnError,
    UnpicklableError,
)
from ._log import logger
from ._mailbox import SNDBUF, Mailbox, deliver, trust
from ._monitor import Monitor
from ._pid import Pid, Ref, RefMaker, node_prefix
from ._registry import Registry
from ._remote import Outbox, Watcher, bind_name, node_pid
from ._signals import ExitSignal
from ._timers import Timers

__all__ = [
    "NO_EXIT",
    "Actor",
    "Node",
    "current_actor",
    "enter",
    "get_node",
    "leave",
    "shutdown_node",
]

NO_EXIT: Final = object()  # no exit pending

_tls = threading.local()


class _AdoptionGuard:
    """Lives in an adopted thread's locals; its end ends the actor."""

    __slots__ = ("actor",)

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def __del__(self) -> None:
        actor = self.actor
        if not actor.dead:
            actor.node.actor_ended(actor, NORMAL)


class Actor:
    """Runtime state of one actor. Fields other threads read are plain
    attributes; everything else is touched by the owner thread only."""

    __slots__ = (
        "__weakref__",
        "adopted",
        "dead",
        "depth",
        "dropped_replies",
        "ending",
        "exc_lock",
        "exit_exc",
        "exit_reason",
        "function",
        "ident",
        "injected",
        "links",
        "mailbox",
        "monitor_names",
        "monitored_by",
        "monitors",
        "native_id",
        "node",
        "pending_exit",
        "pid",
        "relayed",
        "thread",
        "trap_exit",
        "tstate",
        "waiting",
    )

    def __init__(self, node: Node, pid: Pid, mailbox: Mailbox, function: str, adopted: bool):
        self.node = node
        self.pid = pid
        self.mailbox = mailbox
        self.adopted = adopted
        self.function = function
        self.thread: threading.Thread | None = None
        self.ident: int | None = None
        self.native_id: int | None = None
        self.tstate: int | None = None  # its PyThreadState, where _interrupt needs it
        self.waiting = False  # blocked in receive
        self.trap_exit = False
        # Guards pending_exit/injected/depth against the signalling thread.
        self.exc_lock = threading.Lock()
        self.depth = 0  # > 0 while the thread is inside the runtime
        # The reason of the exit signal that will end it (the first wins).
        self.pending_exit: Any = NO_EXIT
        # The Exit raised in its thread for pending_exit: while that is being
        # handled (its cleanup) the runtime serves it; once swallowed, the
        # next runtime call raises the exit again.
        self.exit_exc: BaseException | None = None
        self.injected = False  # armed through _interrupt: disarm on entry
        self.ending = False  # its function is over: _run is announcing its end
        self.dead = False
        self.exit_reason: Any = None
        # Its own view of its links and monitors: see _monitor.py.
        self.links: set[Pid] = set()
        self.monitors: dict[Ref, Pid] = {}
        # Nodes it has sent a signal other than a message to (owner only):
        # its messages for them go through their monitor threads, behind
        # those signals (SPEC §8; see Node.send_remote).
        self.relayed: set[tuple[int, str]] = set()
        # What the Down of a monitor by name carries in place of the pid.
        self.monitor_names: dict[Ref, Any] = {}
        # Tags of calls that gave up: their late replies are dropped on
        # arrival, never seen by a receive (an Erlang alias, deactivated).
        self.dropped_replies: dict[Ref, None] = {}

    @property
    def status(self) -> str:
        """``"running"``, ``"waiting"`` (in ``receive``) or ``"exiting"``
        (an exit signal will end it: its cleanup runs, or it has ended)."""
        if self.pending_exit is not NO_EXIT or self.ending or self.dead:
            return "exiting"
        return "waiting" if self.waiting else "running"

    def __repr__(self) -> str:
        return f"<Actor {self.pid!r} {self.function}>"


def _qualname(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or "?"
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{name}"


class Node:
    """One node: actors, names, timers and the sockets of this process."""

    def __init__(self) -> None:
        self.os_pid = os.getpid()
        self.nonce = secrets.token_hex(4)
        self.prefix = node_prefix(self.os_pid, self.nonce)
        self.actors: dict[Pid, Actor] = {}
        self.registry = Registry()
        self.make_ref = RefMaker(self.os_pid, self.nonce)
        self.timers = Timers(self)
        self.closing = False
        self._serials = itertools.count(1)
        self._lock = threading.Lock()
        self._untrusted_seen: set[int] = set()
        # Every thread spawned, until seen finished: shutdown joins them all,
        # including those whose actor ended but whose thread is still exiting.
        self._threads: set[threading.Thread] = set()
        self._prune_at = 256
        # Sends wake-ups and the timers' messages: its own send buffer, so a
        # wake-up never waits behind an actor's unread datagrams.
        self.waker = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.waker.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        # Ended actors whose end the monitor thread has not processed yet.
        self.unannounced: dict[Pid, Actor] = {}
        # Other OS processes (_remote): made on first use.
        self.name: str | None = None
        self._name_socks: list[socket.socket] = []
        self._outbox: Outbox | None = None
        self._watcher: Watcher | None = None
        _raise_fd_limit()
        self.monitor = Monitor(self)

    def native_ids(self) -> list[int | None]:
        """Kernel ids of the node's threads: actors (adopted ones too) and
        the runtime's own."""
        ids = [actor.native_id for actor in list(self.actors.values())]
        ids.append(self.monitor.native_id())
        ids.append(self.timers.native_id())
        return ids

    # -- other OS processes ------------------------------------------------

    def take_name(self, name: str) -> None:
        """Make this a named node, reachable by processes of the same user."""
        with self._lock:
            if self.name is not None:
                if name == self.name:
                    return
                raise ValueError(f"this node is already named {self.name!r}")
            self._name_socks = bind_name(name, self.os_pid, self.nonce)
            self.name = name
            trust.uid = os.geteuid()
        logger.info("node_named", node=name)

    def is_remote(self, pid: Pid) -> bool:
        return pid._key[0] != self.os_pid

    @property
    def outbox(self) -> Outbox:
        box = self._outbox
        if box is None:
            with self._lock:
                box = self._outbox
                if box is None:
                    box = self._outbox = Outbox()
        return box

    @property
    def watcher(self) -> Watcher:
        watcher = self._watcher
        if watcher is None:
            with self._lock:
                watcher = self._watcher
                if watcher is None:
                    watcher = self._watcher = Watcher(self)
        return watcher

    def send_remote(self, sender: Actor | None, dest: Pid, frame: bytes) -> None:
        """The user frame of a message for ``dest`` on another node, from
        ``sender`` (``None``: from the monitor or timer thread); never blocks.

        Order (SPEC §8): an actor's links, monitors, exit signals and named
        sends go to the other node's monitor thread. Once it has sent one
        there, its messages for that node go the same way (relayed, one
        more hop), so they arrive behind it. Until then they go straight to
        the actor's socket: nothing of theirs can be overtaken, as the
        per-node outbox keeps frames in order when they have to wait.
        """
        key = dest._key
        there = (key[0], key[1])
        if sender is not None and there not in sender.relayed:
            mailbox = sender.mailbox
            self.outbox.send(mailbox.sock, there, dest.address, frame, mailbox)
        else:
            self.to_node(sender, there, _wire.encode_relay(key[2], frame))

    def to_node(self, sender: Actor | None, key: tuple[int, str], frame: bytes) -> None:
        """A frame for the monitor thread of node ``key``; never blocks.
        From an actor, its later messages for that node take the same way."""
        if sender is None:
            mailbox, sock = None, self.monitor.mailbox.sock
        else:
            sender.relayed.add(key)
            mailbox = sender.mailbox
            sock = mailbox.sock
        self.outbox.send(sock, key, node_pid(key).address, frame, mailbox)

    # -- actors ----------------------------------------------------------

    def _new_actor(self, function: str, adopted: bool) -> Actor:
        pid = Pid._make(self.os_pid, self.nonce, next(self._serials))
        try:
            mailbox = Mailbox(pid, self.untrusted)
        except OSError as e:
            raise SpawnError(f"cannot create the mailbox of a new actor: {e}") from e
        return Actor(self, pid, mailbox, function, adopted)

    def adopt(self, thread: threading.Thread) -> Actor:
        """Make the calling thread (not spawned by us) an actor."""
        target = getattr(thread, "_target", None)
        function = _qualname(target) if target is not None else f"adopted:{thread.name}"
        actor = self._new_actor(function, adopted=True)
        actor.thread = thread
        actor.ident = threading.get_ident()
        actor.native_id = threading.get_native_id()
        _affinity.apply_here()
        self.actors[actor.pid] = actor
        _tls.actor = actor
        _tls.guard = _AdoptionGuard(actor)
        return actor

    def spawn(  # noqa: PLR0917
        self,
        parent: Actor | None,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        trap_exit: bool = False,
        link: bool = False,
        monitor: bool = False,
        max_mailbox: int = 0,
    ) -> tuple[Pid, Ref | None]:
        if self.closing:
            raise SpawnError("the node is shutting down")
        actor = self._new_actor(_qualname(fn), adopted=False)
        actor.trap_exit = trap_exit
        actor.mailbox.limit = max_mailbox
        pid = actor.pid
        # In the table before its name: a sender that finds the name must
        # find the actor (else its message is dropped as if to the dead).
        self.actors[pid] = actor
        if name is not None:
            try:
                self.registry.register(name, pid)
            except BaseException:
                self.actors.pop(pid, None)
                actor.mailbox.release()
                raise
        thread = threading.Thread(
            target=self._run,
            args=(actor, fn, args, kwargs),
            name=f"ta-{pid._key[2]}-{getattr(fn, '__name__', 'actor')}",
            daemon=True,
        )
        actor.thread = thread
        with self._lock:
            if len(self._threads) >= self._prune_at:
                # Amortised: prune only when the set has doubled since.
                self._threads = {t for t in self._threads if t.is_alive()}
                self._prune_at = max(256, 2 * len(self._threads))
            self._threads.add(thread)
        # Queued before the child runs, so before its end: atomic (LNK-2, MON-5).
        ref = None
        if parent is None:  # spawned for another node (spawn_on): no parent here
            link = monitor = False
        if link:
            assert parent is not None
            with parent.exc_lock:
                parent.links.add(pid)
            actor.links.add(parent.pid)
            self.monitor.request("link", parent.pid, pid)
        if monitor:
            assert parent is not None
            ref = self.make_ref()
            with parent.exc_lock:
                parent.monitors[ref] = pid
            self.monitor.request("monitor", parent.pid, pid, ref)
        try:
            thread.start()
        except BaseException as e:
            with self._lock:
                self._threads.discard(thread)
            if parent is not None:
                with parent.exc_lock:
                    parent.links.discard(pid)
                    if ref is not None:
                        parent.monitors.pop(ref, None)
                if link:
                    self.monitor.request("unlink", parent.pid, pid)
                if ref is not None:
                    self.monitor.request("demonitor", parent.pid, ref)
            self.actor_ended(actor, NOPROC)
            raise SpawnError(f"cannot start the thread of a new actor: {e}") from e
        return pid, ref

    def _run(self, actor: Actor, fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        _tls.actor = actor
        reason: Any = NORMAL
        crash: BaseException | None = None
        try:
            with actor.exc_lock:
                _interrupt.thread_started(actor)
                actor.ident = threading.get_ident()
                actor.native_id = threading.get_native_id()
                pending = actor.pending_exit
            _affinity.apply_here()
            if pending is not NO_EXIT:
                raise_exit(actor)
            try:
                fn(*args, **kwargs)
            except Exit as e:
                reason = e.reason
            except BaseException as e:
                crash = e
        except Exit as e:
            # Raised before fn ran (an exit signal came first), or by the
            # PyThreadState_SetAsyncExc fallback outside fn's frames.
            reason = e.reason
        finally:
            # From here on nothing is raised into this thread. Inline, not in
            # a helper: only the SetAsyncExc fallback can fire here, at most
            # once, and possibly on entering a function.
            while True:
                try:
                    with actor.exc_lock:
                        actor.depth += 1
                        actor.ending = True
                        withdraw(actor)
                    break
                except Exit:
                    continue
            if actor.pending_exit is not NO_EXIT:
                # The first reason wins, also over an exit it swallowed and
                # over an exception its cleanup raised.
                reason = actor.pending_exit
                if crash is not None and not actor.dead:
                    self._crash(actor, crash, exiting=reason)
            elif crash is not None:
                reason = self._crash(actor, crash)
            self.actor_ended(actor, reason, crash_logged=crash is not None)
            # Killed while inside the runtime: the killer left these to us.
            actor.mailbox.release()

    def _crash(self, actor: Actor, exc: BaseException, **exiting: Any) -> Any:
        logger.error(
            "crash_report",
            pid=repr(actor.pid),
            function=actor.function,
            error=repr(exc),
            exc_info=exc,
            **{k: repr(v) for k, v in exiting.items()},
        )
        return exc

    def actor_ended(self, actor: Actor, reason: Any, crash_logged: bool = False) -> None:
        """Release an actor that ended with ``reason`` and announce its end.

        The name goes first (whoever sees the end can take it at once), then
        the fds, then the table entry; the monitor thread is told last.
        """
        with actor.exc_lock:
            if actor.dead:
                return
            actor.dead = True
            owner_busy = actor.depth > 0 and actor.thread is not threading.current_thread()
        reason = portable(reason)
        actor.exit_reason = reason
        pid = actor.pid
        self.registry.release(pid)
        if owner_busy:
            # Its thread is inside the runtime (killed): wake it, and let it
            # close its own fds on the way out rather than pull them away.
            actor.mailbox.shut()
        else:
            actor.mailbox.release()
        if _quiet(reason):
            logger.debug("actor_exit", pid=repr(pid), reason=reason)
        elif not crash_logged:
            logger.warning("actor_exit", pid=repr(pid), reason=repr(reason))
        self.unannounced[pid] = actor
        self.actors.pop(pid, None)
        self.timers.forget(pid)  # after the table: see Timers.send_after
        self.monitor.request("ended", pid, reason)

    # -- messages --------------------------------------------------------

    def deliver(self, sender: Actor, dest: Pid, frame: bytes) -> None:
        target = self.actors.get(dest)
        if target is None:
            return  # dead (or not of this node): dropped, as in Erlang
        deliver(sender.mailbox.sock, target.mailbox, frame, self.wake, sender.mailbox)
        if target.mailbox.limit:
            self.check_mailbox(target)

    def resolve(self, dest: Pid | str) -> Pid:
        if isinstance(dest, Pid):
            return dest
        if isinstance(dest, str):
            pid = self.registry.whereis(dest)
            if pid is None:
                raise NoProc(f"no process is registered as {dest!r}")
            return pid
        raise TypeError(f"a destination is a Pid or a registered name, not {type(dest).__name__}")

    def send_timer_frame(self, timer: int, dest: Pid | str, frame: bytes) -> None:
        pid = self.registry.whereis(dest) if isinstance(dest, str) else dest
        if pid is None:
            return
        target = self.actors.get(pid)
        if target is not None:
            deliver(self.waker, target.mailbox, _wire.encode_timer(timer, frame), self.wake)
            if target.mailbox.limit:
                self.check_mailbox(target)
        elif self.is_remote(pid):
            self.send_remote(None, pid, frame)

    def wake(self, mailbox: Mailbox) -> None:
        """Make sure a sleeping owner looks at its backlog or its exit."""
        try:
            self.waker.sendto(_wire.WAKE, socket.MSG_DONTWAIT, mailbox.address)
        except BlockingIOError:
            # Its socket is full (it will wake anyway) or our send buffer is:
            # try again shortly rather than risk a sleeper with work to do.
            mailbox.woken = False
            self.timers.call_later(0.001, lambda: self._rewake(mailbox))
        except OSError:
            # Closed (nothing to wake), or no buffer space: let the next
            # sender try again rather than believe a wake-up is on its way.
            mailbox.woken = False

    def _rewake(self, mailbox: Mailbox) -> None:
        if mailbox.closed or not mailbox.sleeping or mailbox.woken:
            return
        mailbox.woken = True
        self.wake(mailbox)

    def untrusted(self, sender: int, size: int) -> None:
        if sender in self._untrusted_seen:
            return
        self._untrusted_seen.add(sender)
        logger.warning("untrusted_sender_dropped", sender_os_pid=sender, size=size)

    # -- exits -----------------------------------------------------------

    @staticmethod
    def exiting(actor: Actor) -> bool:
        """Already on its way out (not alive, as Erlang's ``is_process_alive``
        says): further exit signals but ``kill`` are ignored."""
        return actor.pending_exit is not NO_EXIT or actor.ending or actor.dead

    def signal_exit(self, actor: Actor, reason: Any) -> None:
        """Make ``actor`` end with ``reason`` (SPEC §4, delivery to a thread).

        Waiting in ``receive``: woken, ``Exit`` raised there. In Python code:
        interrupted at its next line (``_interrupt``). Inside the runtime:
        raised on the way out. Adopted threads: at their next runtime call.
        """
        with actor.exc_lock:
            if self.exiting(actor):
                return
            actor.pending_exit = reason
            self._interrupt(actor)
        self.wake(actor.mailbox)

    @staticmethod
    def _interrupt(actor: Actor) -> None:
        """Arm an interruption if the thread runs its own code (the caller
        holds ``exc_lock``)."""
        if not actor.adopted and actor.depth == 0 and actor.ident is not None:
            actor.injected = True
            _interrupt.arm(actor)

    def kill(self, actor: Actor, reason: Any = KILLED) -> None:
        """End ``actor`` with ``reason`` (``killed``) now: dead for everyone
        at once, whether it traps exits or not."""
        with actor.exc_lock:
            if actor.dead:
                return
            actor.pending_exit = reason
            # Raised again even if an earlier exit was: its cleanup is over.
            actor.exit_exc = None
            if not actor.ending:
                self._interrupt(actor)
        self.actor_ended(actor, reason)

    def check_mailbox(self, actor: Actor) -> None:
        """Kill ``actor`` if its mailbox holds more than its ``max_mailbox``."""
        mailbox = actor.mailbox
        if mailbox.limit and mailbox.queue_length() > mailbox.limit:
            logger.error(
                "mailbox_overflow",
                pid=repr(actor.pid),
                limit=mailbox.limit,
                length=mailbox.queue_length(),
            )
            self.kill(actor, MAILBOX_OVERFLOW)

    def exit_signal(
        self,
        sender: Pid,
        target: Actor,
        reason: Any,
        sock: socket.socket,
        sender_mailbox: Mailbox | None = None,
    ) -> None:
        """``exit(pid, reason)``: the reception table of SPEC §4, applied now.

        Called by the sender's thread (or, for a sender on another node, by
        our monitor thread): an ``ExitSignal`` goes from ``sock``, so it is
        ordered with the sender's messages (SIG-1); a kill is complete when
        this returns.
        """
        if reason == KILL:
            self.kill(target)
            return
        with target.exc_lock:
            if self.exiting(target):
                return
            if target.trap_exit:
                frame = _wire.encode(ExitSignal(sender, portable(reason)))
                deliver(sock, target.mailbox, frame, self.wake, sender_mailbox)
                return
            if reason == NORMAL and target.pid != sender:
                return
        self.signal_exit(target, reason)

    def shutdown(self, timeout: float | None) -> None:
        self.closing = True
        me = getattr(_tls, "actor", None)
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        for actor in list(self.actors.values()):
            if actor is not me and not actor.adopted:
                self.signal_exit(actor, SHUTDOWN)
        current = threading.current_thread()
        for thread in list(self._threads):
            if thread is not current and thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        for actor in list(self.actors.values()):
            if actor.adopted or actor is me:
                actor.exit_exc = _GONE  # its thread just carries on in a new node
                self.actor_ended(actor, SHUTDOWN)
                continue
            # Still running: killed, dead for everyone now, thread abandoned.
            # Its fds are closed now if it runs its own code, else by itself
            # as it leaves the runtime (``actor_ended``): never under it.
            self.kill(actor)
        self.timers.stop()
        self.monitor.stop()
        # After the monitor thread, the only one that starts watching nodes.
        if self._watcher is not None:
            self._watcher.stop()
        if self._outbox is not None:
            self._outbox.stop(max(0.5, deadline - time.monotonic()))
        for sock in self._name_socks:
            sock.close()
        if self.name is not None:
            trust.uid = -2
        self.registry.clear()
        self.unannounced.clear()
        self.waker.close()


def portable(reason: Any) -> Any:
    """``reason``, or ``UnpicklableError(repr(reason))`` if it would not
    survive the trip to another actor (both ways: some exceptions pickle but
    do not unpickle)."""
    if reason.__class__ in (str, int, NoneType):
        return reason
    try:
        pickle.loads(pickle.dumps(reason))
    except Exception:
        return UnpicklableError(repr(reason))
    return reason


NoneType = type(None)


def _quiet(reason: Any) -> bool:
    """Ends that are not worth more than a debug line (as OTP logs them)."""
    if isinstance(reason, tuple):
        return len(reason) == 2 and reason[0] == SHUTDOWN
    return bool(reason == NORMAL) or bool(reason == SHUTDOWN)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # pragma: no cover - not allowed here
            pass


_node: Node | None = None
_node_lock = threading.Lock()


def get_node() -> Node:
    """The running node, started on first use."""
    node = _node
    if node is None:
        with _node_lock:
            node = _node_start()
    return node


def _node_start() -> Node:
    global _node
    if _node is None:
        _node = Node()
    return _node


def existing_node() -> Node | None:
    """The running node, if one is."""
    return _node


def caller_node() -> Node:
    """The node of the calling actor (adopting the thread if needed)."""
    return current_actor().node


# Stands for "an exit was raised" where none may be raised again.
_GONE: Final = Exit(SHUTDOWN)


def current_actor() -> Actor:
    """The calling thread's actor; adopts a thread that is not one yet.

    Outside the runtime, an exit signal that will end it and is not being
    handled right now (not raised yet, or swallowed) is raised here.
    """
    try:
        actor: Actor = _tls.actor
    except AttributeError:
        return get_node().adopt(threading.current_thread())
    if actor.dead:
        if actor.adopted and actor.exit_exc is not None:
            return get_node().adopt(threading.current_thread())
        _raise_ended(actor)
    if actor.pending_exit is not NO_EXIT and actor.depth == 0 and exit_due(actor):
        raise_exit(actor)
    return actor


def _raise_ended(actor: Actor) -> NoReturn:
    """A runtime call of an actor that has ended (killed, its thread astray)."""
    reason = actor.exit_reason
    with actor.exc_lock:
        exc = actor.exit_exc = Exit(KILLED if reason is None else reason)
        withdraw(actor)
    raise exc


def withdraw(actor: Actor) -> None:
    """Cancel an interruption armed for ``actor`` (in its own thread; the
    caller holds ``exc_lock``)."""
    if actor.injected:
        actor.injected = False
        _interrupt.disarm(actor)


def exit_due(actor: Actor) -> bool:
    """Whether the pending exit must be raised: it was not yet, or it was and
    the thread is no longer handling it (it swallowed it)."""
    exc = actor.exit_exc
    if exc is None:
        return True
    if exc is _GONE:
        return False
    handled = sys.exc_info()[1]
    for _ in range(64):  # (a bound: __context__ chains can loop)
        if handled is None:
            return True
        if handled is exc:
            return False
        handled = handled.__context__
    return False


def interrupted(actor: Actor) -> Exit | None:
    """``_interrupt``'s hook, in ``actor``'s thread at a line of its own code:
    the exit to raise there, or ``None`` if it is inside the runtime or its
    exit is raised already and being handled."""
    if actor.depth or actor.pending_exit is NO_EXIT or not exit_due(actor):
        return None
    exc = actor.exit_exc = Exit(actor.pending_exit)  # now: a kill may have replaced it
    return exc


_interrupt.install(interrupted)


def raise_exit(actor: Actor) -> NoReturn:
    """Raise the pending exit; an adopted thread's actor ends here."""
    # Under the lock, and withdrawing an interruption armed for it: raised
    # here at depth 0 (``current_actor``), the exit may have been armed as
    # well, and the hook must not raise it a second time in the cleanup it
    # starts. A kill after this re-arms with ``exit_exc`` cleared.
    with actor.exc_lock:
        reason = actor.pending_exit
        exc = actor.exit_exc = Exit(reason)
        withdraw(actor)
    if actor.adopted:
        actor.node.actor_ended(actor, reason)
        # Killed while inside the runtime, the killer left our fds to us.
        actor.mailbox.release()
    raise exc


def enter() -> Actor:
    """Start a runtime call: nothing is raised into the thread until ``leave``."""
    actor = current_actor()
    try:
        # ``with`` so that an exit the SetAsyncExc fallback raises in here
        # still releases the lock.
        with actor.exc_lock:
            # Killed since current_actor looked: the killer saw depth 0 and
            # closed our fds, so we must not go on to use them.
            dead = actor.dead
            if not dead:
                actor.depth += 1
                withdraw(actor)
    except BaseException:
        actor.depth -= 1
        raise
    if dead:
        _raise_ended(actor)
    if actor.adopted:
        return actor
    if actor.pending_exit is not NO_EXIT and actor.depth == 1 and exit_due(actor):
        actor.depth = 0
        raise_exit(actor)
    return actor


def leave(actor: Actor) -> None:
    """End a runtime call; an exit that came meanwhile is raised now."""
    if actor.depth > 1:
        actor.depth -= 1
        return
    # Under the lock a signaller sets ``pending_exit`` and reads ``depth``
    # under: either it sees 0 and arms an interruption, or we see its exit.
    # Two plain fields, one written and the other read on each side, need a
    # full fence, which without the GIL only the lock gives.
    with actor.exc_lock:
        actor.depth = 0
    if actor.pending_exit is not NO_EXIT and exit_due(actor):
        raise_exit(actor)
    if actor.dead:
        # Ended by another thread (shutdown) while we were in here: it
        # only shut our socket; its fds are ours to close.
        actor.mailbox.release()


def shutdown_node(timeout: float | None) -> None:
    global _node
    me = getattr(_tls, "actor", None)
    if me is not None and not me.dead and not me.adopted:
        # An actor stopping the node: nothing may be injected into it while
        # it does (its own links end with "shutdown" meanwhile).
        with me.exc_lock:
            me.depth += 1
            withdraw(me)
    with _node_lock:
        node, _node = _node, None
    if node is not None:
        node.shutdown(timeout)


@atexit.register
def _at_exit() -> None:
    shutdown_node(5.0)
