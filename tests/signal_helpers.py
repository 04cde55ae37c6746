"""Helpers for the link/monitor tests."""

from __future__ import annotations

from typing import Any

import threadactors as ta


def down_of(ref: ta.Ref, timeout: float = 10) -> Any:
    """The reason in the ``Down`` of monitor ``ref``."""
    msg = ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == ref, timeout=timeout)
    return msg.reason


def exit_signal_from(pid: ta.Pid, timeout: float = 10) -> Any:
    msg = ta.receive(lambda m: isinstance(m, ta.ExitSignal) and m.pid == pid, timeout=timeout)
    return msg.reason


def idle() -> None:
    """Wait forever (until an exit)."""
    ta.receive("never sent")


def report_trapped(report_to: ta.Pid) -> None:
    """Trap exits and report the first ``ExitSignal`` to ``report_to``."""
    ta.trap_exit(True)
    ta.send(report_to, ("ready", ta.self()))
    ta.send(report_to, ("trapped", ta.receive(ta.ExitSignal)))
    idle()
