"""Two actors play ping-pong; the main thread (an adopted actor) keeps score.

python examples/ping_pong.py [rounds]
"""

from __future__ import annotations

import logging
import sys
import time

import structlog

import threadactors as ta


def ponger() -> None:
    while True:
        match ta.receive(("ping", ta.Pid, int), "stop"):
            case ("ping", sender, n):
                ta.send(sender, ("pong", n))
            case "stop":
                return


def pinger(partner: ta.Pid, rounds: int, report_to: ta.Pid) -> None:
    me = ta.self()
    start = time.perf_counter()
    for n in range(rounds):
        ta.send(partner, ("ping", me, n))
        assert ta.receive(("pong", n), timeout=5) == ("pong", n)
    elapsed = time.perf_counter() - start
    ta.send(report_to, ("done", rounds, elapsed))


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    pong = ta.spawn_opt(ponger, name="ponger")
    ta.spawn(pinger, pong, rounds, ta.self())
    _, n, elapsed = ta.receive(("done", int, float), timeout=120)
    print(f"{n} ping-pong rounds in {elapsed:.3f} s: {elapsed / n * 1e6:.1f} µs per round trip")
    ta.send("ponger", "stop")
    ta.shutdown()


if __name__ == "__main__":
    main()
