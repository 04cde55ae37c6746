"""Exceptions, exit reasons and the exit exception."""

from __future__ import annotations

from typing import Any, Final, final

__all__ = [
    "KILL",
    "KILLED",
    "NOCONNECTION",
    "NOPROC",
    "NORMAL",
    "SHUTDOWN",
    "ActorError",
    "CallError",
    "Exit",
    "NameTaken",
    "NoProc",
    "SpawnError",
    "StartError",
    "Timeout",
    "UnpicklableError",
]

NORMAL: Final = "normal"
KILL: Final = "kill"
KILLED: Final = "killed"
SHUTDOWN: Final = "shutdown"
NOPROC: Final = "noproc"
NOCONNECTION: Final = "noconnection"
MAILBOX_OVERFLOW: Final = "mailbox_overflow"


class ActorError(Exception):
    """Base class of the errors the runtime raises."""


@final
class NoProc(ActorError):
    """The destination (a name or a pid) is not a live actor."""


@final
class NameTaken(ActorError):
    """The name is registered already, or the actor has a name already."""


class _ReasonError(ActorError):
    def __init__(self, reason: Any) -> None:
        super().__init__(reason)
        self.reason = reason


@final
class StartError(_ReasonError):
    """A process or behaviour failed to start; ``.reason`` says why."""


@final
class CallError(_ReasonError):
    """A ``call`` failed because the server ended; ``.reason`` is its reason.

    Also ``CallError("calling_self")`` for a call to oneself, and
    ``CallError(("reply_not_sent", repr_of_error))`` when the server's
    reply could not be sent (it goes on serving).
    """

    def __str__(self) -> str:
        reason = self.reason
        # Compared by type first: a reason may be any object, even one whose
        # == raises or does not return a bool.
        if reason.__class__ is str and reason == "calling_self":
            return "an actor called itself: the call would deadlock (calling_self)"
        if (
            reason.__class__ is tuple
            and len(reason) == 2
            and reason[0].__class__ is str
            and reason[0] == "reply_not_sent"
        ):
            return f"the server could not send its reply: {reason[1]}"
        return f"the server ended during the call: {reason!r}"


@final
class SpawnError(ActorError):
    """The runtime could not create an actor (no fd, no thread); ``__cause__`` says why."""


@final
class Timeout(ActorError, TimeoutError):
    """A ``receive`` or ``call`` timed out."""


@final
class UnpicklableError(ActorError):
    """Stands in for an exit reason that could not be pickled (``repr`` of it)."""


class Exit(BaseException):
    """Raised inside an actor to end it with ``.reason``.

    A ``BaseException``, so ``except Exception`` in user code does not
    swallow an exit.
    """

    def __init__(self, reason: Any = NORMAL) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"Exit({self.reason!r})"
