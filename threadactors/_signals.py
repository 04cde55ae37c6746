"""The messages that signals become: ``ExitSignal``, ``Down``, ``NodeDown``."""

from __future__ import annotations

import dataclasses
from typing import Any

from ._pid import Pid, Ref

__all__ = ["Down", "ExitSignal", "NodeDown"]


@dataclasses.dataclass(frozen=True)
class ExitSignal:
    """An exit signal from ``pid`` received while trapping exits."""

    pid: Pid
    reason: Any


@dataclasses.dataclass(frozen=True)
class Down:
    """Monitor ``ref`` saw ``pid`` end with ``reason``. For a monitor by
    name, ``pid`` is that name, or ``(name, node)``, as it was given."""

    ref: Ref
    pid: Pid | str | tuple[str, str]
    reason: Any


@dataclasses.dataclass(frozen=True)
class NodeDown:
    """A node watched with ``monitor_node`` went down (or was not up)."""

    node: str
