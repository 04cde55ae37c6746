"""Out of fds or threads: spawn raises SpawnError, nothing is left half-made,
and the actors that exist keep working. Each case runs in a subprocess whose
limits are lowered first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMON = r"""
import logging, os, resource, sys, threading
import structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
import threadactors as ta

def echo():
    while True:
        msg = ta.receive()
        if msg == "stop":
            return
        ta.send(msg[0], msg[1])

def fds():
    # Without opening one (listing /proc/self/fd needs an fd)
    n = 0
    for fd in range(resource.getrlimit(resource.RLIMIT_NOFILE)[0]):
        try:
            os.fstat(fd)
            n += 1
        except OSError:
            pass
    return n

def exhaust():
    pids = []
    while True:
        before_fds, before_procs = fds(), len(ta.processes())
        try:
            pids.append(ta.spawn(echo))
        except ta.SpawnError as e:
            assert fds() == before_fds, (fds(), before_fds)
            assert len(ta.processes()) == before_procs
            print("SpawnError:", e)
            print("cause:", type(e.__cause__).__name__)
            return pids
        assert len(pids) < 100_000

def still_work(pids):
    for i, pid in enumerate(pids):
        ta.send(pid, (ta.self(), i))
    got = sorted(ta.receive(timeout=30) for _ in pids)  # any order across actors
    assert got == list(range(len(pids))), got
    print("all", len(pids), "answer")
"""

FDS = (
    COMMON
    + r"""
resource.setrlimit(resource.RLIMIT_NOFILE, (80, 80))
ta.self()
pids = exhaust()
still_work(pids)
for pid in pids[:5]:
    ta.monitor(pid)
    ta.send(pid, "stop")
for _ in range(5):
    ta.receive(ta.Down, timeout=30)  # their fds are closed before their Down
ta.spawn(int)  # room again once some ended
print("spawn works again")
ta.shutdown()
print("fds after shutdown:", fds())
"""
)

THREADS = (
    COMMON
    + r"""
ta.self()
threading.stack_size(64 << 20)
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (size + (400 << 20), resource.RLIM_INFINITY))
pids = exhaust()
still_work(pids)
ta.shutdown()
print("done")
"""
)


def _run(script: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_out_of_fds() -> None:
    out = _run(FDS)
    assert "SpawnError: cannot create the mailbox of a new actor" in out
    assert "cause: OSError" in out
    assert " answer" in out
    assert "spawn works again" in out


def test_out_of_threads() -> None:
    out = _run(THREADS)
    assert "SpawnError: cannot start the thread of a new actor" in out
    assert "cause: RuntimeError" in out
    assert " answer" in out
    assert "done" in out


RAISE = r"""
import resource
resource.setrlimit(resource.RLIMIT_NOFILE, (100, 300))
import threadactors as ta
print("before:", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
ta.self()
print("after:", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
ta.shutdown()
"""


def test_node_start_raises_the_soft_fd_limit_to_the_hard_one() -> None:
    out = _run(RAISE)
    assert "before: 100" in out
    assert "after: 300" in out
