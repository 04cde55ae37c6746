"""``python -m threadactors demo|bench|soak|ps``: the seed demo, the benchmarks,
the soak, the nodes of this user."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

import structlog

import threadactors as ta

from . import _ps

_MESSAGES = ["a0", "a1", "a2", "b0", "b1", "b2"]


def _picker(report_to: ta.Pid) -> None:
    ta.receive("go")
    for i in range(len(_MESSAGES)):
        prefix = "ab"[i % 2]
        msg = ta.receive(lambda m, p=prefix: m.startswith(p), timeout=5)
        print(f"  picker: asked for {prefix}*, took {msg}")
        ta.send(report_to, msg)


def _demo() -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    print("threadactors demo: selective receive")
    pid = ta.spawn(_picker, ta.self())
    print(f"  spawned the picker actor {pid} (a thread with socket {pid.address!r})")
    print(f"  sending, in this order: {' '.join(_MESSAGES)}")
    for msg in _MESSAGES:
        ta.send(pid, msg)
    ta.send(pid, "go")
    received = [ta.receive(timeout=5) for _ in _MESSAGES]
    print(f"  received, in this order: {' '.join(received)}")
    ta.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadactors")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the seed demo (selective receive)")
    sub.add_parser("bench", help="run the benchmarks (from the repository root)", add_help=False)
    sub.add_parser("soak", help="run the soak test (from the repository root)", add_help=False)
    sub.add_parser("ps", help="list this user's named nodes and their actors", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        return _demo()
    if args.command == "ps":
        return _ps.main(rest)
    try:
        # Not part of the package: they live in the repository's benchmarks/.
        module = importlib.import_module(f"benchmarks.{args.command}")
    except ImportError:
        print(
            f"{args.command} runs from the repository root (it needs benchmarks/)", file=sys.stderr
        )
        return 2
    code: int = module.main(rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
