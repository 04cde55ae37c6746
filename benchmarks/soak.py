"""``python -m threadactors soak [--seconds 60]``: a supervised pipeline under
random crashes, then an audit of every message sent.

A producer sends numbered items round-robin to workers found by name; each
worker hands what it processed to a sink; workers crash at random and their
supervisor restarts them under the same name. After each batch the producer
waits until every worker has handed on what it got before (or has died), so
at the end each item is, by the audit, either processed exactly once by the
worker it was sent to, or was in the mailbox of a worker that died. Anything
else (lost by a live worker, processed twice, out of order) is a violation
and the exit status is 1.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections import defaultdict
from typing import Any

import structlog

import threadactors as ta


class Sink(ta.GenServer):
    """Records who processed which item, in the order they came."""

    def init(self) -> None:
        self.done: dict[int, list[ta.Pid]] = defaultdict(list)
        self.last: dict[ta.Pid, int] = {}
        self.disorder = 0

    def handle_cast(self, msg: Any) -> None:
        match msg:
            case ("done", item, worker):
                self.done[item].append(worker)
                if item <= self.last.get(worker, -1):
                    self.disorder += 1
                self.last[worker] = item
            case ("synced", worker, producer):
                # After all of ``worker``'s results: they came the same way.
                ta.send(producer, ("synced", worker))

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        return dict(self.done), self.disorder


def worker(index: int, crash_every: int, seed: int) -> None:
    rng = random.Random(seed * 1_000_003 + index * 7_919 + time.perf_counter_ns())
    me = ta.self()
    while True:
        match ta.receive():
            case ("item", item):
                if rng.randrange(crash_every) == 0:
                    raise RuntimeError(f"random crash at item {item}")
                ta.cast("soak_sink", ("done", item, me))
            case ("sync", producer):
                ta.cast("soak_sink", ("synced", me, producer))


def start_tree(workers: int, crash_every: int, seed: int) -> ta.Pid:
    specs = [
        ta.ChildSpec(
            f"w{i}",
            ta.spawn_opt,
            args=(worker, (i, crash_every, seed)),
            kwargs={"link": True, "name": f"soak_w{i}"},
        )
        for i in range(workers)
    ]
    worker_sup = ta.ChildSpec(
        "workers",
        ta.Supervisor.start_link,
        args=(specs,),
        kwargs={"strategy": "one_for_one", "intensity": 1_000_000, "period": 1.0},
        type="supervisor",
    )
    sink = ta.ChildSpec("sink", Sink.start_link, kwargs={"name": "soak_sink"})
    return ta.Supervisor.start([sink, worker_sup], strategy="rest_for_one", intensity=1)


def run(seconds: float, workers: int, crash_every: int, batch: int, seed: int) -> int:
    sup = start_tree(workers, crash_every, seed)
    me = ta.self()
    sent_to: dict[int, tuple[ta.Pid, int]] = {}  # item -> (worker, batch)
    synced_at: dict[ta.Pid, int] = {}  # worker -> last checkpoint it passed
    died: set[ta.Pid] = set()
    next_item = 0
    checkpoint = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        receivers = set()
        for _ in range(batch):
            pid = ta.whereis(f"soak_w{next_item % workers}")
            if pid is not None:  # (None: between a crash and its restart)
                ta.send(pid, ("item", next_item))
                sent_to[next_item] = (pid, checkpoint)
                receivers.add(pid)
            next_item += 1
        # Checkpoint: every worker that got items has handed on all it got
        # before the checkpoint, or has died.
        pending = {}
        for pid in receivers:
            pending[pid] = ta.monitor(pid)
            ta.send(pid, ("sync", me))
        while pending:
            match ta.receive(("synced", ta.Pid), ta.Down, timeout=30):
                case ("synced", pid) if pid in pending:
                    ta.demonitor(pending.pop(pid), flush=True)
                    synced_at[pid] = checkpoint
                case ta.Down(pid=pid) if pid in pending:
                    del pending[pid]
                    died.add(pid)
                case _:
                    pass
        checkpoint += 1
    elapsed = time.monotonic() - start
    done, disorder = ta.call("soak_sink", "report", timeout=30)
    ta.stop(sup)

    once = dead = lost = twice = wrong = 0
    bad: list[str] = []
    for item, (pid, sent_in) in sent_to.items():
        by = done.get(item, [])
        if len(by) > 1:
            twice += 1
            bad.append(f"item {item} to {pid} (batch {sent_in}) processed by {by}")
        elif len(by) == 1:
            once += by[0] == pid
            wrong += by[0] != pid
            if by[0] != pid:
                bad.append(f"item {item} to {pid} (batch {sent_in}) processed by {by[0]}")
        elif synced_at.get(pid, -1) >= sent_in:
            lost += 1  # a live worker passed a checkpoint after it: lost
            bad.append(
                f"item {item} to {pid} (batch {sent_in}) lost: it synced at batch "
                f"{synced_at[pid]}{', then died' if pid in died else ''}"
            )
        elif pid in died:
            dead += 1
        else:
            lost += 1
            bad.append(f"item {item} to {pid} (batch {sent_in}) lost: neither synced nor died")
    print(f"soak: {elapsed:.1f} s, {workers} workers, a crash every ~{crash_every} items")
    print(f"  items sent:                         {len(sent_to):,}")
    print(f"  processed exactly once:             {once:,}")
    print(f"  addressed to a worker that died:    {dead:,}")
    print(f"  workers that died (restarted):      {len(died):,}")
    print(f"  checkpoints:                        {checkpoint:,}")
    print(f"  rate:                               {len(sent_to) / elapsed:,.0f} items/s")
    print(
        f"  violations: lost {lost}, twice {twice}, wrong worker {wrong}, out of order {disorder}"
    )
    ok = lost == twice == wrong == disorder == 0 and once + dead == len(sent_to)
    for line in bad[:10]:
        print("  violation:", line)
    print("  audit:", "OK" if ok else "FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadactors soak")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--crash-every", type=int, default=500)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    try:
        return run(args.seconds, args.workers, args.crash_every, args.batch, args.seed)
    finally:
        ta.shutdown()


if __name__ == "__main__":
    sys.exit(main())
