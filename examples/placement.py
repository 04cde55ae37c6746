"""Opt-in placement: when one CPU helps and when it hurts.

python examples/placement.py [rounds]

Pure-Python actors take turns holding the GIL, so spreading them over CPUs
buys no parallelism, only cross-CPU wake-ups (tens of µs each on small VMs).
``ta.set_affinity({cpu})`` keeps them on one CPU. Work that releases the GIL
(hashing big buffers here; I/O, NumPy) can run in parallel, and one CPU
serialises it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time

import structlog

import threadactors as ta

CHUNK = b"x" * (4 << 20)


def echo() -> None:
    while True:
        match ta.receive():
            case ("ping", sender):
                ta.send(sender, "pong")
            case "stop":
                return


def ping_pong(rounds: int) -> float:
    """µs per round trip between the calling actor and an echo actor."""
    peer = ta.spawn(echo)
    me = ta.self()
    start = time.perf_counter()
    for _ in range(rounds):
        ta.send(peer, ("ping", me))
        ta.receive("pong")
    elapsed = time.perf_counter() - start
    ta.send(peer, "stop")
    return elapsed / rounds * 1e6


def hasher(report_to: ta.Pid, chunks: int) -> None:
    for _ in range(chunks):
        hashlib.sha256(CHUNK).digest()  # releases the GIL for big buffers
    ta.send(report_to, "hashed")


def parallel_hashing(chunks: int) -> float:
    """Seconds for two actors to hash ``chunks`` 4 MiB buffers each."""
    me = ta.self()
    start = time.perf_counter()
    for _ in range(2):
        ta.spawn(hasher, me, chunks)
    for _ in range(2):
        ta.receive("hashed", timeout=60)
    return time.perf_counter() - start


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    cpus = sorted(os.sched_getaffinity(0))
    print(f"CPUs available: {cpus}")
    free_pp = ping_pong(rounds)
    free_hash = parallel_hashing(32)
    ta.set_affinity({cpus[0]})
    print(f"set_affinity({{{cpus[0]}}}): this node's threads now run on CPU {cpus[0]}")
    pinned_pp = ping_pong(rounds)
    pinned_hash = parallel_hashing(32)
    ta.set_affinity(None)
    print("set_affinity(None): the kernel places them again")
    print(f"ping-pong round trip: {free_pp:.1f} µs unpinned, {pinned_pp:.1f} µs on one CPU")
    print(f"two actors hashing: {free_hash:.2f} s unpinned, {pinned_hash:.2f} s on one CPU")
    ta.shutdown()


if __name__ == "__main__":
    main()
