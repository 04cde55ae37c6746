"""The public functions of SPEC §2, §3 and §5."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, overload

from . import _affinity, _remote, _wire
from ._errors import NOCONNECTION, NOPROC, ActorError, Exit, NoProc, SpawnError, Timeout
from ._mailbox import deliver as _deliver
from ._monitor import SPAWNED
from ._node import (
    Node,
    caller_node,
    current_actor,
    enter,
    existing_node,
    leave,
    portable,
    shutdown_node,
)
from ._patterns import ANY, compile_receive
from ._pid import Pid, Ref
from ._receive import NO_DEFAULT, _TimedOut, check_timeout, purge_timer, receive_in
from ._signals import Down, ExitSignal, NodeDown

__all__ = [
    "cancel_timer",
    "demonitor",
    "exit",
    "info",
    "is_alive",
    "link",
    "make_ref",
    "monitor",
    "processes",
    "receive",
    "register",
    "registered",
    "self",
    "send",
    "send_after",
    "shutdown",
    "spawn",
    "spawn_link",
    "spawn_monitor",
    "spawn_opt",
    "trap_exit",
    "unlink",
    "unregister",
    "whereis",
]

_encode = _wire.encode


def spawn(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Pid:
    """Start ``fn(*args, **kwargs)`` in a new actor and return its pid."""
    pid: Pid = spawn_opt(fn, args, kwargs)
    return pid


def spawn_link(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Pid:
    """Spawn and link to the new actor atomically."""
    pid: Pid = spawn_opt(fn, args, kwargs, link=True)
    return pid


def spawn_monitor(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> tuple[Pid, Ref]:
    """Spawn and monitor the new actor atomically: ``(pid, ref)``."""
    result: tuple[Pid, Ref] = spawn_opt(fn, args, kwargs, monitor=True)
    return result


def spawn_opt(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    link: bool = False,
    monitor: bool = False,
    name: str | None = None,
    trap_exit: bool = False,
    max_mailbox: int | None = None,
) -> Any:
    """Spawn with options; returns ``Pid``, or ``(Pid, Ref)`` with ``monitor=True``.

    ``max_mailbox``: when more than this many messages wait for the actor,
    it is killed with reason ``"mailbox_overflow"`` (``None``: unbounded).
    """
    _need_plain_callable(fn, "spawn")
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, not {type(args).__name__}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError(f"kwargs must be a dict, not {type(kwargs).__name__}")
    if name is not None:
        _check_name(name)
    if not isinstance(trap_exit, bool):
        raise TypeError(f"trap_exit is a bool, not {trap_exit!r}")
    if max_mailbox is not None:
        if isinstance(max_mailbox, bool) or not isinstance(max_mailbox, int):
            raise TypeError(f"max_mailbox must be an int or None, not {max_mailbox!r}")
        if max_mailbox < 1:
            raise ValueError(f"max_mailbox must be >= 1, not {max_mailbox}")
    actor = enter()
    try:
        pid, ref = actor.node.spawn(
            actor,
            fn,
            args,
            kwargs or {},
            name=name,
            trap_exit=trap_exit,
            link=bool(link),
            monitor=bool(monitor),
            max_mailbox=max_mailbox or 0,
        )
    finally:
        leave(actor)
    return (pid, ref) if monitor else pid


def self() -> Pid:
    """The pid of the calling actor (adopting the calling thread if needed)."""
    return current_actor().pid


def send(dest: Pid | str | tuple[str, str], msg: Any) -> None:
    """Send a copy of ``msg`` to ``dest``: a pid (of any node), a registered
    name, or ``(name, node)`` for a name registered on another node.

    Never blocks. A dead pid drops the message; an unregistered name raises
    ``NoProc``; an unpicklable message raises and nothing is sent.
    """
    actor = enter()
    try:
        node = actor.node
        if isinstance(dest, tuple):
            _send_named_remote(actor, dest, msg)
            return
        pid = dest if dest.__class__ is Pid else node.resolve(dest)
        frame = _encode(msg)
        target = node.actors.get(pid)
        if target is not None:
            mailbox = actor.mailbox
            _deliver(mailbox.sock, target.mailbox, frame, node.wake, mailbox)
            if target.mailbox.limit:
                node.check_mailbox(target)
        elif node.is_remote(pid):
            node.send_remote(actor, pid, frame)
        # else dead: dropped, as in Erlang
    finally:
        leave(actor)


def _send_named_remote(actor: Any, dest: tuple[Any, ...], msg: Any) -> None:
    if len(dest) != 2 or not isinstance(dest[0], str) or not isinstance(dest[1], str):
        raise TypeError(f"a remote name is (name, node), two strs, not {dest!r}")
    name, node_name = dest
    node = actor.node
    if node_name == node.name:
        send(name, msg)
        return
    key = _remote.list_nodes().get(node_name)
    if key is None:
        return  # no such node: dropped, as Erlang drops it
    node.to_node(actor, key, _wire.encode_control(("rsend", name, _encode(msg))))


def receive(*patterns: Any, timeout: float | None = None, default: Any = NO_DEFAULT) -> Any:
    """Take the oldest message matching any of ``patterns`` (all if none).

    Messages it skips keep their place for later receives (Erlang's scan
    order). Waits up to ``timeout`` seconds (``None``: forever, ``0``: no
    wait); then returns ``default`` if given, else raises ``Timeout``.

    A pattern is:

    * ``ta.ANY``: any message;
    * a class: ``isinstance(msg, cls)`` (``ta.Down``, ``str``, ...);
    * a tuple or list: a tuple or list of the same length whose elements
      match element by element (a tuple never matches a list);
    * a dict: a dict holding each of its keys, with matching values;
    * any other callable: ``bool(pattern(msg))`` (a predicate; if it raises,
      the error propagates and the message stays in the mailbox);
    * anything else: ``msg == pattern``.

    Patterns nest: ``receive(("ping", ta.Pid), "stop", timeout=5)``.
    """
    if timeout is not None:
        timeout = check_timeout(timeout)
    matcher, keys = compile_receive(patterns)
    actor = enter()
    try:
        return receive_in(actor, matcher, keys, timeout)
    except _TimedOut:
        if default is NO_DEFAULT:
            raise Timeout(f"no matching message within {timeout} s") from None
        return default
    finally:
        leave(actor)


@overload
def exit(reason: Any, /) -> NoReturn: ...  # noqa: A001
@overload
def exit(pid: Pid, reason: Any, /) -> None: ...  # noqa: A001
def exit(*args: Any) -> None:  # noqa: A001 - Erlang's name, by design
    """``exit(reason)`` ends the caller; ``exit(pid, reason)`` sends an exit signal.

    The signal's effect follows SPEC §4: ``"kill"`` ends ``pid`` with
    ``"killed"`` before this returns; ``"normal"`` is ignored unless ``pid``
    traps exits (or is the caller); any other reason ends ``pid``, or reaches
    it as an ``ExitSignal`` message if it traps exits.
    """
    if len(args) == 1:
        # A plain exception, as Erlang's exit/1: catchable, and the actor is
        # not "exiting" until it leaves its function.
        raise Exit(args[0])
    if len(args) != 2:
        raise TypeError(f"exit takes (reason) or (pid, reason), not {len(args)} arguments")
    pid, reason = args
    if not isinstance(pid, Pid):
        raise TypeError(f"exit(pid, reason) takes a Pid, not {type(pid).__name__}")
    actor = enter()
    try:
        node = actor.node
        target = node.actors.get(pid)
        if target is not None:
            node.exit_signal(actor.pid, target, reason, actor.mailbox.sock, actor.mailbox)
        elif node.is_remote(pid):
            # The way its messages go: behind what it sent there before.
            _tell_node(actor, pid, ("rsignal", pid, actor.pid, _wire.wrap(portable(reason))))
    finally:
        leave(actor)


def trap_exit(flag: bool) -> bool:
    """Set whether exit signals become ``ExitSignal`` messages; returns the old flag."""
    if not isinstance(flag, bool):
        raise TypeError(f"trap_exit takes True or False, not {flag!r}")
    actor = enter()
    try:
        with actor.exc_lock:
            previous = actor.trap_exit
            actor.trap_exit = flag
        return previous
    finally:
        leave(actor)


def link(pid: Pid) -> None:
    """Link the caller and ``pid`` (both ways; idempotent).

    ``pid`` not alive: ``NoProc``, or an ``ExitSignal(pid, "noproc")``
    message if the caller traps exits.
    """
    if not isinstance(pid, Pid):
        raise TypeError(f"link takes a Pid, not {type(pid).__name__}")
    actor = enter()
    try:
        if pid == actor.pid:
            return
        node = actor.node
        remote = node.is_remote(pid)
        if remote:
            _need_name(node, "link")
        elif pid not in node.actors:
            if not actor.trap_exit:
                raise NoProc(f"{pid!r} is not alive")
            node.deliver(actor, actor.pid, _encode(ExitSignal(pid, NOPROC)))
            return
        with actor.exc_lock:
            if pid in actor.links:
                return
            actor.links.add(pid)
        if remote:
            # Told by us, the way our messages go there: linked before any
            # later message of ours arrives (SPEC §8).
            _tell_node(actor, pid, ("rlink", actor.pid, pid))
        node.monitor.request("link", actor.pid, pid)
    finally:
        leave(actor)


def unlink(pid: Pid) -> None:
    """Remove the link with ``pid``; once this returns it has no effect on the caller."""
    if not isinstance(pid, Pid):
        raise TypeError(f"unlink takes a Pid, not {type(pid).__name__}")
    actor = enter()
    try:
        with actor.exc_lock:
            if pid not in actor.links:
                return
            actor.links.discard(pid)
        if actor.node.is_remote(pid):
            _tell_node(actor, pid, ("runlink", actor.pid, pid))
        actor.node.monitor.request("unlink", actor.pid, pid)
    finally:
        leave(actor)


def monitor(target: Pid | str | tuple[str, str]) -> Ref:
    """Monitor ``target``: a ``Down(ref, target, reason)`` message when it ends
    (at once, with ``"noproc"``, if it is not alive).

    ``target`` is a pid, a registered name, or ``(name, node)``: a name is
    looked up once, now, and the ``Down`` carries the name (or the tuple)
    in place of the pid; ``"noproc"`` if it is not registered, and
    ``"noconnection"`` if ``node`` is not up (SPEC §8).
    """
    if not isinstance(target, Pid):
        return _monitor_name(target, *_name_and_node(target))
    actor = enter()
    try:
        node = actor.node
        remote = node.is_remote(target)
        if remote:
            _need_name(node, "monitor")
        ref = node.make_ref()
        _start_monitor(actor, target, ref, ("rmonitor", actor.pid, target, ref) if remote else None)
        return ref
    finally:
        leave(actor)


def _monitor_name(target: Any, name: str, where: str | None) -> Ref:
    """``monitor(name)`` or ``monitor((name, where))``."""
    actor = enter()
    try:
        node = actor.node
        ref = node.make_ref()
        if where is None or where == node.name:
            pid = node.registry.whereis(name)
            if pid is None:
                node.deliver(actor, actor.pid, _encode(Down(ref, target, NOPROC)))
            else:
                # ``recent``: the real reason if it ends before the request
                # is served, as the BEAM's lookup and monitor are one step.
                _start_monitor(actor, pid, ref, None, shown=target, recent=True)
            return ref
        _need_name(node, "monitor")
        key = _remote.list_nodes().get(where)
        if key is None:
            node.deliver(actor, actor.pid, _encode(Down(ref, target, NOCONNECTION)))
        else:
            # Looked up there; its monitor thread stands for the target here
            # (its node going down fires it, a demonitor goes there).
            tell = ("rmonitor_name", actor.pid, name, ref)
            _start_monitor(actor, _remote.node_pid(key), ref, tell, shown=target)
        return ref
    finally:
        leave(actor)


def demonitor(ref: Ref, flush: bool = False) -> None:
    """Stop monitor ``ref``: no ``Down`` for it arrives after this returns.

    With ``flush=True`` a ``Down`` of it already in the mailbox is removed
    too. An unknown or spent ref is harmless.
    """
    if not isinstance(ref, Ref):
        raise TypeError(f"demonitor takes a Ref, not {type(ref).__name__}")
    actor = enter()
    try:
        with actor.exc_lock:
            target = actor.monitors.pop(ref, None)
            actor.monitor_names.pop(ref, None)
        if target is not None:
            if actor.node.is_remote(target):
                _tell_node(actor, target, ("rdemonitor", actor.pid, ref))
            actor.node.monitor.request("demonitor", actor.pid, ref)
        if flush:
            receive_in(
                actor,
                lambda m: m.__class__ is Down and m.ref == ref,
                None,
                0,
            )
    except _TimedOut:
        pass
    finally:
        leave(actor)


def make_ref() -> Ref:
    """A new unique reference."""
    return caller_node().make_ref()


def is_alive(pid: Pid) -> bool:
    """Whether ``pid`` is a live actor of this node: not ended, and not
    exiting (``False`` as soon as an exit signal that will end it was sent)."""
    if not isinstance(pid, Pid):
        raise TypeError(f"is_alive takes a Pid, not {type(pid).__name__}")
    actor = caller_node().actors.get(pid)
    return actor is not None and not Node.exiting(actor)


def processes() -> list[Pid]:
    """The actors of this node, exiting ones included (as Erlang's)."""
    return sorted(caller_node().actors)


def info(pid: Pid) -> dict[str, Any] | None:
    """What the runtime knows of ``pid``; ``None`` once it has ended (an
    exiting actor, running its cleanup, has ``status`` ``"exiting"``)."""
    if not isinstance(pid, Pid):
        raise TypeError(f"info takes a Pid, not {type(pid).__name__}")
    node = caller_node()
    actor = node.actors.get(pid)
    if actor is None:
        return None
    mailbox = actor.mailbox
    return {
        "pid": pid,
        "name": node.registry.name_of(pid),
        "status": actor.status,
        "message_queue_len": mailbox.queue_length(),
        "save_queue_len": len(mailbox.save),
        "save_queue_bytes": mailbox.save.file_size,
        "mailbox_bytes": mailbox.queue_bytes(),
        "max_mailbox": mailbox.limit or None,
        "links": sorted(set(actor.links)),
        "monitors": sorted(set(dict(actor.monitors).values())),
        "monitored_by": node.monitor.monitored_by(pid),
        "trap_exit": actor.trap_exit,
        "function": actor.function,
        "thread_id": actor.native_id,
        "adopted": actor.adopted,
    }


def register(name: str, pid: Pid | None = None) -> None:
    """Register ``name`` for ``pid`` (default: the caller).

    ``NameTaken`` if the name is in use or the actor has a name already;
    ``NoProc`` if ``pid`` is not alive.
    """
    _check_name(name)
    if pid is not None and not isinstance(pid, Pid):
        raise TypeError(f"register takes a Pid, not {type(pid).__name__}")
    actor = enter()
    try:
        node = actor.node
        if pid is None:
            pid = actor.pid
        target = node.actors.get(pid)
        if target is None or Node.exiting(target):
            raise NoProc(f"{pid!r} is not alive")
        node.registry.register(name, pid)
        if target.dead:  # it ended meanwhile: its name must not outlive it
            node.registry.release(pid)
            raise NoProc(f"{pid!r} is not alive")
    finally:
        leave(actor)


def unregister(name: str) -> None:
    """Remove the registered ``name``; ``NoProc`` if it is not registered."""
    if not isinstance(name, str):
        raise TypeError(f"a name is a str, not {type(name).__name__}")
    actor = enter()
    try:
        if actor.node.registry.unregister(name) is None:
            raise NoProc(f"no process is registered as {name!r}")
    finally:
        leave(actor)


def whereis(name: str) -> Pid | None:
    """The pid registered as ``name``, or ``None``."""
    if not isinstance(name, str):
        raise TypeError(f"a name is a str, not {type(name).__name__}")
    return caller_node().registry.whereis(name)


def registered() -> list[str]:
    """All registered names of this node."""
    return sorted(caller_node().registry.names())


def send_after(seconds: float, dest: Pid | str, msg: Any) -> Ref:
    """Send ``msg`` to ``dest`` after ``seconds``; returns the timer's ref.

    A name is looked up when the timer fires (nothing happens if it is not
    registered then).
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds must be a number, not {seconds!r}")
    if not seconds >= 0 or math.isinf(seconds):
        raise ValueError(f"seconds must be finite and >= 0, not {seconds!r}")
    if not isinstance(dest, (Pid, str)):
        raise TypeError(f"a destination is a Pid or a registered name, not {type(dest).__name__}")
    frame = _encode(msg)
    actor = enter()
    try:
        node = actor.node
        ref = node.make_ref()
        node.timers.send_after(float(seconds), ref._key[2], dest, frame)
        return ref
    finally:
        leave(actor)


def cancel_timer(ref: Ref) -> float | None:
    """Cancel a timer: the seconds that were left, or ``None``.

    When the caller is the timer's destination, its message is never
    received after this returns, even if the timer had fired already.
    """
    if not isinstance(ref, Ref):
        raise TypeError(f"cancel_timer takes a Ref, not {type(ref).__name__}")
    actor = enter()
    try:
        node = actor.node
        if ref._key[:2] != (node.os_pid, node.nonce):
            return None
        left = node.timers.cancel(ref._key[2])
        if left is None:
            purge_timer(actor, ref._key[2])
        return left
    finally:
        leave(actor)


def set_affinity(cpus: Iterable[int] | None) -> None:
    """Keep this node's threads on ``cpus`` (CPU numbers); ``None`` undoes it.

    Applies at once to every actor thread (adopted ones included) and to the
    runtime's threads, and to every actor started later, of this node and
    of later ones. Threads those threads start inherit the mask (Linux).
    One CPU suits pure-Python actors under the GIL: a message then never
    waits for another CPU to wake up. It hurts work that releases the GIL
    (I/O, hashing, NumPy), which could otherwise run in parallel.
    """
    mask = _affinity.choose(cpus)
    node = existing_node()
    if node is not None:
        _affinity.move(node.native_ids(), mask)


def _tell_node(actor: Any, pid: Pid, op: tuple[Any, ...]) -> None:
    """A control op for the monitor thread of ``pid``'s node, from ``actor``'s
    socket: in order with the messages it sends there (SPEC §8)."""
    key = pid._key
    actor.node.to_node(actor, (key[0], key[1]), _wire.encode_control(op))


def _start_monitor(
    actor: Any,
    pid: Pid,
    ref: Ref,
    tell: tuple[Any, ...] | None,
    *,
    shown: Any = None,
    recent: bool = False,
) -> None:
    """Start monitor ``ref`` of ``actor`` on ``pid`` (the caller is inside the
    runtime). ``tell``: the request for ``pid``'s node, if another; ``shown``:
    what the ``Down`` carries in place of ``pid`` (a monitor by name)."""
    with actor.exc_lock:
        actor.monitors[ref] = pid
        if shown is not None:
            actor.monitor_names[ref] = shown
    if tell is not None:
        _tell_node(actor, pid, tell)
    actor.node.monitor.request("monitor", actor.pid, pid, ref, recent)


def _name_and_node(target: Any) -> tuple[str, str | None]:
    """``monitor``'s name forms: ``name`` or ``(name, node)``."""
    if isinstance(target, str):
        return target, None
    if (
        isinstance(target, tuple)
        and len(target) == 2
        and isinstance(target[0], str)
        and isinstance(target[1], str)
    ):
        return target[0], target[1]
    raise TypeError(
        f"monitor takes a Pid, a name or a (name, node) tuple, not {type(target).__name__}"
    )


def _need_plain_callable(fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{what} needs a callable, not {fn!r}")
    if inspect.iscoroutinefunction(fn) or (
        not isinstance(fn, type) and inspect.iscoroutinefunction(type(fn).__call__)
    ):
        # Its call would only make a coroutine, never awaited: the actor
        # would end "normal" at once, having done nothing.
        raise TypeError(
            f"{what} runs plain functions in threads; {fn!r} is a coroutine function"
            " (async actors are not supported yet)"
        )


def _check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"a name is a str, not {type(name).__name__}")
    if not name:
        raise ValueError("a name cannot be empty")


def _need_name(node: Any, what: str) -> None:
    if node.name is None:
        # The other node's answers would be dropped here: refuse now rather
        # than wait forever.
        raise ActorError(
            f"{what} with another node needs this node to be named: ta.start(name) first"
        )


def start(name: str) -> None:
    """Name this node (starting it if needed) so that processes of the same
    user may reach its actors; ``NameTaken`` if a node of that name runs on
    this host. Unnamed nodes accept messages from their own process only."""
    caller_node().take_name(name)


def node() -> str | None:
    """The name of this node (``None`` until ``start``)."""
    return caller_node().name


def nodes() -> list[str]:
    """The other named nodes of this user on this host."""
    me = caller_node().name
    return sorted(n for n in _remote.list_nodes() if n != me)


def monitor_node(name: str) -> None:
    """A ``NodeDown(name)`` message when node ``name`` goes down (at once if
    it is not up)."""
    if not isinstance(name, str):
        raise TypeError(f"a node name is a str, not {type(name).__name__}")
    actor = enter()
    try:
        _need_name(actor.node, "monitor_node")
        key = _remote.list_nodes().get(name)
        if key is None:
            actor.node.deliver(actor, actor.pid, _encode(NodeDown(name)))
            return
        actor.node.monitor.request("monitor_node", actor.pid, key, name)
    finally:
        leave(actor)


def spawn_on(node_name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Pid:
    """Start ``fn(*args, **kwargs)`` in a new actor on node ``node_name``.

    ``fn`` travels by name (module and qualified name) and must be
    importable there; ``SpawnError`` if it is not, or the node is not up.
    """
    _need_plain_callable(fn, "spawn_on")
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname:
        raise TypeError(f"spawn_on needs a function importable by name, not {fn!r}")
    me = caller_node()
    if node_name == me.name:
        return spawn(fn, *args, **kwargs)
    _need_name(me, "spawn_on")
    key = _remote.list_nodes().get(node_name)
    if key is None:
        raise SpawnError(f"no node named {node_name!r} is up")
    sealed = _wire.wrap((args, kwargs), "what spawn_on passes")  # fails here if unpicklable
    actor = enter()
    try:
        node = actor.node
        ref = node.make_ref()
        watch = node.make_ref()
        # Its monitor thread answers; a Down of that thread's node stands in
        # for an answer that will never come.
        there = _remote.node_pid(key)
        _start_monitor(actor, there, watch, ("rmonitor", actor.pid, there, watch))
        frame = _wire.encode_control(("rspawn", actor.pid, ref, module, qualname, sealed))
        node.to_node(actor, key, frame)
    finally:
        leave(actor)
    try:
        got = receive((SPAWNED, ref, ANY), lambda m: m.__class__ is Down and m.ref == watch)
    finally:
        demonitor(watch, flush=True)
    if isinstance(got, Down):
        raise SpawnError(f"node {node_name!r} went down ({got.reason})")
    answer = got[2]
    if isinstance(answer, SpawnError):
        raise answer
    return answer  # type: ignore[no-any-return]


def shutdown(timeout: float | None = 5.0) -> None:
    """Stop the node: exit ``shutdown`` to every actor, wait up to ``timeout``
    seconds (``None``: as long as it takes), kill the rest, close every fd.
    The next runtime call starts a new node."""
    shutdown_node(check_timeout(timeout))
