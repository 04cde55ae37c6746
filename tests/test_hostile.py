"""Malformed datagrams at an actor's address are dropped; the actor goes on.

From this process (trusted: its frames are read) and from other processes
(untrusted: dropped unread). Every case leaves no fd behind (the autouse
fixture checks) and the actor answering afterwards.
"""

from __future__ import annotations

import array
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import threadactors as ta
from threadactors import _wire

from .helpers import echo


class Bomb:
    """Pickles fine, raises while loading."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_explode, ("boom",))


def _explode(text: str) -> None:
    raise RuntimeError(text)


@pytest.fixture
def raw() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    yield s
    s.close()


def _still_answers(pid: ta.Pid) -> None:
    # One FIFO per socket: our echo comes after the junk was read.
    for i in range(2):
        ta.send(pid, (ta.self(), ("alive", i)))
        assert ta.receive(("alive", i), timeout=10) == ("alive", i)


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("hostile")
    os.write(fd, data)
    return fd


def _send_fds(s: socket.socket, to: bytes, data: bytes, fds: list[int]) -> None:
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]
    s.sendmsg([data], rights, 0, to)


# name: (frame, read but not understood -> a logged dead letter)
HOSTILE_FRAMES = {
    "zero-length": (b"", False),
    "random bytes": (bytes(range(7, 250, 3)), True),
    "unknown kind": (b"Z" + b"\x00" * 20, True),
    "truncated pickle": (pickle.dumps(("a", "b" * 100), 5)[:-7], True),
    "pickle header only": (b"\x80", True),
    "timer kind without its id": (b"t\x01\x02", True),
    "timer kind, id but no frame": (b"t" + b"\x00" * 8, True),
    "control kind at an actor": (b"x" + pickle.dumps(("link", 1, 2), 5), True),
    "memfd kind without an fd": (b"f", False),
    "a pickle that raises while loading": (pickle.dumps(Bomb(), 5), True),
    "a frame over 64 KiB": (b"b" + b"\x00" * (_wire.MAX_DATAGRAM + 10), False),
}


@pytest.mark.parametrize(
    ("frame", "dead_letter"), HOSTILE_FRAMES.values(), ids=HOSTILE_FRAMES.keys()
)
def test_malformed_frame_from_this_process(
    raw: socket.socket, frame: bytes, dead_letter: bool, logs: list[dict[str, Any]]
) -> None:
    pid = ta.spawn(echo)
    raw.sendto(frame, pid.address)
    _still_answers(pid)
    ta.send(pid, "stop")
    letters = [e for e in logs if e["event"] == "dead_letter"]
    assert len(letters) == int(dead_letter), logs


def test_unsolicited_fds_are_closed(raw: socket.socket) -> None:
    me = ta.self()
    before = set(os.listdir("/proc/self/fd"))
    r, w = os.pipe()
    fd = _memfd(b"\x80junk")
    try:
        # A user frame with fds it has no use for, a memfd frame with two fds,
        # a memfd frame whose fd is a pipe (size 0), a wake-up with an fd.
        _send_fds(raw, me.address, pickle.dumps("x", 5), [r, w])
        _send_fds(raw, me.address, b"f", [fd, fd])
        _send_fds(raw, me.address, b"f", [r])
        _send_fds(raw, me.address, b"w", [w])
    finally:
        for f in (r, w, fd):
            os.close(f)
    ta.send(me, "last")
    assert ta.receive(timeout=10) == "x"
    assert ta.receive(timeout=10) == "last"
    assert set(os.listdir("/proc/self/fd")) == before  # every fd that came in was closed


def test_memfd_frame_with_garbage_is_a_dead_letter(
    raw: socket.socket, logs: list[dict[str, Any]]
) -> None:
    pid = ta.self()
    fd = _memfd(b"\x80" + os.urandom(200))
    try:
        _send_fds(raw, pid.address, b"f", [fd])
    finally:
        os.close(fd)
    ta.send(pid, "after")
    assert ta.receive(timeout=10) == "after"
    assert [e for e in logs if e["event"] == "dead_letter"]


def test_junk_at_the_monitor_thread(raw: socket.socket) -> None:
    from threadactors._node import existing_node

    ta.self()
    node = existing_node()
    assert node is not None
    for frame, _ in HOSTILE_FRAMES.values():
        raw.sendto(frame, node.monitor.mailbox.address)
    # Links and monitors still work: the monitor thread survived.
    pid, ref = ta.spawn_monitor(echo)
    ta.send(pid, "stop")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "normal")


STRANGER = r"""
import array, os, socket, sys
to = bytes.fromhex(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for frame in (b"", os.urandom(300), b"b" + b"x" * 70000, b"\x80\x05N."):
    try:
        s.sendto(frame, to)
    except OSError:
        pass
r, w = os.pipe()
fds = array.array("i", [r, w]).tobytes()
s.sendmsg([b"f"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)], 0, to)
"""


def test_junk_from_another_process_is_dropped_unread(logs: list[dict[str, Any]]) -> None:
    pid = ta.spawn(echo)
    subprocess.run([sys.executable, "-c", STRANGER, pid.address.hex()], check=True, timeout=60)
    _still_answers(pid)
    assert not [e for e in logs if e["event"] == "dead_letter"]
    assert [e for e in logs if e["event"] == "untrusted_sender_dropped"]
    ta.send(pid, "stop")
