"""Erlang's process model for Python threads, on Linux sockets.

import threadactors as ta
"""

from __future__ import annotations

from ._api import (
    cancel_timer,
    demonitor,
    exit,  # noqa: A004 - Erlang's name, by design
    info,
    is_alive,
    link,
    make_ref,
    monitor,
    processes,
    receive,
    register,
    registered,
    self,
    send,
    send_after,
    shutdown,
    spawn,
    spawn_link,
    spawn_monitor,
    spawn_opt,
    trap_exit,
    unlink,
    unregister,
    whereis,
)
from ._errors import (
    KILL,
    KILLED,
    NOCONNECTION,
    NOPROC,
    NORMAL,
    SHUTDOWN,
    ActorError,
    CallError,
    Exit,
    NameTaken,
    NoProc,
    SpawnError,
    StartError,
    Timeout,
    UnpicklableError,
)
from ._patterns import ANY
from ._pid import Pid, Ref
from ._signals import Down, ExitSignal

__all__ = [
    "ANY",
    "KILL",
    "KILLED",
    "NOCONNECTION",
    "NOPROC",
    "NORMAL",
    "SHUTDOWN",
    "ActorError",
    "CallError",
    "Down",
    "Exit",
    "ExitSignal",
    "NameTaken",
    "NoProc",
    "Pid",
    "Ref",
    "SpawnError",
    "StartError",
    "Timeout",
    "UnpicklableError",
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

__version__ = "0.1.0"

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, str):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
