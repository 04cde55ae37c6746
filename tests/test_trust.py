"""Only this OS process may deliver (SPEC §3, trusted senders)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import threadactors as ta

from .helpers import echo

# A sender that knows the address and the frame format, and nothing else.
HOSTILE = r"""
import os, pickle, socket, sys
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
frame = pickle.dumps(Evil(), 5)  # a user frame: a protocol 5 pickle
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(frame, bytes.fromhex(sys.argv[1]))
print(os.getpid())
"""

OTHER_UID = 65534


def _run_hostile(address: bytes, marker: Path, as_other_user: bool) -> int:
    if as_other_user:
        setpriv = shutil.which("setpriv")
        python = "/usr/bin/python3"
        if os.geteuid() != 0 or setpriv is None or not os.path.exists(python):
            pytest.skip("needs root, setpriv and /usr/bin/python3 to act as another user")
        cmd = [
            setpriv,
            f"--reuid={OTHER_UID}",
            f"--regid={OTHER_UID}",
            "--clear-groups",
            python,
        ]
    else:
        cmd = [sys.executable]
    out = subprocess.run(
        [*cmd, "-c", HOSTILE, address.hex(), str(marker)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return int(out.stdout.strip())


@pytest.mark.parametrize("as_other_user", [True, False], ids=["other-uid", "same-uid"])
def test_stranger_datagram_is_dropped_unread(
    tmp_path: Path, logs: list[dict[str, Any]], as_other_user: bool
) -> None:
    tmp_path.chmod(0o777)
    marker = tmp_path / "pwned"
    pid = ta.spawn(echo)
    sender = _run_hostile(pid.address, marker, as_other_user)
    # The hostile datagram is in the actor's socket before ours (one FIFO):
    # once we get our echo, the actor has read past it.
    for _ in range(2):
        ta.send(pid, (ta.self(), "still working"))
        assert ta.receive(timeout=10) == "still working"
    assert not marker.exists(), "the stranger's pickle was loaded"
    events = [e for e in logs if e["event"] == "untrusted_sender_dropped"]
    assert len(events) == 1
    assert events[0]["sender_os_pid"] == sender
    ta.send(pid, "stop")


def test_untrusted_sender_logged_once_per_sender(
    tmp_path: Path, logs: list[dict[str, Any]]
) -> None:
    pid = ta.spawn(echo)
    marker = tmp_path / "pwned"
    senders = {_run_hostile(pid.address, marker, False) for _ in range(2)}
    script = HOSTILE.replace(
        "print(os.getpid())", "s.sendto(frame, bytes.fromhex(sys.argv[1])); print(os.getpid())"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, pid.address.hex(), str(marker)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    senders.add(int(out.stdout))
    ta.send(pid, (ta.self(), "sync"))
    assert ta.receive(timeout=10) == "sync"
    assert not marker.exists()
    logged = [e["sender_os_pid"] for e in logs if e["event"] == "untrusted_sender_dropped"]
    assert sorted(logged) == sorted(senders)
    ta.send(pid, "stop")


FD_PASSER = r"""
import array, os, socket, sys
r, w = os.pipe()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendmsg([b"f"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))], 0,
          bytes.fromhex(sys.argv[1]))
os.close(w)
print("sent", flush=True)
sys.stdin.readline()
os.set_blocking(r, False)
try:
    print("closed" if os.read(r, 1) == b"" else "data")
except BlockingIOError:
    print("still open")
"""


def test_stranger_fds_are_closed() -> None:
    pid = ta.spawn(echo)
    proc = subprocess.Popen(
        [sys.executable, "-c", FD_PASSER, pid.address.hex()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "sent"
        ta.send(pid, (ta.self(), "sync"))
        assert ta.receive(timeout=10) == "sync"
        out, _ = proc.communicate("check\n", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The write end we were passed was closed: its reader sees end of file.
    assert out.strip() == "closed"
    ta.send(pid, "stop")


def test_trusted_datagram_with_stray_fd_has_it_closed() -> None:
    import array
    import pickle
    import socket

    pid = ta.spawn(echo)
    r, w = os.pipe()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            frame = pickle.dumps((ta.self(), "with fd"), 5)
            s.sendmsg(
                [frame],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))],
                0,
                pid.address,
            )
        os.close(w)
        assert ta.receive(timeout=10) == "with fd"  # delivered: the sender is us
        os.set_blocking(r, False)
        assert os.read(r, 1) == b""  # and the passed fd was closed
    finally:
        os.close(r)
    ta.send(pid, "stop")


@pytest.mark.parametrize("as_other_user", [True, False], ids=["other-uid", "same-uid"])
def test_named_node_takes_only_its_own_user(
    tmp_path: Path, logs: list[dict[str, Any]], as_other_user: bool
) -> None:
    """A named node is open to processes of its uid, and to no other."""
    ta.start(f"trust-{os.getpid()}")
    tmp_path.chmod(0o777)
    marker = tmp_path / "pwned"
    me = ta.self()
    _run_hostile(me.address, marker, as_other_user)
    ta.send(me, "mark")  # after the hostile datagram: it is in our socket first
    got = []
    while (msg := ta.receive(timeout=10)) != "mark":
        got.append(msg)
    dropped = [e for e in logs if e["event"] == "untrusted_sender_dropped"]
    if as_other_user:
        assert got == []
        assert not marker.exists(), "the stranger's pickle was loaded"
        assert len(dropped) == 1
    else:
        # Same user: trusted by a named node, so its pickle *was* loaded (it
        # ran os.system, whose 0 is the message): the trust boundary is the
        # user, as with Erlang's distribution cookie.
        assert got == [0]
        assert marker.exists()
        assert not dropped


SQUATTER = r"""
import os, socket, sys
uid, name = int(sys.argv[1]), sys.argv[2]
claim = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
claim.bind(b"\0ta-name-%d-%s" % (uid, name.encode()))
entry = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
entry.bind(b"\0ta-dir-%d-%s-%d-%s" % (uid, name.encode(), os.getpid(), b"feedbeef"))
trap = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
trap.bind(b"\0ta-%d-feedbeef-0" % os.getpid())
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_node_entry_made_by_another_user_is_ignored() -> None:
    """Abstract names have no owner: another user can pose as our node."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None or not os.path.exists("/usr/bin/python3"):
        pytest.skip("needs root, setpriv and /usr/bin/python3 to act as another user")
    name = f"fake-{os.getpid()}"
    cmd = [setpriv, f"--reuid={OTHER_UID}", f"--regid={OTHER_UID}", "--clear-groups"]
    proc = subprocess.Popen(
        [*cmd, "/usr/bin/python3", "-c", SQUATTER, str(os.geteuid()), name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        ta.start(f"real-{os.getpid()}")
        assert name not in ta.nodes()
        with pytest.raises(ta.SpawnError, match="no node named"):
            ta.spawn_on(name, echo)
        ta.send(("anything", name), "secret")  # dropped here: never sent there
    finally:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
