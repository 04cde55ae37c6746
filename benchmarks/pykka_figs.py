"""The same figures with Pykka, when it is installed (never a dependency)."""

from __future__ import annotations

import threading
import time
from typing import Any

try:
    import pykka
except ImportError:  # pragma: no cover - optional
    pykka = None


def available() -> bool:
    return pykka is not None


def _actor_class() -> Any:
    class Echo(pykka.ThreadingActor):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.count = 0
            self.next: Any = None
            self.done: threading.Event | None = None
            self.total = 0

        def on_receive(self, message: Any) -> Any:
            kind = message[0]
            if kind == "ping":
                return ("pong", message[1])
            if kind == "tell":
                self.count += 1
                return None
            if kind == "count":
                return self.count
            if kind == "link":
                self.next, self.done, self.total = message[1], message[2], message[3]
                return None
            if kind == "token":
                n = message[1]
                if n >= self.total:
                    self.done.set()  # type: ignore[union-attr]
                else:
                    self.next.tell(("token", n + 1))
            return None

    return Echo


def ping_pong(rounds: int) -> float:
    ref = _actor_class().start()
    start = time.perf_counter()
    for i in range(rounds):
        ref.ask(("ping", i))
    elapsed = time.perf_counter() - start
    ref.stop()
    return elapsed / rounds * 1e6


def one_way(count: int) -> float:
    ref = _actor_class().start()
    start = time.perf_counter()
    for _ in range(count):
        ref.tell(("tell",))
    assert ref.ask(("count",)) == count
    elapsed = time.perf_counter() - start
    ref.stop()
    return count / elapsed


def ring(size: int, rounds: int) -> float:
    cls = _actor_class()
    refs = [cls.start() for _ in range(size)]
    done = threading.Event()
    total = size * rounds
    for i, ref in enumerate(refs):
        ref.ask(("link", refs[(i + 1) % size], done, total))
    start = time.perf_counter()
    refs[0].tell(("token", 0))
    done.wait()
    elapsed = time.perf_counter() - start
    for ref in refs:
        ref.stop()
    return total / elapsed


def spawn_exit(count: int) -> float:
    cls = _actor_class()
    start = time.perf_counter()
    for _ in range(count):
        cls.start().stop()
    return (time.perf_counter() - start) / count * 1e6
