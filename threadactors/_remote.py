"""Nodes in other OS processes of the same user: names, the outbox, pidfds.

A named node binds two more abstract sockets: ``\\0ta-name-<uid>-<name>``,
whose bind fails while another process holds it (names are unique per user
on the host, and free again when their process dies, however it dies), and
``\\0ta-dir-<uid>-<name>-<os pid>-<nonce>``, which ``/proc/net/unix`` lists
for anyone looking for the node. Every actor socket of a named node then
accepts datagrams from processes of the same uid (``_mailbox.trust``).

A send to another process goes straight to the socket when there is room;
when there is not (``EAGAIN``) the frame joins that destination's queue in
the outbox, and so do all later frames for it until the queue is empty: one
thread waits for the destinations to have room (``POLLOUT`` on a socket
connected to each) and sends in order. That keeps per-pair order and never
blocks a sender.

The watcher thread holds a pidfd of every node we have links or monitors
with, and tells the monitor thread (``nodedown``) when one becomes readable:
the process is gone, whatever killed it.
"""

from __future__ import annotations

import collections
import os
import re
import select
import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Final

from ._errors import NameTaken
from ._log import logger
from ._mailbox import Mailbox, send_frame
from ._pid import Pid, _pid_from_key

if TYPE_CHECKING:
    from ._node import Node

__all__ = [
    "NAME_RE",
    "Outbox",
    "Watcher",
    "bind_name",
    "list_nodes",
    "node_pid",
]

NAME_RE: Final = re.compile(r"[A-Za-z0-9_.@+-]{1,64}\Z")
NodeKey = tuple[int, str]  # (os pid, nonce)


def _uid() -> int:
    return os.geteuid()


def bind_name(name: str, os_pid: int, nonce: str) -> list[socket.socket]:
    """Claim ``name`` on the host for this node; ``NameTaken`` if held."""
    if not isinstance(name, str):
        raise TypeError(f"a node name is a str, not {type(name).__name__}")
    if not NAME_RE.match(name):
        raise ValueError(f"a node name is 1-64 of A-Z a-z 0-9 _ . @ + -, not {name!r}")
    uid = _uid()
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        claim.bind(b"\0ta-name-%d-%s" % (uid, name.encode()))
    except OSError as e:
        claim.close()
        raise NameTaken(f"a node named {name!r} is running on this host") from e
    entry = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        entry.bind(b"\0ta-dir-%d-%s-%d-%s" % (uid, name.encode(), os_pid, nonce.encode()))
    except OSError:
        entry.close()
        claim.close()
        raise
    return [claim, entry]


def _unix_sockets() -> list[tuple[str, str]]:
    """(inode, path) of every bound unix socket on the host."""
    with open("/proc/net/unix", encoding="ascii", errors="replace") as f:
        next(f, None)
        return [(parts[6], parts[-1]) for line in f if len(parts := line.split()) >= 8]


def _unix_paths() -> list[str]:
    return [path for _, path in _unix_sockets()]


# Entries found genuine: (name, os pid, nonce, dir inode, name inode).
_checked: dict[tuple[str, int, str, str, str], bool] = {}


def _owned_by_our_user(os_pid: int, inodes: tuple[str, str]) -> bool:
    """Whether process ``os_pid`` runs as our user and holds both sockets.

    Abstract names have no owner: anyone can bind ``\\0ta-dir-<our uid>-...``
    and wait for our messages. A process of our user that holds the socket
    (its fd table is readable only to that user and root) is the node.
    """
    try:
        with open(f"/proc/{os_pid}/status", encoding="ascii") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()
        if int(uids[2]) != _uid():
            return False
        held = set()
        for fd in os.listdir(f"/proc/{os_pid}/fd"):
            try:
                held.add(os.readlink(f"/proc/{os_pid}/fd/{fd}"))
            except OSError:
                continue
    except (OSError, StopIteration, ValueError, IndexError):
        return False
    return all(f"socket:[{inode}]" in held for inode in inodes)


