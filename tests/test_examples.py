"""Every example runs as a script and says what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    return out.stdout


def test_every_example_is_covered() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(CHECKS)


def check_seed_demo(out: str) -> None:
    assert "sending: a0 a1 a2 b0 b1 b2" in out
    assert "received: a0 b0 a1 b1 a2 b2" in out


def check_ping_pong(out: str) -> None:
    assert "1000 ping-pong rounds in" in out
    assert "µs per round trip" in out


def check_links(out: str) -> None:
    assert "went down with it: RuntimeError('resize failed')" in out
    assert "trapped ExitSignal(" in out and "RuntimeError('upload failed')" in out
    assert "survivor alive: True" in out
    assert "survivor stopped: 'normal'" in out


def check_bank(out: str) -> None:
    assert "alice withdrew: ('ok', 20)" in out
    assert "bob and carol are waiting; balance: 20" in out
    assert "bob withdrew: ('ok', 10)" in out
    assert "carol withdrew: ('ok', 80)" in out
    assert "account closed (normal), final balance 80" in out


def check_supervision_tree(out: str) -> None:
    assert "requests answered: 400/400" in out
    assert "stats server counted: 400" in out
    line = next(line for line in out.splitlines() if line.startswith("restarts seen: "))
    assert int(line.split()[2]) == out.count("  restart seen: ")


def check_worker_pool(out: str) -> None:
    assert "results: [1, 4, 9, 16, 25, 36]" in out
    assert "crashed (worker 0 swallowed poison)" in out
    assert "pool after the crash: {'specs': 1, 'active': 3" in out


def check_placement(out: str) -> None:
    assert "CPUs available: [" in out
    assert "this node's threads now run on CPU" in out
    assert "set_affinity(None): the kernel places them again" in out
    assert "µs on one CPU" in out and "s on one CPU" in out


def check_overload(out: str) -> None:
    assert "may hold at most 100 messages" in out
    assert "after 101 messages it was killed: Down reason 'mailbox_overflow'" in out
    assert "an unbounded consumer holds 101 messages" in out


def check_two_nodes(out: str) -> None:
    assert "worker a in process" in out and "7^2 = 49" in out
    assert "worker a went down: 'noconnection'" in out
    assert "restarted worker a in process" in out and "9^2 = 81" in out
    assert out.rstrip().endswith("done")


CHECKS = {
    "two_nodes.py": ((), check_two_nodes),
    "overload.py": ((), check_overload),
    "placement.py": (("500",), check_placement),
    "bank.py": ((), check_bank),
    "supervision_tree.py": (("400",), check_supervision_tree),
    "worker_pool.py": ((), check_worker_pool),
    "links.py": ((), check_links),
    "seed_demo.py": ((), check_seed_demo),
    "ping_pong.py": (("1000",), check_ping_pong),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example(name: str) -> None:
    args, check = CHECKS[name]
    check(run(str(EXAMPLES / name), *args))


def test_demo_command() -> None:
    out = run("-m", "threadactors", "demo")
    assert "sending, in this order: a0 a1 a2 b0 b1 b2" in out
    assert "received, in this order: a0 b0 a1 b1 a2 b2" in out
