"""A worker pool with ``simple_one_for_one``: one template, children on demand.

Jobs go round-robin to the pool's workers. A poisoned job crashes its
worker: the caller gets ``CallError`` and drops the job, and the supervisor
starts the worker again with the same arguments.

    python examples/worker_pool.py
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

import threadactors as ta


class Squarer(ta.GenServer):
    def init(self, index: int) -> None:
        self.index = index

    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        if request == "poison":
            raise ValueError(f"worker {self.index} swallowed poison")
        return (self.index, request * request)


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    pool = ta.Supervisor.start(
        [ta.ChildSpec("squarer", Squarer.start_link)],
        strategy="simple_one_for_one",
        intensity=5,
        name="pool",
    )
    for index in range(3):
        ta.Supervisor.start_child(pool, index)
    print("pool:", ta.Supervisor.count_children(pool))

    jobs: list[Any] = [1, 2, 3, "poison", 4, 5, 6]
    results = []
    turn = 0
    for job in jobs:
        workers = [pid for _, pid, _ in ta.Supervisor.which_children(pool) if pid]
        worker = workers[turn % len(workers)]
        turn += 1
        try:
            index, square = ta.call(worker, job)
        except ta.CallError as e:
            print(f"job {job!r}: {worker} crashed ({e.reason}); dropping the job")
            continue
        results.append(square)
        print(f"job {job}: worker {index} says {square}")
    print("results:", results)
    print("pool after the crash:", ta.Supervisor.count_children(pool))
    ta.stop(pool)
    ta.shutdown()


if __name__ == "__main__":
    main()
