"""``python -m threadactors ps``: this user's nodes on the host, and their actors."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from . import _api, _remote, _wire
from ._monitor import PS
from ._node import current_actor
from ._patterns import ANY


def collect(timeout: float) -> dict[str, list[dict[str, Any]] | None]:
    """Each named node's actors (``None``: it did not answer in time)."""
    _api.start(f"ps-{os.getpid()}")
    actor = current_actor()
    node = actor.node
    asked = {}
    for name, key in sorted(_remote.list_nodes().items()):
        if name == node.name:
            continue
        ref = node.make_ref()
        asked[ref] = name
        frame = _wire.encode_control(("ps", actor.pid, ref))
        node.to_node(actor, key, frame)
    answers: dict[str, list[dict[str, Any]] | None] = dict.fromkeys(asked.values())
    deadline = time.monotonic() + timeout
    while any(v is None for v in answers.values()):
        left = deadline - time.monotonic()
        got = _api.receive((PS, ANY, ANY, list), timeout=max(0.0, left), default=None)
        if got is None:
            break
        if got[1] in asked:
            answers[asked[got[1]]] = got[3]
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m threadactors ps")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for answers")
    args = parser.parse_args(argv)
    try:
        answers = collect(args.timeout)
    finally:
        _api.shutdown()
    if not answers:
        print("no named nodes of this user on this host")
        return 0
    header = ("node", "pid", "name", "status", "mailbox", "function")
    rows: list[tuple[str, ...]] = []
    for node_name, actors in answers.items():
        if actors is None:
            rows.append((node_name, "-", "-", "no answer", "-", "-"))
            continue
        for info in sorted(actors, key=lambda i: i["pid"]):
            rows.append(
                (
                    node_name,
                    repr(info["pid"]),
                    info["name"] or "",
                    info["status"],
                    str(info["message_queue_len"]),
                    info["function"],
                )
            )
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0
