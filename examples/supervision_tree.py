"""A two-level supervision tree under random crashes.

    top (one_for_one)
    ├── stats        a GenServer counting answers
    └── workers (one_for_one, a supervisor)
        ├── w1  ┐
        ├── w2  ├ GenServers that double numbers and crash now and then
        └── w3  ┘

Clients keep calling the workers by name; a call that hits a crash gets
``CallError`` and is retried once the supervisor has restarted the worker.
Every request gets its answer; the script prints the restarts it saw.

    python examples/supervision_tree.py [requests]
"""

from __future__ import annotations

import logging
import random
import sys
from typing import Any

import structlog

import threadactors as ta

CRASH_RATE = 0.05


class Stats(ta.GenServer):
    def init(self) -> None:
        self.answers = 0

    def handle_cast(self, msg: Any) -> None:
        self.answers += 1

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        return self.answers


class Doubler(ta.GenServer):
    def init(self, name: str, seed: int) -> None:
        self.name = name
        self.rng = random.Random(seed)
        ta.send("observer", ("started", name, ta.self()))

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        if self.rng.random() < CRASH_RATE:
            raise RuntimeError(f"{self.name} tripped on {request}")
        ta.cast("stats", "answered")
        return request * 2


def worker_spec(name: str, seed: int) -> ta.ChildSpec:
    def start(name: str = name, seed: int = seed) -> ta.Pid:
        # A new seed per start, so a restarted worker does not crash on the
        # same request again.
        return Doubler.start_link(name, seed + random.randrange(1 << 30), name=name)

    return ta.ChildSpec(name, start)


def client(requests: int, report_to: ta.Pid, seed: int) -> None:
    rng = random.Random(seed)
    retries = 0
    for i in range(requests):
        while True:
            try:
                assert ta.call(rng.choice(["w1", "w2", "w3"]), i, timeout=5) == i * 2
                break
            except (ta.CallError, ta.NoProc):
                retries += 1  # crashed or restarting: ask again
                ta.receive(timeout=0.001, default=None)
    ta.send(report_to, ("client done", requests, retries))


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    random.seed(7)
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    ta.register("observer")
    workers = ta.ChildSpec(
        "workers",
        ta.Supervisor.start_link,
        args=([worker_spec(f"w{i}", i) for i in (1, 2, 3)],),
        kwargs={"intensity": 1_000, "period": 1.0},
        type="supervisor",
    )
    top = ta.Supervisor.start(
        [ta.ChildSpec("stats", Stats.start_link, kwargs={"name": "stats"}), workers], name="top"
    )
    starts: dict[str, list[ta.Pid]] = {}
    for _ in range(3):
        _, name, pid = ta.receive(("started", str, ta.Pid), timeout=5)
        starts[name] = [pid]
    print("tree up:", [c[0] for c in ta.Supervisor.which_children(top)])

    me = ta.self()
    clients = 4
    for seed in range(clients):
        ta.spawn(client, requests // clients, me, seed)
    done = retries = 0
    finished = 0
    while finished < clients:
        match ta.receive(("client done", int, int), ("started", str, ta.Pid), timeout=60):
            case ("client done", n, r):
                done += n
                retries += r
                finished += 1
            case ("started", name, pid):
                starts[name].append(pid)
                print(f"  restart seen: {name} is now {pid}")
    restarts = sum(len(pids) - 1 for pids in starts.values())
    answered = ta.call("stats", "get")
    print(f"requests answered: {done}/{requests} (retries after crashes: {retries})")
    print(f"stats server counted: {answered}")
    print(f"restarts seen: {restarts} " + str({n: len(p) - 1 for n, p in sorted(starts.items())}))
    ta.stop(top)
    ta.shutdown()


if __name__ == "__main__":
    main()
