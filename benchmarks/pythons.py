"""The same figures on each interpreter: ping-pong, call, and CPU-bound work in
parallel (actors against plain threads), so a regression of one CPython
version, or a lock that serialises a free-threaded build, shows.

``python -m threadactors bench --pythons PY[,PY...]`` (``auto``: the
``py*`` envs of tox.ini's envlist that exist in ``.tox/``) runs one worker
per interpreter, from this checkout's sources.
"""

from __future__ import annotations

import configparser
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import Any

import threadactors as ta

from . import floors, table

ROOT = Path(__file__).resolve().parent.parent

SIZES = {
    "full": {"pp": 20_000, "calls": 10_000, "work": 3_000_000},
    "quick": {"pp": 2_000, "calls": 1_000, "work": 300_000},
}


def cpu_work(n: int) -> int:
    """Pure Python work that touches no shared object."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def threads_elapsed(workers: int, n: int) -> float:
    """Seconds for ``workers`` plain threads, each doing ``cpu_work(n)``."""
    threads = [threading.Thread(target=cpu_work, args=(n,)) for _ in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _worker_actor(parent: ta.Pid, n: int) -> None:
    ta.receive("go")
    cpu_work(n)
    ta.send(parent, "done")


def actors_elapsed(workers: int, n: int) -> float:
    """Seconds for ``workers`` actors, each doing ``cpu_work(n)``."""
    me = ta.self()
    pids = [ta.spawn(_worker_actor, me, n) for _ in range(workers)]
    start = time.perf_counter()
    for pid in pids:
        ta.send(pid, "go")
    for _ in pids:
        ta.receive("done")
    return time.perf_counter() - start


def speed_up(elapsed: Any, workers: int, n: int, pairs: int = 5) -> float:
    """How many times more work ``workers`` do in the time of one: the
    median over ``pairs`` runs of one and of ``workers`` back to back (a
    best-of over each side alone let one slow run of a VM's vCPU make
    the ratio anything from 1.1 to 3.2 here)."""
    ratios = []
    for _ in range(pairs):
        one = elapsed(1, n)
        many = elapsed(workers, n)
        ratios.append(workers * one / many)
    return statistics.median(ratios)


def measure(size: str) -> dict[str, Any]:
    from . import bench

    n = SIZES[size]
    workers = len(os.sched_getaffinity(0))
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    threads = speed_up(threads_elapsed, workers, n["work"])
    actors = speed_up(actors_elapsed, workers, n["work"])
    result = {
        "python": sys.version.split()[0]
        + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""),
        "gil": gil,
        "workers": workers,
        "ping_pong": bench.ta_ping_pong(n["pp"]),
        "raw_ping_pong": floors.ping_pong(n["pp"]),
        "call": bench.ta_call(n["calls"]),
        "actors_speed_up": actors,
        "threads_speed_up": threads,
    }
    ta.shutdown()
    return result


def worker(size: str) -> None:
    print(json.dumps(measure(size)))


def interpreters(spec: str) -> list[str]:
    """The interpreters ``--pythons`` names: a comma list, or ``auto``."""
    if spec == "auto":
        tox = configparser.ConfigParser()
        tox.read(ROOT / "tox.ini")
        envs = [e.strip() for e in tox.get("tox", "envlist", fallback="").split(",")]
        found = [
            str(exe)
            for env in envs
            if env.startswith("py") and (exe := ROOT / ".tox" / env / "bin" / "python").exists()
        ]
        return found or [sys.executable]
    return [p for p in spec.split(",") if p]


def run_all(spec: str, quick: bool) -> list[dict[str, Any]]:
    results = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for exe in interpreters(spec):
        print(f"measuring on {exe} ...", file=sys.stderr, flush=True)
        cmd = [exe, "-m", "threadactors", "bench", "--worker", "python"]
        if quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        results.append({"exe": exe, **json.loads(out.stdout.strip().splitlines()[-1])})
    return results


def per_python_table(results: list[dict[str, Any]]) -> str:
    head = (
        "python",
        "GIL",
        "ping-pong",
        "raw",
        "ratio",
        "call",
        "ratio",
        "actors in parallel",
        "threads",
        "ratio",
    )
    lines = [head]
    for r in results:
        lines.append(
            (
                r["python"],
                "on" if r["gil"] else "off",
                f"{r['ping_pong']:,.1f} µs",
                f"{r['raw_ping_pong']:,.1f} µs",
                f"{r['ping_pong'] / r['raw_ping_pong']:.2f}x",
                f"{r['call']:,.1f} µs",
                f"{r['call'] / r['raw_ping_pong']:.2f}x",
                f"{r['actors_speed_up']:.2f}x of {r['workers']}",
                f"{r['threads_speed_up']:.2f}x",
                f"{r['threads_speed_up'] / r['actors_speed_up']:.2f}x",
            )
        )
    return table.render(lines)


def summary(results: list[dict[str, Any]]) -> list[str]:
    """For each free-threaded interpreter: its parallel figure beside the
    GIL build of the same version, if that was measured too."""
    lines = []
    for ft in results:
        if ft["gil"]:
            continue
        minor = ".".join(ft["python"].split(".")[:2])
        gil = [r for r in results if r["gil"] and r["python"].startswith(minor + ".")]
        line = (
            f"free-threaded {ft['python']}: {ft['workers']} CPU-bound actors do "
            f"{ft['actors_speed_up']:.2f}x the work of one (plain threads "
            f"{ft['threads_speed_up']:.2f}x)"
        )
        if gil:
            line += (
                f"; on {gil[0]['python']} with the GIL, {gil[0]['actors_speed_up']:.2f}x: "
                f"{ft['actors_speed_up'] / gil[0]['actors_speed_up']:.2f} times as much"
            )
        lines.append(line)
    return lines
