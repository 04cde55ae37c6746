"""Small actor bodies shared by the tests."""

from __future__ import annotations

from typing import Any

import threadactors as ta


def echo() -> None:
    """Send every ``(pid, msg)`` back to ``pid``; stop on ``"stop"``."""
    while True:
        msg = ta.receive()
        if msg == "stop":
            return
        ta.send(msg[0], msg[1])


def collector(report_to: ta.Pid, count: int) -> None:
    """Receive ``count`` messages, then send the list of them to ``report_to``."""
    got: list[Any] = [ta.receive() for _ in range(count)]
    ta.send(report_to, ("collected", got))


def wait_ended(pid: ta.Pid, timeout: float = 10) -> Any:
    """Wait until ``pid`` has ended (its ``Down``); returns its reason."""
    ref = ta.monitor(pid)
    down = ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == ref, timeout=timeout)
    return down.reason