def list_nodes() -> dict[str, NodeKey]:
    """Named nodes of this user on the host: name -> (os pid, nonce).

    Only entries held, with their name, by a process of our user count.
    """
    uid = _uid()
    head = f"@ta-dir-{uid}-"
    claims = f"@ta-name-{uid}-"
    names: dict[str, str] = {}
    entries = []
    for inode, path in _unix_sockets():
        if path.startswith(head):
            entries.append((inode, path[len(head) :]))
        elif path.startswith(claims):
            names[path[len(claims) :]] = inode
    nodes = {}
    for inode, rest in entries:
        try:
            name, os_pid_text, nonce = rest.rsplit("-", 2)
            os_pid = int(os_pid_text)
        except ValueError:
            continue
        claim = names.get(name)
        if claim is None:
            continue
        check = (name, os_pid, nonce, inode, claim)
        if check not in _checked:
            if not _owned_by_our_user(os_pid, (inode, claim)):
                continue  # (not remembered: a failed check is cheap to redo)
            if len(_checked) > 1024:
                _checked.clear()
            _checked[check] = True
        nodes[name] = (os_pid, nonce)
    return nodes


def node_alive(key: NodeKey) -> bool:
    """Whether the node ``key`` still has its monitor socket bound."""
    mine = "@" + node_pid(key).address[1:].decode()
    return mine in _unix_paths()


def node_pid(key: NodeKey) -> Pid:
    """The pid that stands for node ``key``: its monitor thread's (interned,
    so its address is formatted once: relayed sends use it per message)."""
    return _pid_from_key(key[0], key[1], 0)


class Outbox:
    """Frames for other processes that found no room, sent in order.

    One FIFO per destination node, as Erlang keeps one connection per pair
    of nodes: while a node's queue is not empty, every frame for any of its
    addresses (actors and monitor thread) joins it, so a message queued
    before an actor's end is delivered before that end's signals, which
    follow it to the same node. Senders never block; one thread waits for
    room (``POLLOUT`` on a socket connected to the head frame's address).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._queues: dict[NodeKey, collections.deque[tuple[bytes, bytes]]] = {}
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = False

    def send(
        self,
        sock: socket.socket,
        key: NodeKey,
        address: bytes,
        frame: bytes,
        sender: Mailbox | None = None,
    ) -> None:
        """Send ``frame`` to ``address`` (of node ``key``) from ``sock``.

        ``sender``: the sending actor's mailbox; a frame that must queue is
        dropped if that actor has ended meanwhile (its end is on its way:
        nothing after it).
        """
        if key not in self._queues:
            try:
                send_frame(sock, address, frame)
                return
            except BlockingIOError:
                pass
            except OSError:
                return  # that actor or node is gone: dropped, as Erlang drops it
        with self._lock:
            if self._stopping or (sender is not None and sender.closed):
                return
            queue = self._queues.get(key)
            new = queue is None
            if queue is None:
                queue = self._queues[key] = collections.deque()
            queue.append((address, frame))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ta-outbox", daemon=True)
                self._thread.start()
        if new:
            self._kick()

    def _kick(self) -> None:
        try:
            self._wake_w.send(b"k")
        except BlockingIOError:
            pass  # already kicked

    def stop(self, timeout: float | None) -> None:
        """Send what is queued (waiting up to ``timeout``), then stop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._drained:
            while self._queues and self._thread is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._drained.wait(left)
            self._stopping = True
            thread = self._thread
        if thread is not None:
            self._kick()
            thread.join()
        self._wake_r.close()
        self._wake_w.close()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        conns: dict[NodeKey, dict[bytes, socket.socket]] = {}
        waiting: set[NodeKey] = set()  # nodes whose head frame waits for room
        try:
            while True:
                ready: list[NodeKey] = []
                for event, _ in selector.select():
                    if event.fileobj is self._wake_r:
                        try:
                            while self._wake_r.recv(4096):
                                pass
                        except BlockingIOError:
                            pass
                        if self._stopping:
                            return
                        with self._lock:
                            ready.extend(k for k in self._queues if k not in waiting)
                    else:
                        selector.unregister(event.fileobj)
                        waiting.discard(event.data)
                        ready.append(event.data)
                for key in dict.fromkeys(ready):
                    if key not in waiting:
                        self._pump(key, conns, selector, waiting)
        finally:
            for by_address in conns.values():
                for conn in by_address.values():
                    conn.close()
            selector.close()

    def _pump(
        self,
        key: NodeKey,
        conns: dict[NodeKey, dict[bytes, socket.socket]],
        selector: selectors.BaseSelector,
        waiting: set[NodeKey],
    ) -> None:
        """Send node ``key``'s queue in order until one does not fit."""
        by_address = conns.setdefault(key, {})
        while True:
            with self._lock:
                queue = self._queues.get(key)
                if not queue:
                    self._queues.pop(key, None)
                    self._drained.notify_all()
                    for conn in by_address.values():
                        conn.close()
                    conns.pop(key, None)
                    return
                address, frame = queue[0]  # stays queued until sent
            out = by_address.get(address)
            try:
                if out is None:
                    out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    out.setblocking(False)
                    try:
                        out.connect(address)
                    except OSError:
                        out.close()
                        raise
                    by_address[address] = out
                send_frame(out, None, frame)
            except BlockingIOError:
                assert out is not None
                selector.register(out, selectors.EVENT_WRITE, key)
                waiting.add(key)
                return
            except OSError:
                pass  # that actor is gone: its frame is dropped
            with self._lock:
                queue.popleft()


