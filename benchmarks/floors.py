"""The floors: the same work with raw sockets, queue.Queue and threads."""

from __future__ import annotations

import os
import pickle
import queue
import socket
import threading
import time
from typing import Any

_names = iter(range(1 << 30))


def _sock() -> tuple[socket.socket, bytes]:
    address = b"\0ta-bench-%d-%d" % (os.getpid(), next(_names))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(address)
    return s, address


def ping_pong(rounds: int) -> float:
    """µs per round trip of pickled tuples between two threads."""
    a, a_addr = _sock()
    b, b_addr = _sock()

    def peer() -> None:
        for _ in range(rounds):
            m = pickle.loads(b.recv(65536))
            b.sendto(pickle.dumps(("pong", m[1])), a_addr)

    t = threading.Thread(target=peer)
    t.start()
    start = time.perf_counter()
    for i in range(rounds):
        a.sendto(pickle.dumps(("ping", i)), b_addr)
        pickle.loads(a.recv(65536))
    elapsed = time.perf_counter() - start
    t.join()
    a.close()
    b.close()
    return elapsed / rounds * 1e6


def latencies(rounds: int) -> list[float]:
    """Round-trip times (µs) of raw ping-pong while a thread spins."""
    a, a_addr = _sock()
    b, b_addr = _sock()
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    def peer() -> None:
        for _ in range(rounds):
            m = pickle.loads(b.recv(65536))
            b.sendto(pickle.dumps(("pong", m[1])), a_addr)

    spinner = threading.Thread(target=spin)
    spinner.start()
    t = threading.Thread(target=peer)
    t.start()
    out = []
    for i in range(rounds):
        start = time.perf_counter()
        a.sendto(pickle.dumps(("ping", i)), b_addr)
        pickle.loads(a.recv(65536))
        out.append((time.perf_counter() - start) * 1e6)
    t.join()
    stop.set()
    spinner.join()
    a.close()
    b.close()
    return out


def one_way(count: int) -> float:
    """Messages per second, one thread sending pickled tuples to another."""
    a, _ = _sock()
    b, b_addr = _sock()

    def receiver() -> None:
        for _ in range(count):
            pickle.loads(b.recv(65536))

    t = threading.Thread(target=receiver)
    t.start()
    start = time.perf_counter()
    for i in range(count):
        a.sendto(pickle.dumps(("msg", i)), b_addr)  # blocks when the queue is full
    t.join()
    elapsed = time.perf_counter() - start
    a.close()
    b.close()
    return count / elapsed


def queue_one_way(count: int) -> float:
    q: queue.Queue[Any] = queue.Queue()

    def receiver() -> None:
        for _ in range(count):
            q.get()

    t = threading.Thread(target=receiver)
    t.start()
    start = time.perf_counter()
    for i in range(count):
        q.put(("msg", i))
    t.join()
    return count / (time.perf_counter() - start)


def ring(size: int, rounds: int) -> float:
    """Messages per second around a ring of threads with sockets."""
    socks = [_sock() for _ in range(size)]
    total = size * rounds

    def member(i: int) -> None:
        s = socks[i][0]
        nxt = socks[(i + 1) % size][1]
        while True:
            n = pickle.loads(s.recv(65536))
            if n >= total:
                s.sendto(pickle.dumps(n), nxt)
                return
            s.sendto(pickle.dumps(n + 1), nxt)

    threads = [threading.Thread(target=member, args=(i,)) for i in range(size)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    socks[-1][0].sendto(pickle.dumps(0), socks[0][1])
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for s, _ in socks:
        s.close()
    return total / elapsed


def spawn_exit(count: int) -> float:
    """µs to create a socket and a memfd, start a thread, end it, join it."""
    start = time.perf_counter()
    for _ in range(count):
        s, _ = _sock()
        fd = os.memfd_create("bench", os.MFD_CLOEXEC)
        t = threading.Thread(target=s.fileno)
        t.start()
        t.join()
        os.close(fd)
        s.close()
    return (time.perf_counter() - start) / count * 1e6


def burst(count: int) -> float:
    """Seconds for ``count`` threads blocked in recv to each get one datagram
    and answer it."""
    main, main_addr = _sock()
    socks = [_sock() for _ in range(count)]

    def member(s: socket.socket) -> None:
        pickle.loads(s.recv(65536))
        s.sendto(pickle.dumps("done"), main_addr)

    threads = [threading.Thread(target=member, args=(s,)) for s, _ in socks]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for _, addr in socks:
        main.sendto(pickle.dumps("go"), addr)
    for _ in range(count):
        main.recv(65536)
    elapsed = time.perf_counter() - start
    for t in threads:
        t.join()
    for s, _ in socks:
        s.close()
    main.close()
    return elapsed


def queue_burst(count: int) -> float:
    done: queue.Queue[Any] = queue.Queue()
    queues: list[queue.Queue[Any]] = [queue.Queue() for _ in range(count)]

    def member(q: queue.Queue[Any]) -> None:
        q.get()
        done.put("done")

    threads = [threading.Thread(target=member, args=(q,)) for q in queues]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for q in queues:
        q.put("go")
    for _ in range(count):
        done.get()
    elapsed = time.perf_counter() - start
    for t in threads:
        t.join()
    return elapsed


def big_copy(size: int) -> float:
    """Seconds to write ``size`` bytes into a memfd and read them back."""
    data = b"x" * size
    start = time.perf_counter()
    fd = os.memfd_create("bench", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    back = os.pread(fd, size, 0)
    os.close(fd)
    elapsed = time.perf_counter() - start
    assert len(back) == size
    return elapsed
