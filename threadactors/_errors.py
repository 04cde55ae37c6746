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
    """A ``call`` failed because the server ended; ``.reason`` is its reason."""


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
