"""Selective receive: take messages by pattern, not by arrival order.

Six messages arrive as a0 a1 a2 b0 b1 b2. The actor asks alternately for
"an a-message" and "a b-message", so it takes them as a0 b0 a1 b1 a2 b2;
every message it skips waits in its save queue, in order, until asked for.

    python examples/seed_demo.py
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import structlog

import threadactors as ta


def starts_with(prefix: str) -> Callable[[object], bool]:
    """A predicate pattern: any callable that is not a class."""
    return lambda msg: isinstance(msg, str) and msg.startswith(prefix)


def picker(report_to: ta.Pid, count: int) -> None:
    ta.receive("go")  # wait until all six are in the mailbox
    for i in range(count):
        pattern = starts_with("a") if i % 2 == 0 else starts_with("b")
        msg = ta.receive(pattern, timeout=5)
        print(f"  picker took {msg}   (asked for {'a' if i % 2 == 0 else 'b'}*)")
        ta.send(report_to, msg)


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    messages = ["a0", "a1", "a2", "b0", "b1", "b2"]
    pid = ta.spawn(picker, ta.self(), len(messages))
    print(f"spawned picker {pid}")
    print("sending: " + " ".join(messages))
    for msg in messages:
        ta.send(pid, msg)
    ta.send(pid, "go")
    received = [ta.receive(timeout=5) for _ in messages]
    print("received: " + " ".join(received))
    ta.shutdown()


if __name__ == "__main__":
    main()
