"""Links: a crash takes its linked partner down; a trapping actor survives.

python examples/links.py
"""

from __future__ import annotations

import logging

import structlog

import threadactors as ta


def worker(job: str) -> None:
    ta.receive("start")
    raise RuntimeError(f"{job} failed")  # let it crash


def partner(report_to: ta.Pid) -> None:
    """Linked to a worker, not trapping: dies with the worker's reason."""
    w = ta.spawn_link(worker, "resize")
    ta.send(report_to, ("partner's worker", w))
    ta.receive("never sent")


def survivor(report_to: ta.Pid) -> None:
    """Linked to a worker, trapping exits: gets an ExitSignal message instead."""
    ta.trap_exit(True)
    w = ta.spawn_link(worker, "upload")
    ta.send(report_to, ("survivor's worker", w))
    match ta.receive(ta.ExitSignal):
        case ta.ExitSignal(pid, reason):
            ta.send(report_to, ("survivor trapped", pid, repr(reason)))
    ta.receive("stop")


def main() -> None:
    # Crash reports are error events; keep the demo's output readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    me = ta.self()
    p, p_ref = ta.spawn_monitor(partner, me)
    s, s_ref = ta.spawn_monitor(survivor, me)
    _, pw = ta.receive(("partner's worker", ta.Pid), timeout=5)
    _, sw = ta.receive(("survivor's worker", ta.Pid), timeout=5)
    print(f"partner {p} is linked to worker {pw}; survivor {s} (trapping) to worker {sw}")

    ta.send(pw, "start")
    down = ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == p_ref, timeout=5)
    print(f"worker {pw} crashed; partner {p} went down with it: {down.reason!r}")

    ta.send(sw, "start")
    _, pid, reason = ta.receive(("survivor trapped", ta.Pid, str), timeout=5)
    print(f"worker {sw} crashed; survivor {s} trapped ExitSignal({pid}, {reason})")
    print(f"survivor alive: {ta.is_alive(s)}")

    ta.send(s, "stop")
    down = ta.receive(lambda m: isinstance(m, ta.Down) and m.ref == s_ref, timeout=5)
    print(f"survivor stopped: {down.reason!r}")
    ta.shutdown()


if __name__ == "__main__":
    main()
