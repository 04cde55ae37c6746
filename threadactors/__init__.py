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
    monitor_node,
    node,
    nodes,
    processes,
    receive,
    register,
    registered,
    self,
    send,
    send_after,
    set_affinity,
    shutdown,
    spawn,
    spawn_link,
    spawn_monitor,
    spawn_on,
    spawn_opt,
    start,
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
from ._gen_server import NOREPLY, Caller, GenServer, call, cast, reply, stop
from ._patterns import ANY
from ._pid import Pid, Ref
from ._signals import Down, ExitSignal, NodeDown
from ._supervisor import ChildSpec, Supervisor

__all__ = [
    "ANY",
    "KILL",
    "KILLED",
    "NOCONNECTION",
    "NOPROC",
    "NOREPLY",
    "NORMAL",
    "SHUTDOWN",
    "ActorError",
    "CallError",
    "Caller",
    "ChildSpec",
    "Down",
    "Exit",
    "ExitSignal",
    "GenServer",
    "NameTaken",
    "NoProc",
    "NodeDown",
    "Pid",
    "Ref",
    "SpawnError",
    "StartError",
    "Supervisor",
    "Timeout",
    "UnpicklableError",
    "call",
    "cancel_timer",
    "cast",
    "demonitor",
    "exit",
    "info",
    "is_alive",
    "link",
    "make_ref",
    "monitor",
    "monitor_node",
    "node",
    "nodes",
    "processes",
    "receive",
    "register",
    "registered",
    "reply",
    "self",
    "send",
    "send_after",
    "set_affinity",
    "shutdown",
    "spawn",
    "spawn_link",
    "spawn_monitor",
    "spawn_on",
    "spawn_opt",
    "start",
    "stop",
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