class Watcher:
    """Pidfds of the nodes we have links or monitors with."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._by_fd: dict[int, NodeKey] = {}
        self._by_node: dict[NodeKey, int] = {}
        self._down: set[NodeKey] = set()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = False

    def watch(self, key: NodeKey) -> None:
        """Make sure ``nodedown`` reaches the monitor thread when ``key`` dies
        (at once if it is dead already)."""
        with self._lock:
            if self._stopping:
                return
            # Down before ``in _by_node``: a node that stopped while its
            # process lives on stays down (its nonce never comes back).
            if key in self._down:
                self._node.monitor.request("nodedown", key)
                return
            if key in self._by_node:
                return
        try:
            fd = os.pidfd_open(key[0])
        except OSError:
            fd = -1
        # The pid may have been reused: the node's socket tells it is ours.
        if fd >= 0 and not node_alive(key):
            os.close(fd)
            fd = -1
        with self._lock:
            if fd < 0:
                self._down.add(key)
            else:
                self._by_fd[fd] = key
                self._by_node[key] = fd
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="ta-watcher", daemon=True
                    )
                    self._thread.start()
        if fd < 0:
            self._node.monitor.request("nodedown", key)
        else:
            try:
                self._wake_w.send(b"w")
            except BlockingIOError:
                pass

    def mark_down(self, key: NodeKey) -> None:
        """Node ``key`` is down (it said so, stopping): what is watched later
        fires at once."""
        with self._lock:
            self._down.add(key)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        if thread is not None:
            try:
                self._wake_w.send(b"s")
            except BlockingIOError:
                pass
            thread.join()
        with self._lock:
            for fd in self._by_fd:
                os.close(fd)
            self._by_fd.clear()
            self._by_node.clear()
        self._wake_r.close()
        self._wake_w.close()

    def _run(self) -> None:
        poller = select.poll()
        registered: set[int] = set()
        poller.register(self._wake_r, select.POLLIN)
        while True:
            with self._lock:
                if self._stopping:
                    return
                for fd in self._by_fd.keys() - registered:
                    poller.register(fd, select.POLLIN)
                    registered.add(fd)
            for fd, _ in poller.poll():
                if fd == self._wake_r.fileno():
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                poller.unregister(fd)
                registered.discard(fd)
                with self._lock:
                    key = self._by_fd.pop(fd, None)
                    if key is not None:
                        del self._by_node[key]
                        self._down.add(key)
                    os.close(fd)
                if key is not None:
                    logger.info("node_down", os_pid=key[0])
                    self._node.monitor.request("nodedown", key)
