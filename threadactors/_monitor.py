"""What happens when an actor dies: the monitor thread.

One per node. It alone owns the link and monitor tables. Requests reach it as
control frames on its socket (``_wire`` kind ``x``), in the order their
senders sent them: ``link``, ``unlink``, ``monitor``, ``demonitor`` and
``ended`` (an actor's end, sent after its name and fds were released). It
turns an end into exit signals for the linked actors and ``Down`` messages
for the monitoring ones.

An actor keeps its own view of its links and monitors (``Actor.links``,
``Actor.monitors``), edited by itself on ``unlink``/``demonitor`` and by this
thread on delivery, under the actor's ``exc_lock``. A link signal or a
``Down`` is delivered only if the receiver's view still holds the link or the
monitor at that moment; so once ``unlink``/``demonitor`` has returned nothing
of it arrives any more (LNK-5, MON-6).
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Any, Final

from . import _affinity, _wire
from ._errors import NOPROC, NORMAL
from ._log import logger
from ._mailbox import Mailbox, deliver
from ._pid import Pid, Ref
from ._signals import Down, ExitSignal

if TYPE_CHECKING:
    from ._node import Actor, Node

__all__ = ["Monitor"]

_FRAME_CONTROL: Final = _wire.FRAME_CONTROL
_RECENT: Final = 4096


class Monitor:
    """The monitor thread of a node and its tables."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self.mailbox = Mailbox(Pid._make(node.os_pid, node.nonce, 0), node.untrusted)
        self.links: dict[Pid, set[Pid]] = {}
        self.by_target: dict[Pid, dict[Ref, Pid]] = {}  # target -> ref -> watcher
        self.by_watcher: dict[Pid, dict[Ref, Pid]] = {}  # watcher -> ref -> target
        # Reasons of recent ends, for a request that comes after its own
        # sender's end (it was killed while making it).
        self._recent: collections.OrderedDict[Pid, Any] = collections.OrderedDict()
        self._thread = threading.Thread(target=self._run, name="ta-monitor", daemon=True)
        self._thread.start()

    # -- requests (any thread) -------------------------------------------

    def request(self, *op: Any) -> None:
        """Queue a control request; never blocks."""
        node = self._node
        deliver(node.waker, self.mailbox, _wire.encode_control(op), node.wake)

    def stop(self) -> None:
        self.request("stop")
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.mailbox.close()
        self.mailbox.close_save_queue()

    def monitored_by(self, pid: Pid) -> list[Pid]:
        return sorted(set(dict(self.by_target.get(pid) or {}).values()))

    # -- the thread --------------------------------------------------------

    def native_id(self) -> int | None:
        return self._thread.native_id

    def _run(self) -> None:
        _affinity.apply_here()
        mailbox = self.mailbox
        unread = mailbox.unread
        while True:
            mailbox.fetch(None)
            while unread:
                frame = unread.popleft()
                if frame[0] != _FRAME_CONTROL:
                    continue
                try:
                    op = _wire.decode_control(frame)
                    if op[0] == "stop":
                        return
                    getattr(self, "_on_" + op[0])(*op[1:])
                except Exception:  # pragma: no cover - a bug; never fatal here
                    logger.exception("monitor_error", size=len(frame))

    def _actor(self, pid: Pid) -> Actor | None:
        """The actor of ``pid`` if its end has not been announced to us."""
        node = self._node
        return node.actors.get(pid) or node.unannounced.get(pid)

    def _on_link(self, a: Pid, b: Pid) -> None:
        target = self._actor(b)
        if target is None:
            self._link_signal(a, b, NOPROC)
            return
        if self._actor(a) is None:
            # ``a`` ended before its request got here: b learns of it now.
            with target.exc_lock:
                if not target.dead:
                    target.links.add(a)
            self._link_signal(b, a, self._recent.get(a, NOPROC))
            return
        with target.exc_lock:
            if not target.dead:
                target.links.add(a)
        self.links.setdefault(a, set()).add(b)
        self.links.setdefault(b, set()).add(a)

    def _on_unlink(self, a: Pid, b: Pid) -> None:
        for x, y in ((a, b), (b, a)):
            peers = self.links.get(x)
            if peers is not None:
                peers.discard(y)
                if not peers:
                    del self.links[x]
        other = self._actor(b)
        if other is not None:
            with other.exc_lock:
                other.links.discard(a)

    def _on_monitor(self, watcher: Pid, target: Pid, ref: Ref, recent: bool = False) -> None:
        if self._actor(watcher) is None:
            return  # the watcher ended before its request got here
        if self._actor(target) is None:
            # ``recent``: a call that monitors late wants the real reason of
            # an end it may have just missed.
            reason = self._recent.get(target, NOPROC) if recent else NOPROC
            self._down(watcher, ref, target, reason)
            return
        self.by_target.setdefault(target, {})[ref] = watcher
        self.by_watcher.setdefault(watcher, {})[ref] = target

    def _on_demonitor(self, watcher: Pid, ref: Ref) -> None:
        target = self.by_watcher.get(watcher, {}).pop(ref, None)
        if target is not None:
            refs = self.by_target.get(target)
            if refs is not None:
                refs.pop(ref, None)
                if not refs:
                    del self.by_target[target]

    def _on_ended(self, pid: Pid, reason: Any) -> None:
        self._node.unannounced.pop(pid, None)
        self._recent[pid] = reason
        if len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
        for peer in self.links.pop(pid, ()):
            peers = self.links.get(peer)
            if peers is not None:
                peers.discard(pid)
                if not peers:
                    del self.links[peer]
            self._link_signal(peer, pid, reason)
        for ref, watcher in self.by_target.pop(pid, {}).items():
            self.by_watcher.get(watcher, {}).pop(ref, None)
            self._down(watcher, ref, pid, reason)
        for ref, target in self.by_watcher.pop(pid, {}).items():
            refs = self.by_target.get(target)
            if refs is not None:
                refs.pop(ref, None)
                if not refs:
                    del self.by_target[target]

    # -- delivery ----------------------------------------------------------

    def _link_signal(self, to: Pid, sender: Pid, reason: Any) -> None:
        """An exit signal due to the link ``sender``-``to`` (SPEC §4 table)."""
        actor = self._actor(to)
        if actor is None:
            return
        node = self._node
        with actor.exc_lock:
            if actor.dead or sender not in actor.links:
                return  # unlinked meanwhile: the signal is dropped
            actor.links.discard(sender)
            if node.exiting(actor):
                return
            if actor.trap_exit:
                self._send(actor, ExitSignal(sender, reason))
                return
            if reason == NORMAL:
                return
        node.signal_exit(actor, reason)

    def _down(self, watcher: Pid, ref: Ref, pid: Pid, reason: Any) -> None:
        actor = self._actor(watcher)
        if actor is None:
            return
        with actor.exc_lock:
            if actor.dead or actor.monitors.pop(ref, None) is None:
                return  # demonitored meanwhile
            self._send(actor, Down(ref, pid, reason))

    def _send(self, actor: Actor, msg: Any) -> None:
        deliver(self.mailbox.sock, actor.mailbox, _wire.encode(msg), self._node.wake)
