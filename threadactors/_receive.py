"""Selective receive over an actor's mailbox (SPEC §3)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Final

from . import _wire
from ._errors import KILLED, SHUTDOWN, Exit
from ._log import logger
from ._node import NO_EXIT, exit_due, raise_exit
from ._patterns import Key, Matcher, message_key

if TYPE_CHECKING:
    from ._node import Actor

__all__ = [
    "NO_DEFAULT",
    "REPLY",
    "check_timeout",
    "drop_replies",
    "mark",
    "purge_timer",
    "receive_in",
]

NO_DEFAULT: Final = object()
_FRAME_TIMER: Final = _wire.FRAME_TIMER
_decode = _wire.decode_user


class _TimedOut(Exception):
    pass


def check_timeout(timeout: Any) -> float | None:
    """``timeout`` as seconds, or ``None`` for forever; ``ValueError`` if misused."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {timeout!r}")
    if not timeout >= 0 or (math.isinf(timeout) and timeout < 0):
        raise ValueError(f"timeout must be >= 0 seconds, not {timeout!r}")
    if math.isinf(timeout):
        return None
    return float(timeout)


def mark(actor: Actor) -> int:
    """A marker: a receive ``since`` it need not look at older saved messages."""
    return actor.mailbox.seq + 1


def receive_in(
    actor: Actor,
    matcher: Matcher | None,
    keys: list[Key] | None,
    timeout: float | None,
    since: int = 0,
) -> Any:
    """The oldest message that ``matcher`` accepts; raises ``_TimedOut``.

    ``keys`` (from ``pattern_keys``) narrows which saved messages are looked
    at; ``since`` (from ``mark``) skips those saved before the marker.
    """
    mailbox = actor.mailbox
    save = mailbox.save
    if save.entries:
        for seq in save.candidates(keys, since):
            frame = save.read(seq)
            msg = _decode(frame)
            if matcher is None or matcher(msg):
                save.take(seq)
                mailbox.took(len(frame))
                return msg
    unread = mailbox.unread
    dropped = actor.dropped_replies
    deadline = None if not timeout else time.monotonic() + timeout
    remaining = timeout
    last_look = False
    try:
        while True:
            while unread:
                frame = unread[0]
                try:
                    msg = _decode(frame)
                except Exception as e:
                    unread.popleft()
                    mailbox.took(len(frame))
                    logger.error("dead_letter", pid=repr(actor.pid), error=repr(e), size=len(frame))
                    continue
                if dropped and _is_dropped_reply(msg, dropped):
                    unread.popleft()
                    mailbox.took(len(frame))
                    continue
                if matcher is None or matcher(msg):
                    unread.popleft()
                    mailbox.took(len(frame))
                    return msg
                seq = mailbox.seq - len(unread) + 1
                unread.popleft()
                timer = _wire.timer_id(frame) if frame[0] == _FRAME_TIMER else 0
                save.append(seq, frame, message_key(msg), timer)
            if actor.pending_exit is not NO_EXIT or mailbox.closed:
                _check_exit(actor)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    # Time is up: one last look at everything that did
                    # arrive in time, then give up (RCV-2).
                    if last_look:
                        raise _TimedOut
                    last_look = True
                    mailbox.fetch_now()
                    continue
            actor.waiting = True
            try:
                got = mailbox.fetch(remaining)
            finally:
                actor.waiting = False
            if mailbox.limit and got:
                # Other processes' senders cannot count our mailbox: we do.
                actor.node.check_mailbox(actor)
            if actor.pending_exit is not NO_EXIT or mailbox.closed:
                _check_exit(actor)
            if not got and remaining == 0:
                raise _TimedOut
    finally:
        if save.tail:
            save.flush()


REPLY: Final = "$reply"


def _is_dropped_reply(msg: Any, dropped: dict[Any, None]) -> bool:
    if msg.__class__ is tuple and len(msg) == 3 and msg[0] == REPLY and msg[1] in dropped:
        del dropped[msg[1]]
        return True
    return False


_DROPPED_MAX: Final = 10_000


def drop_replies(actor: Actor, tag: Any) -> None:
    """Replies tagged ``tag`` are dropped on arrival from now on (the oldest
    such tags are forgotten past a bound: a reply may never come)."""
    dropped = actor.dropped_replies
    dropped[tag] = None
    if len(dropped) > _DROPPED_MAX:
        del dropped[next(iter(dropped))]


def _check_exit(actor: Actor) -> None:
    mailbox = actor.mailbox
    if actor.pending_exit is not NO_EXIT and exit_due(actor):
        if mailbox.closed and not actor.adopted:
            mailbox.release()
        raise_exit(actor)
    if mailbox.closed:
        # Killed or shut down while we were in here: the killer left our fds
        # to us (we were using them).
        mailbox.release()
        reason = actor.exit_reason
        if reason is None:
            reason = SHUTDOWN if actor.adopted else KILLED
        exc = actor.exit_exc = Exit(reason)
        raise exc


def purge_timer(actor: Actor, timer: int) -> None:
    """Remove timer ``timer``'s message from the caller's own mailbox."""
    mailbox = actor.mailbox
    mailbox.fetch_now()
    size = mailbox.save.remove_timer(timer)
    if size:
        mailbox.took(size)
        return
    for frame in mailbox.unread:
        if frame[0] == _FRAME_TIMER and _wire.timer_id(frame) == timer:
            mailbox.unread.remove(frame)
            mailbox.took(len(frame))
            return
