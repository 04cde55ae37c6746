"""Where a message goes: the mailbox of one actor.

See docs/design.md for the invariants. In short, an actor's mailbox is, in
arrival order: its save queue (skipped messages, memfd), ``unread`` (frames
fetched but not yet looked at), then its socket's queue, then ``backlog``
(frames in-process senders could not put on the socket: it was full). The
socket is drained before the backlog is taken, under ``lock``, which is what
keeps each sender's order.
"""

from __future__ import annotations

import collections
import errno
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from . import _wire
from ._save_queue import SaveQueue

if TYPE_CHECKING:
    from ._pid import Pid

__all__ = ["DEAD_ERRORS", "Mailbox", "deliver", "send_frame", "trust"]

# Effective 8 MiB (the kernel doubles it, capped by wmem_max): one socket can
# then have ~10,900 small datagrams unread across all its destinations.
SNDBUF: Final = 4 * 1024 * 1024

# Plain ints: the socket module's flag enums cost ~1 µs per operation.
_DONTWAIT: Final = int(socket.MSG_DONTWAIT)
_RECV_FLAGS: Final = int(socket.MSG_CMSG_CLOEXEC)
_RECV_NOWAIT: Final = _RECV_FLAGS | _DONTWAIT
_TRUNC: Final = int(socket.MSG_TRUNC)
_SOL_SOCKET: Final = int(socket.SOL_SOCKET)
_SCM_CREDENTIALS: Final = int(socket.SCM_CREDENTIALS)
_CREDS = struct.Struct("3i")
_MAX: Final = _wire.MAX_DATAGRAM
_ANCBUF: Final = _wire.ANCBUF
_FRAME_MEMFD: Final = _wire.FRAME_MEMFD
_FRAME_WAKE: Final = _wire.FRAME_WAKE
_RIGHTS: Final = (socket.SOL_SOCKET, socket.SCM_RIGHTS)
DEAD_ERRORS: Final = (ConnectionRefusedError, BrokenPipeError, FileNotFoundError)
_TIMEVAL = struct.Struct("ll")
_MAX_WAIT: Final = 86_400.0
_SLACK: Final = 0.0005  # seconds a receive may wait past its deadline
_FD = struct.Struct("i")


class _Trust:
    """Who besides this process may deliver: processes of ``uid`` once the
    node is named (``-2``: nobody, the default)."""

    __slots__ = ("uid",)

    def __init__(self) -> None:
        self.uid = -2


trust = _Trust()


