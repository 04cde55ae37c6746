"""linux-facts §13: what a free-threaded CPython does to shared state.

Run with each interpreter: ``python3.13t t13_free_threaded.py`` and
``python3.13 t13_free_threaded.py``.
"""

import collections
import ctypes
import itertools
import sys
import sysconfig
import threading
import time

N = 200_000


class Box:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


def both(fn) -> None:
    threads = [threading.Thread(target=fn) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def attribute_increments() -> int:
    box = Box()

    def inc() -> None:
        for _ in range(N):
            box.n += 1

    both(inc)
    return 2 * N - box.n


def count_increments() -> int:
    counter = itertools.count()

    def step() -> None:
        for _ in range(N):
            next(counter)

    both(step)
    return 2 * N - next(counter)


def deque_read_errors(read, reads: int = 2_000) -> int:
    d: collections.deque[int] = collections.deque()
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            d.append(1)
            if len(d) > 1000:
                d.popleft()

    t = threading.Thread(target=churn)
    t.start()
    errors = 0
    try:
        for _ in range(reads):
            try:
                read(d)
            except RuntimeError:  # deque mutated during iteration
                errors += 1
    finally:
        stop.set()
        t.join()
    return errors


def async_exc_works() -> bool:
    started = threading.Event()
    caught: list[BaseException] = []

    def target() -> None:
        started.set()
        try:
            while True:
                pass
        except KeyError as e:
            caught.append(e)

    t = threading.Thread(target=target)
    t.start()
    started.wait()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(t.ident), ctypes.py_object(KeyError))
    t.join(5)
    return bool(caught)


def global_line_events_work() -> bool:
    mon = sys.monitoring
    tool = mon.PROFILER_ID
    seen = threading.Event()
    mon.use_tool_id(tool, "probe")
    mon.register_callback(tool, mon.events.LINE, lambda code, line: seen.set())
    go = threading.Event()

    def spin() -> None:
        go.wait()
        x = 0
        for i in range(1_000):
            x += i

    t = threading.Thread(target=spin)
    t.start()
    mon.set_events(tool, mon.events.LINE)
    go.set()
    t.join()
    mon.set_events(tool, 0)
    mon.free_tool_id(tool)
    return seen.is_set()


def thread_ends(n: int = 10_000) -> tuple[float, float]:
    """Seconds for ``n`` idle threads to start, and for all of them to end
    once released (256 KiB stacks, as the storm tests use)."""
    threading.stack_size(256 * 1024)
    gates = []
    threads = []
    start = time.monotonic()
    for _ in range(n):
        gate = threading.Lock()
        gate.acquire()
        t = threading.Thread(target=gate.acquire)
        t.start()
        gates.append(gate)
        threads.append(t)
    started = time.monotonic()
    for gate in gates:
        gate.release()
    for t in threads:
        t.join()
    threading.stack_size(0)
    return started - start, time.monotonic() - started


if __name__ == "__main__":
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    print(f"{sys.version.split()[0]} free-threaded build {ft}, GIL {'on' if gil else 'off'}")
    print(f"  obj.n += 1, 2 x {N:,} from two threads: {attribute_increments():,} lost")
    print(f"  next(itertools.count()), 2 x {N:,}: {count_increments():,} lost")
    for name, read in (("list(d)", list), ("d.copy()", collections.deque.copy), ("len(d)", len)):
        print(f"  {name} while another thread appends: {deque_read_errors(read)} of 2,000 raised")
    print(f"  PyThreadState_SetAsyncExc reaches a spinning thread: {async_exc_works()}")
    print(f"  sys.monitoring.set_events(LINE) reaches another thread: {global_line_events_work()}")
    spawned, ended = thread_ends()
    print(f"  10,000 threads: started in {spawned:.1f} s, ended in {ended:.1f} s once released")
