"""Opt-in thread placement: keep a node's threads on chosen CPUs."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from typing import Final

__all__ = ["apply_here", "choose", "current", "move"]

# The process's mask before any choice: what ``None`` restores.
_DEFAULT: Final = frozenset(os.sched_getaffinity(0))
_chosen: frozenset[int] | None = None
_lock = threading.Lock()


def current() -> frozenset[int] | None:
    """The CPUs chosen for the node's threads (``None``: the kernel decides)."""
    return _chosen


def choose(cpus: Iterable[int] | None) -> frozenset[int]:
    """Record the choice; returns the mask threads must be moved to."""
    global _chosen
    if cpus is None:
        with _lock:
            _chosen = None
        return _DEFAULT
    if isinstance(cpus, (str, bytes)) or not isinstance(cpus, Iterable):
        raise TypeError(f"cpus must be an iterable of CPU numbers or None, not {cpus!r}")
    mask = set()
    for cpu in cpus:
        if isinstance(cpu, bool) or not isinstance(cpu, int):
            raise TypeError(f"a CPU number is an int, not {cpu!r}")
        mask.add(cpu)
    allowed = os.sched_getaffinity(0) | _DEFAULT
    if not mask or not mask <= allowed:
        raise ValueError(
            f"cpus must be a non-empty subset of {sorted(allowed)}, not {sorted(mask)}"
        )
    with _lock:
        _chosen = frozenset(mask)
    return _chosen


def apply_here() -> None:
    """Put the calling thread on the chosen CPUs, if a choice was made."""
    mask = _chosen
    if mask is not None:
        os.sched_setaffinity(0, mask)


def move(native_ids: Iterable[int | None], mask: frozenset[int]) -> None:
    """Put running threads (by kernel thread id) on ``mask``; gone ones are skipped."""
    for tid in native_ids:
        if tid is None:
            continue
        try:
            os.sched_setaffinity(tid, mask)
        except ProcessLookupError:
            pass  # it ended meanwhile
