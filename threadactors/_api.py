"""The public functions of SPEC §2, §3 and §5."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

from . import _wire
from ._errors import Exit, NoProc, Timeout
from ._node import current_actor, enter, get_node, leave, shutdown_node
from ._patterns import compile_patterns, pattern_keys
from ._pid import Pid, Ref
from ._receive import NO_DEFAULT, _TimedOut, check_timeout, purge_timer, receive_in

__all__ = [
    "cancel_timer",
    "exit",
    "info",
    "is_alive",
    "make_ref",
    "processes",
    "receive",
    "register",
    "registered",
    "self",
    "send",
    "send_after",
    "shutdown",
    "spawn",
    "spawn_opt",
    "unregister",
    "whereis",
]

_encode = _wire.encode


def spawn(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Pid:
    """Start ``fn(*args, **kwargs)`` in a new actor and return its pid."""
    pid: Pid = spawn_opt(fn, args, kwargs)
    return pid


def spawn_opt(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    link: bool = False,
    monitor: bool = False,
    name: str | None = None,
    trap_exit: bool = False,
) -> Any:
    """Spawn with options; returns ``Pid``, or ``(Pid, Ref)`` with ``monitor=True``."""
    if not callable(fn):
        raise TypeError(f"spawn needs a callable, not {fn!r}")
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, not {type(args).__name__}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError(f"kwargs must be a dict, not {type(kwargs).__name__}")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"a name is a str, not {type(name).__name__}")
    if link or monitor:
        raise NotImplementedError("links and monitors are not built yet")
    actor = enter()
    try:
        return actor.node.spawn(fn, args, kwargs or {}, name=name, trap_exit=bool(trap_exit))
    finally:
        leave(actor)


def self() -> Pid:
    """The pid of the calling actor (adopting the calling thread if needed)."""
    return current_actor().pid


def send(dest: Pid | str, msg: Any) -> None:
    """Send a copy of ``msg`` to ``dest`` (a pid or a registered name).

    Never blocks. A dead pid drops the message; an unregistered name raises
    ``NoProc``; an unpicklable message raises and nothing is sent.
    """
    actor = enter()
    try:
        node = actor.node
        pid = dest if dest.__class__ is Pid else node.resolve(dest)
        frame = _encode(msg)
        node.deliver(actor, pid, frame)
    finally:
        leave(actor)


def receive(*patterns: Any, timeout: float | None = None, default: Any = NO_DEFAULT) -> Any:
    """Take the oldest message matching any of ``patterns`` (all if none).

    Waits up to ``timeout`` seconds (``None``: forever, ``0``: no wait); then
    returns ``default`` if given, else raises ``Timeout``.
    """
    if timeout is not None:
        timeout = check_timeout(timeout)
    matcher = compile_patterns(patterns)
    keys = pattern_keys(patterns) if patterns else None
    actor = enter()
    try:
        return receive_in(actor, matcher, keys, timeout)
    except _TimedOut:
        if default is NO_DEFAULT:
            raise Timeout(f"no matching message within {timeout} s") from None
        return default
    finally:
        leave(actor)


def exit(reason: Any) -> NoReturn:  # noqa: A001 - Erlang's name, by design
    """End the calling actor with ``reason``."""
    raise Exit(reason)


def make_ref() -> Ref:
    """A new unique reference."""
    return get_node().make_ref()


def is_alive(pid: Pid) -> bool:
    """Whether ``pid`` is a live actor of this node."""
    if not isinstance(pid, Pid):
        raise TypeError(f"is_alive takes a Pid, not {type(pid).__name__}")
    return pid in get_node().actors


def processes() -> list[Pid]:
    """The live actors of this node."""
    return sorted(get_node().actors)


def info(pid: Pid) -> dict[str, Any] | None:
    """What the runtime knows of ``pid``; ``None`` if it is not alive."""
    if not isinstance(pid, Pid):
        raise TypeError(f"info takes a Pid, not {type(pid).__name__}")
    node = get_node()
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
        "links": sorted(actor.links),
        "monitors": sorted(set(actor.monitors.values())),
        "monitored_by": sorted(set(actor.monitored_by.values())),
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
    if not isinstance(name, str):
        raise TypeError(f"a name is a str, not {type(name).__name__}")
    if pid is None:
        pid = current_actor().pid
    elif not isinstance(pid, Pid):
        raise TypeError(f"register takes a Pid, not {type(pid).__name__}")
    node = get_node()
    actor = node.actors.get(pid)
    if actor is None or actor.dead:
        raise NoProc(f"{pid!r} is not alive")
    node.registry.register(name, pid)
    if actor.dead:  # it ended meanwhile: its name must not outlive it
        node.registry.release(pid)
        raise NoProc(f"{pid!r} is not alive")


def unregister(name: str) -> None:
    """Remove the registered ``name``; ``NoProc`` if it is not registered."""
    if get_node().registry.unregister(name) is None:
        raise NoProc(f"no process is registered as {name!r}")


def whereis(name: str) -> Pid | None:
    """The pid registered as ``name``, or ``None``."""
    return get_node().registry.whereis(name)


def registered() -> list[str]:
    """All registered names of this node."""
    return sorted(get_node().registry.names())


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
    node = get_node()
    ref = node.make_ref()
    node.timers.send_after(float(seconds), ref._key[2], dest, frame)
    return ref


def cancel_timer(ref: Ref) -> float | None:
    """Cancel a timer: the seconds that were left, or ``None``.

    When the caller is the timer's destination, its message is never
    received after this returns, even if the timer had fired already.
    """
    if not isinstance(ref, Ref):
        raise TypeError(f"cancel_timer takes a Ref, not {type(ref).__name__}")
    node = get_node()
    if ref._key[:2] != (node.os_pid, node.nonce):
        return None
    left = node.timers.cancel(ref._key[2])
    if left is None:
        actor = enter()
        try:
            purge_timer(actor, ref._key[2])
        finally:
            leave(actor)
    return left


def shutdown(timeout: float = 5.0) -> None:
    """Stop the node: exit ``shutdown`` to every actor, wait up to ``timeout``,
    kill the rest, close every fd. The next runtime call starts a new node."""
    timeout = check_timeout(timeout) or 0.0
    shutdown_node(timeout)
