"""A supervisor in this process watching workers in two child processes.

python examples/two_nodes.py

Each worker is an actor in its own OS process (a named node). The
supervisor links to it across processes; when a worker process is killed
with SIGKILL, the kernel tells this node (a pidfd), the link fires with
"noconnection", and the supervisor starts a new process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from typing import Any

import structlog

import threadactors as ta

PARENT = f"two-nodes-{os.getpid()}"


def squarer() -> None:
    """The worker: answers ("square", reply_to, n)."""
    while True:
        match ta.receive():
            case ("square", reply_to, n):
                ta.send(reply_to, ("squared", n, n * n, os.getpid()))


def start_worker(name: str) -> ta.Pid:
    """A ChildSpec start: a new OS process whose worker is linked to us."""
    node_name = f"{PARENT}-{name}"
    subprocess.Popen([sys.executable, __file__, "--worker", node_name, PARENT])
    # The worker process says hello to the supervisor by its registered name.
    _, pid = ta.receive(("ready", ta.Pid), timeout=30)
    ta.link(pid)
    return pid  # type: ignore[no-any-return]


def worker_main(node_name: str, parent: str) -> None:
    ta.start(node_name)
    pid, _ref = ta.spawn_monitor(squarer)
    ta.monitor_node(parent)
    ta.send(("workers", parent), ("ready", pid))  # to the supervisor
    ta.send(("main", parent), ("up", node_name, pid))  # for the printout
    # Live as long as the worker and the parent node do.
    ta.receive(ta.Down, ta.NodeDown)
    ta.shutdown()


def ask(worker: ta.Pid, n: int) -> Any:
    ta.send(worker, ("square", ta.self(), n))
    return ta.receive(("squared", n, int, int), timeout=10)


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    ta.start(PARENT)
    ta.register("main")
    specs = [ta.ChildSpec(name, start_worker, args=(name,)) for name in ("a", "b")]
    sup = ta.Supervisor.start(specs, name="workers", intensity=3, period=10)
    for _ in specs:  # the first "up"s: not needed, the supervisor knows them
        ta.receive(("up", str, ta.Pid), timeout=30)
    workers = {cid: pid for cid, pid, _ in ta.Supervisor.which_children(sup)}
    for cid, pid in sorted(workers.items()):
        _, n, sq, os_pid = ask(pid, 7)
        print(f"worker {cid} in process {os_pid}: {n}^2 = {sq}")

    victim = workers["a"]
    print(f"kill -9 {victim.os_pid} (worker a)")
    ref = ta.monitor(victim)
    os.kill(victim.os_pid, signal.SIGKILL)
    print(f"worker a went down: {ta.receive(ta.Down, timeout=10).reason!r}")  # noconnection

    # The supervisor starts a new process; it says "up" when it is.
    _, _, new = ta.receive(("up", f"{PARENT}-a", ta.Pid), timeout=30)
    assert new != victim and ref is not None
    _, n, sq, os_pid = ask(new, 9)
    print(f"restarted worker a in process {os_pid}: {n}^2 = {sq}")
    print(f"nodes: {len(ta.nodes())} worker nodes up")
    ta.stop(sup)
    ta.shutdown()
    print("done")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
        worker_main(sys.argv[2], sys.argv[3])
    else:
        main()