def new_socket(address: bytes) -> socket.socket:
    """A bound actor socket: credentials on every datagram, big send buffer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


class Mailbox:
    """The mailbox of one actor. Only the owner thread reads from it."""

    __slots__ = (
        "_my_os_pid",
        "_on_untrusted",
        "_rcvtimeo",
        "_recvmsg",
        "address",
        "backlog",
        "balance",
        "balance_bytes",
        "closed",
        "limit",
        "lock",
        "released",
        "save",
        "sent",
        "sent_bytes",
        "sent_lock",
        "seq",
        "sleeping",
        "sock",
        "unread",
        "woken",
    )

    def __init__(
        self,
        pid: Pid,
        on_untrusted: Callable[[int, int], None],
    ) -> None:
        self.address = pid.address
        self.sock = new_socket(pid.address)
        self._recvmsg = self.sock.recvmsg
        self.lock = threading.Lock()
        self.backlog: list[bytes] = []  # frames the socket had no room for
        self.sleeping = False  # the owner is (about to be) blocked in recv
        self.woken = False  # a wake-up datagram is on its way and unread
        self.closed = False
        self.released = False  # socket and save queue closed (once, under ``lock``)
        self.limit = 0  # max_mailbox; 0: unbounded
        self.unread: collections.deque[bytes] = collections.deque()
        self.save = SaveQueue()
        self.seq = 0  # arrival number of the last frame moved into ``unread``
        # How many frames (and bytes) are waiting, kept as two sums, because
        # the kernel cannot tell a unix datagram socket's queue length and
        # frames move socket -> unread -> save queue under a reader: ``sent``
        # counts what in-process senders put on the socket or the backlog
        # (under ``sent_lock``: a ``+=`` from two threads loses updates
        # without the GIL); ``balance``, kept by the owner alone, adds the
        # frames read from other processes and subtracts those taken out.
        self.sent_lock = threading.Lock()
        self.sent = 0
        self.sent_bytes = 0
        self.balance = 0
        self.balance_bytes = 0
        self._rcvtimeo: float | None = None
        self._on_untrusted = on_untrusted
        self._my_os_pid = os.getpid()

    # -- reading (owner thread only) -----------------------------------

    def fetch(self, timeout: float | None) -> bool:
        """Move arrived frames into ``unread``; wait up to ``timeout``.

        Returns ``True`` after the first datagram (a wake-up or a dropped one
        included) or when the backlog was taken; ``False`` when nothing came
        within ``timeout`` or the socket was shut down.
        """
        while True:
            if self.backlog:
                self.fetch_now()
                return True
            # Under the lock senders append under: set-then-check on our side
            # against append-then-check on theirs needs a full fence, and
            # without the GIL only a lock gives one (docs/design.md).
            with self.lock:
                if self.backlog:
                    continue
                self.sleeping = True
            try:
                got = self._recv_one(timeout)
            finally:
                self.sleeping = False
            # ``None``: an untrusted or junk datagram, dropped; the caller
            # looks at its deadline and comes back.
            return got is not False

    def _recv_one(self, timeout: float | None) -> bool | None:
        if timeout == 0:
            flags = _RECV_NOWAIT
        else:
            flags = _RECV_FLAGS
            current = self._rcvtimeo
            # A wait a little shorter than the one set (a deadline's
            # remainder) keeps it: one setsockopt less per call.
            if timeout != current and (
                timeout is None or current is None or not 0 <= current - timeout <= _SLACK
            ):
                self._set_rcvtimeo(timeout)
        try:
            data, anc, msg_flags, _ = self._recvmsg(_MAX, _ANCBUF, flags)
        except BlockingIOError:
            return False
        return self._accept(data, anc, msg_flags)

    def _set_rcvtimeo(self, timeout: float | None) -> None:
        if timeout is None:
            value = _TIMEVAL.pack(0, 0)
        else:
            # Longer waits come back and wait again (the caller's deadline).
            timeout = min(timeout, _MAX_WAIT)
            sec = int(timeout)
            usec = int((timeout - sec) * 1e6) or (0 if sec else 1)
            value = _TIMEVAL.pack(sec, usec)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        self._rcvtimeo = timeout

    def _drain(self) -> None:
        recvmsg = self._recvmsg
        while True:
            try:
                data, anc, msg_flags, _ = recvmsg(_MAX, _ANCBUF, _RECV_NOWAIT)
            except BlockingIOError:
                return
            self._accept(data, anc, msg_flags)

    def _accept(self, data: bytes, anc: list[Any], msg_flags: int) -> bool | None:
        """File one received datagram; ``True`` if it was a frame or wake-up."""
        if len(anc) == 1 and anc[0][1] == _SCM_CREDENTIALS and anc[0][0] == _SOL_SOCKET:
            sender, uid, _ = _CREDS.unpack_from(anc[0][2])  # the common case, inline
            fds: list[int] = []
        elif anc:
            sender, uid, fds = _wire.parse_ancillary(anc)
        else:
            sender, uid, fds = -1, -1, []
        if sender != self._my_os_pid and (uid != trust.uid or uid < 0):
            for fd in fds:
                os.close(fd)
            if not data and self.closed:
                return False  # our socket was shut down under us
            self._on_untrusted(sender, len(data))
            return None
        if not data or msg_flags & _TRUNC:
            for fd in fds:
                os.close(fd)
            return None
        kind = data[0]
        if kind == _FRAME_MEMFD:
            if len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                return None
            try:
                data = _wire.read_memfd(fds[0])
            finally:
                os.close(fds[0])
            if not data:
                return None
        elif fds:
            for fd in fds:
                os.close(fd)
        if kind == _FRAME_WAKE:
            self.woken = False
            return True
        if sender != self._my_os_pid:  # (others' sends are not in ``sent``)
            self.balance += 1
            self.balance_bytes += len(data)
        self.seq += 1
        self.unread.append(data)
        return True

    def _take_backlog(self) -> None:
        backlog = self.backlog
        self.backlog = []
        self.seq += len(backlog)
        self.unread.extend(backlog)

    def fetch_now(self) -> None:
        """Move everything that has arrived into ``unread``, without waiting."""
        with self.lock:
            # Everything a sender put on the socket before it had to use the
            # backlog is on the socket now: read it first (per-pair order).
            self._drain()
            if self.backlog:
                self._take_backlog()

    def queue_length(self) -> int:
        """Messages waiting: save queue, unread, socket and backlog together.

        Exact for frames whose ``deliver`` has returned; another sender's
        frame still in flight may be missed, and is never counted twice.
        ``balance`` is read first: a frame taken out after that read was
        waiting when it was made.
        """
        balance = self.balance
        return max(0, self.sent + balance)

    def queue_bytes(self) -> int:
        """Bytes of the messages waiting, counted as ``queue_length`` is."""
        balance = self.balance_bytes
        return max(0, self.sent_bytes + balance)

    def took(self, size: int) -> None:
        """The owner took a frame of ``size`` bytes out of its mailbox for good."""
        self.balance -= 1
        self.balance_bytes -= size

    # -- closing ---------------------------------------------------------

    def release(self) -> None:
        """Refuse further messages and close the socket and the save queue.

        Once, whichever thread calls first: the owner on its way out and its
        killer may both get here, and a second ``close`` of a number could
        close an fd another thread has opened since.
        """
        with self.lock:
            if self.released:
                return
            self.released = True
        self.shut()
        self.sock.close()
        self.save.close()

    def shut(self) -> None:
        """Refuse further messages and wake the owner, keeping the fds (a
        killed owner busy with them calls ``release`` itself)."""
        with self.lock:
            self.closed = True
            self.backlog = []
        try:
            # Wakes a thread blocked in recv (close alone would not, and
            # would keep the name bound: linux-facts §10).
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def deliver(
    sock: socket.socket,
    target: Mailbox,
    frame: bytes,
    wake: Callable[[Mailbox], None],
    sender: Mailbox | None = None,
) -> None:
    """Put ``frame`` into ``target``'s mailbox from ``sock``; never blocks.

    ``sender``: the sending actor's mailbox; if it was closed (the sender was
    killed meanwhile) a frame bound for the backlog is dropped, so it cannot
    land after the sender's ``Down`` (SIG-3).
    """
    need_wake = False
    on_socket = False
    if not target.backlog:
        try:
            if len(frame) <= _MAX:
                sock.sendto(frame, _DONTWAIT, target.address)
            else:
                _send_memfd(sock, target.address, frame)
            on_socket = True
        except BlockingIOError:
            pass
        except DEAD_ERRORS:
            return  # the actor has ended: dropped, as Erlang drops it
        except OSError as e:
            if e.errno not in (errno.ETOOMANYREFS, errno.ENOBUFS):
                raise
    if not on_socket:
        with target.lock:
            if target.closed or (sender is not None and sender.closed):
                return
            target.backlog.append(frame)
            need_wake = target.sleeping and not target.woken
            if need_wake:
                target.woken = True
    with target.sent_lock:
        target.sent += 1
        target.sent_bytes += len(frame)
    if need_wake:
        wake(target)


def _send_memfd(sock: socket.socket, address: bytes | None, frame: bytes) -> None:
    fd = _wire.write_memfd(frame)
    try:
        rights = [(*_RIGHTS, _FD.pack(fd))]
        if address is None:
            sock.sendmsg([_wire.MEMFD_HEAD], rights, _DONTWAIT)
        else:
            sock.sendmsg([_wire.MEMFD_HEAD], rights, _DONTWAIT, address)
    finally:
        os.close(fd)


def send_frame(sock: socket.socket, address: bytes | None, frame: bytes) -> None:
    """One frame from ``sock`` without waiting (to its peer if ``address`` is
    ``None``); raises ``BlockingIOError`` when there is no room."""
    if len(frame) <= _MAX:
        if address is None:
            sock.send(frame, _DONTWAIT)
        else:
            sock.sendto(frame, _DONTWAIT, address)
    else:
        _send_memfd(sock, address, frame)
