"""Actors and a child-node script for the multi-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import threadactors as ta

from .helpers import echo

__all__ = ["echo"]  # spawn_on finds it as tests.helpers.echo

ROOT = Path(__file__).resolve().parent.parent


def unique(stem: str) -> str:
    """A node name no other test run on this host uses at the same time."""
    return f"{stem}-{os.getpid()}"


def directory() -> None:
    """Answer ``(pid, name)`` with ``("where", name, whereis(name))``."""
    while True:
        reply_to, name = ta.receive()
        ta.send(reply_to, ("where", name, ta.whereis(name)))


def remote_whereis(node: str, name: str) -> ta.Pid:
    ta.send(("directory", node), (ta.self(), name))
    _, _, pid = ta.receive(("where", name, ta.ANY), timeout=10)
    assert isinstance(pid, ta.Pid), pid
    return pid


def burst(count: int) -> None:
    """Send ``count`` numbers to the pid that comes first, then end."""
    to = ta.receive(ta.Pid)
    for i in range(count):
        ta.send(to, i)


def blaster(to: ta.Pid, index: int, count: int) -> None:
    for i in range(count):
        ta.send(to, (index, i))


class Counter(ta.GenServer):
    def init(self) -> None:
        self.n = 0

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        self.n += request
        return self.n


CHILD = r"""
import logging, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
import threadactors as ta
from tests import node_helpers as h

class AppError(Exception):
    pass  # known in this process only (its __main__)


def crasher():
    ta.receive("crash")
    raise AppError("only the child knows this class")


ta.start(sys.argv[1])
ta.spawn_opt(crasher, name="crasher")
ta.spawn_opt(h.echo, name="echo")
ta.spawn_opt(h.directory, name="directory")
h.Counter.start(name="counter")
print("ready", flush=True)
for line in sys.stdin:  # until the test closes our stdin (or kills us)
    if line == "shutdown\n":
        ta.shutdown()  # the node stops; the process goes on
        print("node stopped", flush=True)
ta.shutdown()
"""


class ChildNode:
    """A named node in a child process, with ``echo`` and ``counter``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line == "ready\n", line

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop_node(self) -> None:
        """``ta.shutdown()`` there, the process staying alive."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("shutdown\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "node stopped\n"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)


BLASTER = r"""
import logging, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
import threadactors as ta
from tests import node_helpers as h

name, parent, index, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ta.start(name)
sink = h.remote_whereis(parent, "sink")
h.blaster(sink, index, count)
ta.shutdown(timeout=60)  # sends what is still queued for the sink first
"""


def start_blasters(parent: str, count: int, senders: int) -> list[subprocess.Popen[str]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", BLASTER, unique(f"blast{i}"), parent, str(i), str(count)],
            cwd=ROOT,
            text=True,
        )
        for i in range(senders)
    ]


LINKERS = r"""
import logging, os, signal, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
import threadactors as ta
from tests import node_helpers as h

name, parent, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ta.start(name)
sink = h.remote_whereis(parent, "sink")
me = ta.self()
print("up", flush=True)
assert sys.stdin.readline() == "go\n"


def linker(i):
    ta.link(sink)
    ta.send(sink, ("hello", i, ta.self()))
    ta.send(me, "sent")
    ta.receive("never")


for i in range(count):
    ta.spawn(linker, i)
for _ in range(count):
    ta.receive("sent", timeout=30)
os.kill(os.getpid(), signal.SIGKILL)  # at once: no time for anything in flight
"""


def start_linkers(parent: str, index: int, count: int) -> subprocess.Popen[str]:
    """A node whose ``count`` actors each link to ``("sink", parent)``, then
    send it ``("hello", i, pid)``; then its process is SIGKILLed."""
    return subprocess.Popen(
        [sys.executable, "-c", LINKERS, unique(f"linkers{index}"), parent, str(count)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def signals_then_messages(to: ta.Pid, count: int) -> None:
    """After a ``"go"``: ``exit(to, ("signal", i))`` then ``send(to, ("message", i))``,
    ``count`` times."""
    ta.receive("go")
    for i in range(count):
        ta.exit(to, ("signal", i))
        ta.send(to, ("message", i))


async def coroutine_function() -> None:
    pass


def by_name_and_by_pid(name: str, node: str, pid: ta.Pid, count: int) -> None:
    """After a ``"go"``: ``("by name", i)`` to ``(name, node)``, then
    ``("by pid", i)`` to ``pid`` (the same actor), ``count`` times."""
    ta.receive("go")
    for i in range(count):
        ta.send((name, node), ("by name", i))
        ta.send(pid, ("by pid", i))
