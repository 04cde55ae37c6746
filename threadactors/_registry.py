"""Registered names: one name per actor, one actor per name."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ._errors import NameTaken

if TYPE_CHECKING:
    from ._pid import Pid

__all__ = ["Registry"]


class Registry:
    """Maps names to pids and back, node-wide."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, Pid] = {}
        self._by_pid: dict[Pid, str] = {}

    def register(self, name: str, pid: Pid) -> None:
        with self._lock:
            if name in self._by_name:
                raise NameTaken(f"name {name!r} is registered to {self._by_name[name]!r}")
            if pid in self._by_pid:
                raise NameTaken(f"{pid!r} is registered as {self._by_pid[pid]!r} already")
            self._by_name[name] = pid
            self._by_pid[pid] = name

    def unregister(self, name: str) -> Pid | None:
        with self._lock:
            pid = self._by_name.pop(name, None)
            if pid is not None:
                del self._by_pid[pid]
            return pid

    def release(self, pid: Pid) -> None:
        """Drop the name of ``pid``, if it has one (it has ended)."""
        with self._lock:
            name = self._by_pid.pop(pid, None)
            if name is not None:
                del self._by_name[name]

    def whereis(self, name: str) -> Pid | None:
        return self._by_name.get(name)

    def name_of(self, pid: Pid) -> str | None:
        return self._by_pid.get(pid)

    def names(self) -> list[str]:
        with self._lock:
            return list(self._by_name)

    def clear(self) -> None:
        with self._lock:
            self._by_name.clear()
            self._by_pid.clear()
