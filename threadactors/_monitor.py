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
import importlib
import threading
from typing import TYPE_CHECKING, Any, Final

from . import _affinity, _wire
from ._errors import NOCONNECTION, NOPROC, NORMAL, SpawnError, UnpicklableError
from ._log import logger
from ._mailbox import Mailbox, deliver
from ._pid import Pid, Ref, _pid_from_key
from ._remote import node_pid
from ._signals import Down, ExitSignal, NodeDown

if TYPE_CHECKING:
    from ._node import Actor, Node

__all__ = ["Monitor"]

_FRAME_CONTROL: Final = _wire.FRAME_CONTROL
_FRAME_RELAY: Final = _wire.FRAME_RELAY
_RELAY_SIZE: Final = _wire.RELAY_SIZE
_RECENT: Final = 4096
SPAWNED: Final = "$spawned"
PS: Final = "$ps"


class Monitor:
    """The monitor thread of a node and its tables."""

    def __init__(self, node: Node) -> None:
        self._node = node
        # Its pid (serial 0) stands for the node: monitoring it from another
        # node fires only when this node goes down.
        self.mailbox_pid = Pid._make(node.os_pid, node.nonce, 0)
        self.mailbox = Mailbox(self.mailbox_pid, node.untrusted)
        self.stopped = False
        self.links: dict[Pid, set[Pid]] = {}
        self.by_target: dict[Pid, dict[Ref, Pid]] = {}  # target -> ref -> watcher
        self.by_watcher: dict[Pid, dict[Ref, Pid]] = {}  # watcher -> ref -> target
        # monitor_node: node -> {(watcher, node name)}
        self.node_watchers: dict[tuple[int, str], set[tuple[Pid, str]]] = {}
        self.watched_by: set[tuple[int, str]] = set()  # nodes that monitor_node us
        # Reasons of recent ends, for a request that comes after its own
        # sender's end (it was killed while making it).
        self._recent: collections.OrderedDict[Pid, Any] = collections.OrderedDict()
        self._thread = threading.Thread(target=self._run, name="ta-monitor", daemon=True)
        self._thread.start()

    # -- requests (any thread) -------------------------------------------

    def request(self, *op: Any) -> None:
        """Queue a control request; never blocks (dropped once stopped)."""
        node = self._node
        if self.stopped:
            return
        deliver(node.waker, self.mailbox, _wire.encode_control(op), node.wake)

    def stop(self) -> None:
        self.request("stop")
        self.stopped = True
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.mailbox.release()

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
                kind = frame[0]
                if kind not in (_FRAME_CONTROL, _FRAME_RELAY):
                    continue
                try:
                    if kind == _FRAME_RELAY:
                        self._relay(frame)
                        continue
                    op = _wire.decode_control(frame)
                    if op[0] == "stop":
                        self._tell_peers_we_stop()
                        return
                    getattr(self, "_on_" + op[0])(*op[1:])
                except Exception:  # pragma: no cover - a bug; never fatal here
                    logger.exception("monitor_error", size=len(frame))

    def _relay(self, frame: bytes) -> None:
        """A message from another node for one of our actors: delivered from
        here, in the order of that node's signals (SPEC §8)."""
        node = self._node
        actor = node.actors.get(_pid_from_key(node.os_pid, node.nonce, _wire.relay_serial(frame)))
        if actor is not None:
            deliver(self.mailbox.sock, actor.mailbox, frame[_RELAY_SIZE:], node.wake)
            if actor.mailbox.limit:
                node.check_mailbox(actor)

    def _actor(self, pid: Pid) -> Actor | None:
        """The actor of ``pid`` if its end has not been announced to us."""
        node = self._node
        return node.actors.get(pid) or node.unannounced.get(pid)

    def _on_link(self, a: Pid, b: Pid) -> None:
        if self._remote(b):
            # ``a`` told b's node itself (``rlink``, before any later message
            # of its): this is our own record of it.
            actor = self._actor(a)
            if actor is None:
                # ``a`` ended before its request got here: b learns of it now.
                self._to_node(b, ("rexit", b, a, _wire.wrap(self._recent.get(a, NOPROC))))
                return
            with actor.exc_lock:
                if b not in actor.links:
                    return  # it fired or was unlinked meanwhile
            self._add_link(a, b)
            self._watch(b)
            return
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
        self._add_link(a, b)

    def _on_unlink(self, a: Pid, b: Pid) -> None:
        self._on_runlink(a, b)  # (b's node, if another, was told by ``a``)

    def _on_runlink(self, a: Pid, b: Pid) -> None:
        self._remove_link(a, b)
        other = self._actor(b)
        if other is not None:
            with other.exc_lock:
                other.links.discard(a)

    def _on_monitor(self, watcher: Pid, target: Pid, ref: Ref, recent: bool = False) -> None:
        actor = self._actor(watcher)
        if self._remote(target):
            # The watcher told target's node itself (``rmonitor``): our record.
            if actor is None:
                self._to_node(target, ("rdemonitor", watcher, ref))
                return
            with actor.exc_lock:
                if ref not in actor.monitors:
                    return  # its Down came, or it was demonitored, meanwhile
            self._add_monitor(watcher, target, ref)
            self._watch(target)
            return
        if actor is None:
            return  # the watcher ended before its request got here
        if self._actor(target) is None:
            # ``recent``: a call that monitors late wants the real reason of
            # an end it may have just missed.
            reason = self._recent.get(target, NOPROC) if recent else NOPROC
            self._down(watcher, ref, target, reason)
            return
        self._add_monitor(watcher, target, ref)

    def _on_demonitor(self, watcher: Pid, ref: Ref) -> None:
        self._forget_monitor(watcher, ref)  # (another node was told by the watcher)

    def _on_rdemonitor(self, watcher: Pid, ref: Ref) -> None:
        self._forget_monitor(watcher, ref)

    def _forget_monitor(self, watcher: Pid, ref: Ref) -> Pid | None:
        target: Pid | None = _drop(self.by_watcher, watcher, ref)
        if target is not None:
            _drop(self.by_target, target, ref)
        return target

    # -- the tables ----------------------------------------------------------

    def _add_link(self, a: Pid, b: Pid) -> None:
        self.links.setdefault(a, set()).add(b)
        self.links.setdefault(b, set()).add(a)

    def _remove_link(self, a: Pid, b: Pid) -> None:
        _drop(self.links, a, b)
        _drop(self.links, b, a)

    def _add_monitor(self, watcher: Pid, target: Pid, ref: Ref) -> None:
        self.by_target.setdefault(target, {})[ref] = watcher
        self.by_watcher.setdefault(watcher, {})[ref] = target

    def _on_ended(self, pid: Pid, reason: Any) -> None:
        self._node.unannounced.pop(pid, None)
        for key, watchers in list(self.node_watchers.items()):
            watchers -= {w for w in watchers if w[0] == pid}
            if not watchers:
                del self.node_watchers[key]
        self._recent[pid] = reason
        if len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
        for peer in self.links.pop(pid, ()):
            _drop(self.links, peer, pid)
            if self._remote(peer):
                self._to_node(peer, ("rexit", peer, pid, _wire.wrap(reason)))
            else:
                self._link_signal(peer, pid, reason)
        for ref, watcher in self.by_target.pop(pid, {}).items():
            _drop(self.by_watcher, watcher, ref)
            if self._remote(watcher):
                self._to_node(watcher, ("rdown", watcher, ref, pid, _wire.wrap(reason)))
            else:
                self._down(watcher, ref, pid, reason)
        for ref, target in self.by_watcher.pop(pid, {}).items():
            _drop(self.by_target, target, ref)
            if self._remote(target):
                self._to_node(target, ("rdemonitor", pid, ref))

    # -- requests from other nodes ----------------------------------------

    def _on_rlink(self, a: Pid, b: Pid) -> None:
        """``a`` (of another node) linked to ``b`` (ours)."""
        target = self._actor(b)
        if target is None:
            # It ended before the request came (requests come in order
            # with a's messages): noproc, as on the BEAM.
            self._to_node(a, ("rexit", a, b, _wire.wrap(NOPROC)))
            return
        with target.exc_lock:
            if not target.dead:
                target.links.add(a)
        self._add_link(a, b)
        self._watch(a)

    def _on_rmonitor(self, watcher: Pid, target: Pid, ref: Ref) -> None:
        """``watcher`` (of another node) monitors ``target`` (ours)."""
        if target != self.mailbox_pid and self._actor(target) is None:
            self._to_node(watcher, ("rdown", watcher, ref, target, _wire.wrap(NOPROC)))
            return
        self._add_monitor(watcher, target, ref)
        self._watch(watcher)

    def _on_rmonitor_name(self, watcher: Pid, name: str, ref: Ref) -> None:
        """``watcher`` (of another node) monitors our registered ``name``:
        the name is looked up once, now (as Erlang's ``monitor/2``)."""
        target = self._node.registry.whereis(name)
        if target is None or self._actor(target) is None:
            self._to_node(watcher, ("rdown", watcher, ref, self.mailbox_pid, _wire.wrap(NOPROC)))
            return
        self._add_monitor(watcher, target, ref)
        self._watch(watcher)

    def _on_rexit(self, to: Pid, sender: Pid, sealed: Any) -> None:
        """The link ``to`` (ours) - ``sender`` (another node's) fired."""
        self._remove_link(to, sender)  # (not ``to``'s view: the signal checks it)
        self._link_signal(to, sender, _wire.unwrap(sealed))

    def _on_rdown(self, watcher: Pid, ref: Ref, target: Pid, sealed: Any) -> None:
        reason = _wire.unwrap(sealed)
        self._forget_monitor(watcher, ref)
        self._down(watcher, ref, target, reason)

    def _on_nodedown(self, key: tuple[int, str]) -> None:
        """Every link and monitor with an actor of node ``key`` fires."""
        self.watched_by.discard(key)
        self._node.watcher.mark_down(key)  # for good: its nonce never comes back

        def there(pid: Pid) -> bool:
            return pid._key[0] == key[0] and pid._key[1] == key[1]

        for remote in [p for p in self.links if there(p)]:
            for peer in self.links.pop(remote, ()):
                _drop(self.links, peer, remote)
                if not there(peer):
                    self._link_signal(peer, remote, NOCONNECTION)
        for remote in [p for p in self.by_target if there(p)]:
            for ref, watcher in self.by_target.pop(remote, {}).items():
                self._forget_monitor(watcher, ref)
                self._down(watcher, ref, remote, NOCONNECTION)
        for remote in [p for p in self.by_watcher if there(p)]:
            for ref in list(self.by_watcher.get(remote, {})):
                self._forget_monitor(remote, ref)
        for watcher, name in self.node_watchers.pop(key, set()):
            actor = self._actor(watcher)
            if actor is not None:
                self._send(actor, NodeDown(name))

    def _on_monitor_node(self, watcher: Pid, key: tuple[int, str], name: str) -> None:
        if self._actor(watcher) is None:
            return
        self.node_watchers.setdefault(key, set()).add((watcher, name))
        # So that it tells us if it stops without its process ending.
        self._to_node(node_pid(key), ("rnodewatch", self.mailbox_pid))
        self._watch(node_pid(key))

    def _on_rnodewatch(self, node: Pid) -> None:
        self.watched_by.add((node._key[0], node._key[1]))

    def _tell_peers_we_stop(self) -> None:
        """A node that stops while its process goes on is down for the others
        too: tell every node that has links or monitors with us."""
        peers = set(self.watched_by)
        # Links are kept both ways, monitors under both parties: the keys
        # name every actor we have an entry with.
        for table in (self.links, self.by_target, self.by_watcher):
            peers.update((p._key[0], p._key[1]) for p in table if self._remote(p))
        me = self.mailbox_pid
        for key in peers:
            self._to_node(node_pid(key), ("nodedown", (me._key[0], me._key[1])))

    def _on_rsignal(self, target: Pid, sender: Pid, sealed: Any) -> None:
        """``exit(target, reason)`` called on another node (SPEC §4 table)."""
        reason = _wire.unwrap(sealed)
        actor = self._node.actors.get(target)
        if actor is not None:
            self._node.exit_signal(sender, actor, reason, self.mailbox.sock)

    def _on_rsend(self, name: str, frame: bytes) -> None:
        """A message for a name registered here, from another node."""
        node = self._node
        pid = node.registry.whereis(name)
        actor = None if pid is None else node.actors.get(pid)
        if actor is not None:
            deliver(self.mailbox.sock, actor.mailbox, frame, node.wake)
            if actor.mailbox.limit:
                node.check_mailbox(actor)

    def _on_rspawn(self, reply_to: Pid, ref: Ref, module: str, qualname: str, sealed: Any) -> None:
        node = self._node
        try:
            unsealed = _wire.unwrap(sealed)
            if isinstance(unsealed, UnpicklableError):
                raise unsealed  # its class is not known here
            args, kwargs = unsealed
            fn: Any = importlib.import_module(module)
            for part in qualname.split("."):
                fn = getattr(fn, part)
            pid, _ = node.spawn(None, fn, tuple(args), dict(kwargs))
            answer: Any = pid
        except Exception as e:
            answer = SpawnError(f"cannot spawn {module}.{qualname} on {node.name}: {e!r}")
        self._node.send_remote(None, reply_to, _wire.encode((SPAWNED, ref, answer)))

    def _on_ps(self, reply_to: Pid, ref: Ref) -> None:
        node = self._node
        rows = []
        for pid, actor in list(node.actors.items()):
            rows.append(
                {
                    "pid": pid,
                    "name": node.registry.name_of(pid),
                    "status": actor.status,
                    "message_queue_len": actor.mailbox.queue_length(),
                    "function": actor.function,
                }
            )
        node.send_remote(None, reply_to, _wire.encode((PS, ref, node.name, rows)))

    # -- other nodes -------------------------------------------------------

    def _remote(self, pid: Pid) -> bool:
        return pid._key[0] != self._node.os_pid

    def _to_node(self, pid: Pid, op: Any) -> None:
        """A control request to the monitor thread of ``pid``'s node."""
        self._node.to_node(None, (pid._key[0], pid._key[1]), _wire.encode_control(op))

    def _watch(self, pid: Pid) -> None:
        key = (pid._key[0], pid._key[1])
        try:
            self._node.watcher.watch(key)
        except OSError:
            # Cannot watch it (out of fds?): better down now than never.
            self._on_nodedown(key)

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
            self._send(actor, Down(ref, actor.monitor_names.pop(ref, pid), reason))

    def _send(self, actor: Actor, msg: Any) -> None:
        deliver(self.mailbox.sock, actor.mailbox, _wire.encode(msg), self._node.wake)


def _drop(table: dict[Pid, Any], key: Pid, item: Any) -> Any:
    """Remove ``item`` from ``table[key]`` (a set, or a dict by key), and the
    entry once empty; returns the dict's value (``None`` for a set)."""
    entry = table.get(key)
    if entry is None:
        return None
    value = entry.pop(item, None) if isinstance(entry, dict) else entry.discard(item)
    if not entry:
        del table[key]
    return value
