"""A bounded mailbox: a consumer that falls too far behind is killed, and
whoever watches it decides what happens next.

python examples/overload.py
"""

from __future__ import annotations

import logging

import structlog

import threadactors as ta


def slow_consumer() -> None:
    while True:
        ta.receive("tick", timeout=None)  # waits for a tick that never comes


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    pid, ref = ta.spawn_opt(slow_consumer, max_mailbox=100, monitor=True)
    print(f"consumer {pid} may hold at most {ta.info(pid)['max_mailbox']} messages")  # type: ignore[index]
    sent = 0
    while ta.is_alive(pid):
        ta.send(pid, ("work", sent))
        sent += 1
    down = ta.receive(ta.Down, timeout=5)
    assert down.ref == ref
    print(f"after {sent} messages it was killed: Down reason {down.reason!r}")

    # The same consumer without a bound just keeps everything.
    free = ta.spawn(slow_consumer)
    for i in range(sent):
        ta.send(free, ("work", i))
    print(f"an unbounded consumer holds {ta.info(free)['message_queue_len']} messages")  # type: ignore[index]
    ta.shutdown()


if __name__ == "__main__":
    main()
