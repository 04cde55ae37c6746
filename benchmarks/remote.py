"""Cross-process figures: threadactors between two named nodes, and the
raw-socket floor between two processes."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

import threadactors as ta

ROOT = Path(__file__).resolve().parent.parent

_RAW_PEER = r"""
import os, pickle, socket, sys
mode, count = sys.argv[1], int(sys.argv[4])
me, peer = bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(me)
print("ready", flush=True)
if mode == "echo":
    for _ in range(count):
        m = pickle.loads(s.recv(65536))
        s.sendto(pickle.dumps(("pong", m[1])), peer)
else:
    for i in range(count):
        s.sendto(pickle.dumps(("msg", i)), peer)
"""


def _raw(mode: str, count: int) -> tuple[socket.socket, subprocess.Popen[str], bytes]:
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    mine = f"\0ta-bench-raw-a-{tag}".encode()
    theirs = f"\0ta-bench-raw-b-{tag}".encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(mine)
    proc = subprocess.Popen(
        [sys.executable, "-c", _RAW_PEER, mode, theirs.hex(), mine.hex(), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return s, proc, theirs


def raw_ping_pong(rounds: int) -> float:
    """µs per round trip of pickled tuples between two processes."""
    s, proc, peer = _raw("echo", rounds)
    start = time.perf_counter()
    for i in range(rounds):
        s.sendto(pickle.dumps(("ping", i)), peer)
        pickle.loads(s.recv(65536))
    elapsed = time.perf_counter() - start
    proc.wait()
    s.close()
    return elapsed / rounds * 1e6


def raw_one_way(count: int) -> float:
    """msg/s from a process to this one, raw sockets (the sender blocks)."""
    s, proc, _ = _raw("send", count)
    start = time.perf_counter()
    for _ in range(count):
        pickle.loads(s.recv(65536))
    elapsed = time.perf_counter() - start
    proc.wait()
    s.close()
    return count / elapsed


_NODE = r"""
import logging, sys
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
import threadactors as ta
ta.start(sys.argv[1])
print("ready", flush=True)
sys.stdin.read()
ta.shutdown()
"""


def echo() -> None:
    while True:
        msg = ta.receive()
        if msg == "stop":
            return
        ta.send(msg[1], ("pong", msg[2]))


def sender(to: ta.Pid, count: int) -> None:
    for i in range(count):
        ta.send(to, ("msg", i))


class _Peer:
    def __init__(self) -> None:
        self.name = f"bench-peer-{os.getpid()}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _NODE, self.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait()
        self.proc.stdout.close()


def pinger(to: ta.Pid, rounds: int, linked: bool, report_to: ta.Pid) -> None:
    """``rounds`` round trips with ``to``; reports µs per round trip.

    ``linked``: linked to ``to`` first, so its messages for that node go
    through the node's monitor thread (SPEC §8); else straight.
    """
    if linked:
        ta.link(to)
    me = ta.self()
    start = time.perf_counter()
    for i in range(rounds):
        ta.send(to, ("ping", me, i))
        ta.receive()
    ta.send(report_to, (time.perf_counter() - start) / rounds * 1e6)
    if linked:
        ta.unlink(to)


def ta_figures(rounds: int, count: int) -> tuple[float, float, float]:
    """(µs per cross-process round trip, the same after a link, msg/s into
    this process)."""
    ta.start(f"bench-{os.getpid()}")
    peer = _Peer()
    try:
        me = ta.self()
        pid = ta.spawn_on(peer.name, echo)
        ta.spawn(pinger, pid, rounds, False, me)
        pp = ta.receive(float)
        ta.spawn(pinger, pid, rounds, True, me)
        pp_linked = ta.receive(float)
        ta.send(pid, "stop")
        start = time.perf_counter()
        ta.spawn_on(peer.name, sender, me, count)
        for _ in range(count):
            ta.receive()
        one_way = count / (time.perf_counter() - start)
    finally:
        peer.close()
        ta.shutdown()
    return pp, pp_linked, one_way
