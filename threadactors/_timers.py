"""The timer thread: one per node, a heap of due times."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _affinity
from ._log import logger
from ._pid import Pid

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["Timers"]

_MAX_WAIT = 3600.0  # below threading.TIMEOUT_MAX; a longer wait just loops


class Timers:
    """Timed sends (``send_after``) and the runtime's own delayed calls.

    A timer aimed at a pid of this node ends with its actor, as in OTP: it
    is not set if the actor is gone already, and cancelled when it ends
    (``forget``). One aimed at a name, or at another node's pid, fires
    whatever happens to its destination.
    """

    def __init__(self, node: Node) -> None:
        self._node = node
        # Reentrant: a send made while firing may itself schedule a retry
        # (``Node.wake``) from this very thread.
        self._cond = threading.Condition(threading.RLock())
        self._heap: list[tuple[float, int, Any]] = []
        self._pending: dict[int, float] = {}  # timer id -> due time
        self._by_dest: dict[Pid, set[int]] = {}  # our actors' pending timers
        self._dest: dict[int, Pid] = {}  # timer id -> its actor, for those
        self._cancelled = 0  # heap entries of cancelled timers
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def send_after(self, seconds: float, timer: int, dest: Pid | str, frame: bytes) -> None:
        due = time.monotonic() + seconds
        node = self._node
        with self._cond:
            if isinstance(dest, Pid) and not node.is_remote(dest):
                # Checked under the lock ``forget`` takes after the actor left
                # the table: either it is not set, or it is forgotten then.
                if dest not in node.actors:
                    return  # gone already: never set (cancel_timer gives None)
                self._by_dest.setdefault(dest, set()).add(timer)
                self._dest[timer] = dest
            self._pending[timer] = due
            self._push(due, ("send", timer, dest, frame))

    def forget(self, pid: Pid) -> None:
        """Actor ``pid`` has ended (and left the actor table): its timers end too."""
        with self._cond:
            for timer in self._by_dest.pop(pid, ()):
                self._dest.pop(timer, None)
                if self._pending.pop(timer, None) is not None:
                    self._dropped()

    def _untrack(self, timer: int) -> None:
        pid = self._dest.pop(timer, None)
        if pid is not None:
            timers = self._by_dest.get(pid)
            if timers is not None:
                timers.discard(timer)
                if not timers:
                    del self._by_dest[pid]

    def _dropped(self) -> None:
        """A pending timer was removed: its heap entry stays until its time,
        so drop such entries once they are most of the heap."""
        self._cancelled += 1
        if self._cancelled > 64 and 2 * self._cancelled > len(self._heap):
            pending = self._pending
            self._heap = [e for e in self._heap if e[2][0] != "send" or e[2][1] in pending]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def pending_count(self) -> int:
        """Timers set and not yet fired or cancelled (for tests)."""
        with self._cond:
            return len(self._pending)

    def heap_size(self) -> int:
        with self._cond:
            return len(self._heap)

    def call_later(self, seconds: float, fn: Callable[[], None]) -> None:
        with self._cond:
            self._push(time.monotonic() + seconds, ("call", fn))

    def cancel(self, timer: int) -> float | None:
        """Seconds that were left, or ``None`` if it fired or never existed.

        Holding the lock the thread fires under: once this returns ``None``
        for a timer that fired, its message is in the destination's mailbox.
        """
        with self._cond:
            due = self._pending.pop(timer, None)
            if due is not None:
                self._untrack(timer)
                self._dropped()
        if due is None:
            return None
        return max(0.0, due - time.monotonic())

    def _push(self, due: float, item: Any) -> None:
        if self._stopping:
            return
        heapq.heappush(self._heap, (due, next(self._order), item))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ta-timers", daemon=True)
            self._thread.start()
        elif self._heap[0][2] is item:
            self._cond.notify()

    def native_id(self) -> int | None:
        thread = self._thread
        return None if thread is None else thread.native_id

    def _run(self) -> None:
        _affinity.apply_here()
        cond = self._cond
        while True:
            calls: list[Callable[[], None]] = []
            with cond:
                while not self._stopping:
                    heap = self._heap
                    if not heap:
                        cond.wait()
                        continue
                    wait = heap[0][0] - time.monotonic()
                    if wait > 0:
                        cond.wait(min(wait, _MAX_WAIT))
                        continue
                    break
                if self._stopping:
                    return
                now = time.monotonic()
                # ``self._heap`` each time: a send below can end an actor,
                # whose ``forget`` may replace the heap (``_dropped``).
                while self._heap and self._heap[0][0] <= now:
                    item = heapq.heappop(self._heap)[2]
                    if item[0] == "send" and item[1] not in self._pending:
                        self._cancelled = max(0, self._cancelled - 1)
                        continue
                    if item[0] == "send":
                        _, timer, dest, frame = item
                        if self._pending.pop(timer, None) is not None:
                            self._untrack(timer)
                            try:
                                self._node.send_timer_frame(timer, dest, frame)
                            except Exception:  # pragma: no cover - logged, never fatal
                                logger.exception("timer_failed", timer=timer)
                    else:
                        calls.append(item[1])
            for fn in calls:
                try:
                    fn()
                except Exception:  # pragma: no cover
                    logger.exception("timer_call_failed")

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._pending.clear()
            self._by_dest.clear()
            self._dest.clear()
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
