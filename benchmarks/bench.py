"""``python -m threadactors bench [--quick] [--json] [--placement same|os|both|none]
[--pythons PY,...|auto]``.

Every figure is measured beside its floor in the same process run and under
the same thread placement, and reported as a ratio: absolute times on shared
2-core machines drift, ratios much less. Placement "same" pins the whole
process to CPU 0 (the library's own cost); "os" leaves it to the kernel (what
a user gets). Each placement runs in a fresh subprocess. ``--pythons`` adds
a table of a few figures on each interpreter named (``pythons.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

import threadactors as ta

from . import floors, pykka_figs, pythons, remote, table

SIZES = {
    "full": {
        "pp": 20_000,
        "oneway": 200_000,
        "ring": (500, 20),
        "calls": 10_000,
        "junk": 10_000,
        "spawn": 2_000,
        "burst": 5_000,
        "alive": 10_000,
        "big": 64 * 1024 * 1024,
        "lat": 5_000,
    },
    "quick": {
        "pp": 2_000,
        "oneway": 20_000,
        "ring": (100, 10),
        "calls": 1_000,
        "junk": 10_000,
        "spawn": 300,
        "burst": 500,
        "alive": 1_000,
        "big": 8 * 1024 * 1024,
        "lat": 500,
    },
}


# -- threadactors figures -----------------------------------------------------------


def _echo() -> None:
    while True:
        msg = ta.receive()
        if msg == "stop":
            return
        ta.send(msg[1], ("pong", msg[2]))


def ta_ping_pong(rounds: int) -> float:
    me = ta.self()

    def pinger(peer: ta.Pid) -> None:
        mine = ta.self()
        start = time.perf_counter()
        for i in range(rounds):
            ta.send(peer, ("ping", mine, i))
            ta.receive()
        ta.send(me, time.perf_counter() - start)

    peer = ta.spawn(_echo)
    ta.spawn(pinger, peer)
    elapsed = ta.receive(float)
    ta.send(peer, "stop")
    return elapsed / rounds * 1e6


def ta_one_way(count: int) -> float:
    me = ta.self()

    def receiver() -> None:
        for _ in range(count):
            ta.receive()
        ta.send(me, "drained")

    def sender(to: ta.Pid) -> None:
        for i in range(count):
            ta.send(to, ("msg", i))

    start = time.perf_counter()
    ta.spawn(sender, ta.spawn(receiver))
    ta.receive("drained")
    return count / (time.perf_counter() - start)


def ta_ring(size: int, rounds: int) -> float:
    me = ta.self()
    total = size * rounds

    def member() -> None:
        nxt = ta.receive(ta.Pid)
        while True:
            n = ta.receive()
            if n < 0:  # the stop token: pass it on and stop
                ta.send(nxt, n)
                return
            if n == total:
                ta.send(me, "lap done")
                ta.send(nxt, -1)
            else:
                ta.send(nxt, n + 1)

    pids = [ta.spawn(member) for _ in range(size)]
    for i, pid in enumerate(pids):
        ta.send(pid, pids[(i + 1) % size])
    start = time.perf_counter()
    ta.send(pids[0], 0)
    ta.receive("lap done")
    return total / (time.perf_counter() - start)


class _Server(ta.GenServer):
    def handle_call(self, request: Any, caller: ta.Caller) -> Any:
        return request


def ta_call(rounds: int, junk: int = 0) -> float:
    me = ta.self()
    server = _Server.start()

    def client() -> None:
        mine = ta.self()
        for i in range(junk):
            ta.send(mine, ("junk", i))
        ta.call(server, 0)  # the junk is now saved, older than any marker
        start = time.perf_counter()
        for i in range(rounds):
            ta.call(server, i)
        ta.send(me, time.perf_counter() - start)

    ta.spawn(client)
    elapsed = ta.receive(float)
    ta.stop(server)
    return elapsed / rounds * 1e6


def ta_spawn_exit(count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        ta.spawn_monitor(int)
        ta.receive(ta.Down)
    return (time.perf_counter() - start) / count * 1e6


def ta_burst(count: int) -> float:
    me = ta.self()

    def member() -> None:
        ta.receive()
        ta.send(me, "done")

    pids = [ta.spawn(member) for _ in range(count)]
    ta.send(me, "x")  # make sure they are all waiting (round trip below)
    ta.receive("x")
    start = time.perf_counter()
    for pid in pids:
        ta.send(pid, "go")
    for _ in range(count):
        ta.receive("done")
    return time.perf_counter() - start


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ta_alive(count: int) -> tuple[float, float]:
    """Seconds to start ``count`` idle actors, and RSS KiB per actor."""
    import threading

    gc.collect()
    before = _rss_kib()
    old = threading.stack_size()
    threading.stack_size(256 * 1024)
    try:
        start = time.perf_counter()
        pids = [ta.spawn(ta.receive, "stop") for _ in range(count)]
        elapsed = time.perf_counter() - start
    finally:
        threading.stack_size(old)
    per_actor = (_rss_kib() - before) / count
    for pid in pids:
        ta.send(pid, "stop")
    return elapsed, per_actor


def ta_big(size: int) -> float:
    me = ta.self()
    data = b"x" * size

    def receiver() -> None:
        got = ta.receive()
        ta.send(me, len(got))

    pid = ta.spawn(receiver)
    start = time.perf_counter()
    ta.send(pid, data)
    assert ta.receive(int) == size
    return time.perf_counter() - start


def ta_latencies(rounds: int) -> list[float]:
    me = ta.self()
    stop = []

    def spinner() -> None:
        x = 0
        while not stop:
            x += 1

    server = _Server.start()
    spin = ta.spawn(spinner)

    def client() -> None:
        out = []
        for i in range(rounds):
            start = time.perf_counter()
            ta.call(server, i)
            out.append((time.perf_counter() - start) * 1e6)
        ta.send(me, out)

    ta.spawn(client)
    out = ta.receive(list)
    stop.append(True)
    ta.exit(spin, "kill")
    ta.stop(server)
    return out


# -- one placement, in this process ---------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(size: str) -> list[dict[str, Any]]:
    n = SIZES[size]
    pk = pykka_figs.available()
    rows: list[dict[str, Any]] = []

    def row(  # noqa: PLR0917
        name: str,
        unit: str,
        value: float,
        floor_name: str,
        floor: float | None,
        better: str,
        pykka: float | None = None,
        note: str = "",
    ) -> None:
        ratio: float | None = None
        if floor is not None:
            ratio = value / floor if better == "lower" else floor / value
        entry = {
            "figure": name,
            "unit": unit,
            "threadactors": value,
            "floor": floor,
            "floor_name": floor_name,
            "ratio": ratio,
            "pykka": pykka,
            "vs_pykka": (
                None if pykka is None else (value / pykka if better == "lower" else pykka / value)
            ),
            "note": note,
        }
        rows.append(entry)
        print(f"  {name}: {value:,.1f} {unit}", file=sys.stderr, flush=True)

    raw_pp = floors.ping_pong(n["pp"])
    row(
        "ping-pong round trip",
        "µs",
        ta_ping_pong(n["pp"]),
        "raw socket ping-pong",
        raw_pp,
        "lower",
        pykka_figs.ping_pong(n["pp"] // 4) if pk else None,
    )
    row(
        "one-way throughput",
        "msg/s",
        ta_one_way(n["oneway"]),
        "raw socket one-way",
        floors.one_way(n["oneway"]),
        "higher",
        pykka_figs.one_way(n["oneway"]) if pk else None,
        note=f"queue.Queue: {floors.queue_one_way(n['oneway']):,.0f} msg/s",
    )
    size_, rounds = n["ring"]
    row(
        f"ring {size_}x{rounds}",
        "msg/s",
        ta_ring(size_, rounds),
        "raw socket ring",
        floors.ring(size_, rounds),
        "higher",
        pykka_figs.ring(size_, rounds) if pk else None,
    )
    empty_call = ta_call(n["calls"])
    row("call round trip", "µs", empty_call, "raw socket ping-pong", raw_pp, "lower")
    row(
        f"call, {n['junk']:,} queued",
        "µs",
        ta_call(n["calls"], n["junk"]),
        "same call, empty mailbox",
        empty_call,
        "lower",
    )
    row(
        "spawn + exit",
        "µs",
        ta_spawn_exit(n["spawn"]),
        "raw thread+socket+memfd",
        floors.spawn_exit(n["spawn"]),
        "lower",
        pykka_figs.spawn_exit(n["spawn"]) if pk else None,
    )
    row(
        f"burst wake of {n['burst']:,}",
        "ms",
        ta_burst(n["burst"]) * 1e3,
        "raw threads in recv",
        floors.burst(n["burst"]) * 1e3,
        "lower",
        note=f"queue.Queue: {floors.queue_burst(n['burst']) * 1e3:,.1f} ms",
    )
    start_s, rss = ta_alive(n["alive"])
    row(
        f"{n['alive']:,} actors alive: start",
        "s",
        start_s,
        "no floor",
        None,
        "lower",
        note=f"RSS {rss:,.1f} KiB per idle actor",
    )
    row(
        f"{n['big'] // (1024 * 1024)} MiB message",
        "ms",
        ta_big(n["big"]) * 1e3,
        "memfd write+read",
        floors.big_copy(n["big"]) * 1e3,
        "lower",
    )
    lat = ta_latencies(n["lat"])
    raw_lat = floors.latencies(n["lat"])
    row(
        "call p50, one actor spinning",
        "µs",
        _pct(lat, 0.5),
        "raw p50, a thread spinning",
        _pct(raw_lat, 0.5),
        "lower",
    )
    row(
        "call p99, one actor spinning",
        "µs",
        _pct(lat, 0.99),
        "raw p99, a thread spinning",
        _pct(raw_lat, 0.99),
        "lower",
    )
    ta.shutdown()
    remote_pp, remote_pp_linked, remote_one_way = remote.ta_figures(n["pp"] // 4, n["oneway"] // 4)
    raw_pp = remote.raw_ping_pong(n["pp"] // 4)
    row(
        "cross-process ping-pong",
        "µs",
        remote_pp,
        "raw, two processes",
        raw_pp,
        "lower",
        note=f"in-process: {rows[0]['threadactors']:,.1f} µs",
    )
    row(
        "cross-process ping-pong, linked",
        "µs",
        remote_pp_linked,
        "raw, two processes",
        raw_pp,
        "lower",
        note="pings relayed by the other node's monitor thread (SPEC §8)",
    )
    row(
        "cross-process one-way",
        "msg/s",
        remote_one_way,
        "raw, two processes",
        remote.raw_one_way(n["oneway"] // 4),
        "higher",
        note=f"in-process: {rows[1]['threadactors']:,.0f} msg/s",
    )
    return rows


# -- the command ----------------------------------------------------------------------


def _quiet() -> None:
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def _worker(placement: str, size: str) -> None:
    if placement == "same":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    _quiet()
    print(json.dumps(measure(size)))


def _table(results: dict[str, list[dict[str, Any]]]) -> str:
    head = (
        "figure",
        "place",
        "threadactors",
        "floor",
        "ratio",
        "pykka",
        "vs pykka",
        "floor is / note",
    )
    lines = [head]
    for placement, rows in results.items():
        for r in rows:
            unit = r["unit"]
            lines.append(
                (
                    r["figure"],
                    placement,
                    f"{r['threadactors']:,.1f} {unit}",
                    "-" if r["floor"] is None else f"{r['floor']:,.1f} {unit}",
                    "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
                    "-" if r["pykka"] is None else f"{r['pykka']:,.1f} {unit}",
                    "-" if r["vs_pykka"] is None else f"{r['vs_pykka']:.2f}x",
                    r["floor_name"] + (f"; {r['note']}" if r["note"] else ""),
                )
            )
    return table.render(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadactors bench")
    parser.add_argument("--quick", action="store_true", help="small sizes (under 30 s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--placement", choices=["same", "os", "both", "none"], default="both")
    parser.add_argument(
        "--pythons",
        metavar="PY,...",
        help="also measure on these interpreters ('auto': this checkout's .tox envs)",
    )
    parser.add_argument("--worker", choices=["same", "os", "python"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    if args.worker == "python":
        _quiet()
        pythons.worker(size)
        return 0
    if args.worker:
        _worker(args.worker, size)
        return 0
    placements = {"both": ["same", "os"], "none": []}.get(args.placement, [args.placement])
    results: dict[str, list[dict[str, Any]]] = {}
    for placement in placements:
        print(f"measuring, placement {placement} ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "threadactors", "bench", "--worker", placement]
        if args.quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        results[placement] = json.loads(out.stdout.strip().splitlines()[-1])
    per_python = pythons.run_all(args.pythons, args.quick) if args.pythons else []
    if args.json:
        print(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                    "pykka": pykka_figs.available(),
                    "results": results,
                    "pythons": per_python,
                },
                indent=1,
            )
        )
    else:
        print(
            f"threadactors bench: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
            f"size {size}, Pykka {'installed' if pykka_figs.available() else 'not installed'}"
        )
        print(
            "ratio = threadactors' cost / the floor's cost (time per op, or 1/throughput): "
            "1.00x is as fast as the floor, 2.00x twice as slow; same for 'vs pykka'."
        )
        if results:
            print(_table(results))
        if per_python:
            print()
            print(
                "per interpreter (placement os): ratio = threadactors / raw socket ping-pong; "
                "'actors in parallel' = the work N CPU-bound actors do in the time one does, "
                "beside N plain threads (ratio 1.00x: actors scale as threads do)"
            )
            print(pythons.per_python_table(per_python))
            for line in pythons.summary(per_python):
                print(line)
    return 0
