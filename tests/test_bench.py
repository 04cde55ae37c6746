"""The benchmark command runs and prints its table (timings are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIGURES = [
    "ping-pong round trip",
    "one-way throughput",
    "ring ",
    "call round trip",
    "call, 10,000 queued",
    "spawn + exit",
    "burst wake of",
    "actors alive: start",
    "MiB message",
    "call p50, one actor spinning",
    "call p99, one actor spinning",
    "cross-process ping-pong",
    "cross-process ping-pong, linked",
    "cross-process one-way",
]


def run(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "threadactors", "bench", "--quick", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    ).stdout


def test_bench_quick_table_shape() -> None:
    out = run()
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("figure"))
    assert "threadactors" in lines[header] and "floor" in lines[header] and "ratio" in lines[header]
    rows = lines[header + 2 :]
    for placement in ("same", "os"):
        mine = [r for r in rows if f"  {placement}  " in r]
        assert len(mine) == len(FIGURES), mine
        for figure, r in zip(FIGURES, mine, strict=True):
            assert r.startswith(figure) or figure in r.split("  ")[0]


def test_bench_json() -> None:
    data = json.loads(run("--json", "--placement", "same"))
    assert set(data["results"]) == {"same"}
    rows = data["results"]["same"]
    assert len(rows) == len(FIGURES)
    for row in rows:
        assert row["threadactors"] > 0
        assert set(row) >= {"figure", "unit", "floor", "ratio", "pykka"}


def test_bench_pythons_row() -> None:
    data = json.loads(run("--json", "--placement", "none", "--pythons", sys.executable))
    assert data["results"] == {}
    (row,) = data["pythons"]
    assert row["exe"] == sys.executable
    assert row["python"].startswith(sys.version.split()[0])
    for key in ("ping_pong", "raw_ping_pong", "call", "actors_speed_up", "threads_speed_up"):
        assert row[key] > 0, key
    assert row["workers"] >= 1
