"""The wire format: how a message becomes datagrams and back.

A frame is the bytes of one mailbox entry. Its first byte says what it is:

* ``0x80`` -- a pickle (protocol 5 starts with PROTO 5): a user message;
* ``b"b"`` -- raw ``bytes``: a user message, the rest of the frame as is;
* ``b"t"`` -- a timer's message: 8-byte timer id, then a user frame;
* ``b"x"`` -- a control frame of the runtime (pickled);
* ``b"r"`` -- a user frame relayed by a node's monitor thread: 8-byte serial
  of the destination actor there, then the user frame;
* ``b"w"`` -- a wake-up, no payload;
* ``b"f"`` -- the datagram carries one memfd (``SCM_RIGHTS``) whose
  contents are the frame (a message too large for one datagram).

User payloads never begin a frame with ``x``/``r``/``w``/``f``, because the runtime
writes the first byte: a user message cannot be taken for a control one.
"""

from __future__ import annotations

import array
import os
import pickle
import socket
import struct
from typing import Any, Final

from ._errors import UnpicklableError

__all__ = [
    "ANCBUF",
    "FRAME_BYTES",
    "FRAME_CONTROL",
    "FRAME_MEMFD",
    "FRAME_PICKLE",
    "FRAME_RELAY",
    "FRAME_TIMER",
    "FRAME_WAKE",
    "MAX_DATAGRAM",
    "decode_user",
    "encode",
    "parse_ancillary",
    "unwrap",
    "wrap",
    "read_memfd",
    "write_memfd",
]

FRAME_PICKLE: Final = 0x80
FRAME_BYTES: Final = ord("b")
FRAME_TIMER: Final = ord("t")
FRAME_CONTROL: Final = ord("x")
FRAME_RELAY: Final = ord("r")
FRAME_WAKE: Final = ord("w")
FRAME_MEMFD: Final = ord("f")

BYTES_HEAD: Final = b"b"
TIMER_HEAD: Final = b"t"
CONTROL_HEAD: Final = b"x"
RELAY_HEAD: Final = b"r"
WAKE: Final = b"w"
MEMFD_HEAD: Final = b"f"

# Larger frames travel in a memfd: a datagram's bytes are charged to the
# sender's SO_SNDBUF until read, and one memfd costs ~768 B of it whatever
# its size (linux-facts §3, §4).
MAX_DATAGRAM: Final = 64 * 1024

_CREDS_SIZE: Final = struct.calcsize("3i")
_MAX_FDS: Final = 4
# Room for the kernel's credentials and a few fds; a hostile sender's
# surplus fds are closed by the kernel (MSG_CTRUNC).
ANCBUF: Final = socket.CMSG_SPACE(_CREDS_SIZE) + socket.CMSG_SPACE(_MAX_FDS * 4)

_ID = struct.Struct("!Q")  # after the head byte: a timer id, or a relay's serial
_dumps = pickle.dumps
_loads = pickle.loads


def encode(msg: Any) -> bytes:
    """The frame of a user message; ``TypeError`` if it cannot be pickled."""
    if msg.__class__ is bytes:
        return BYTES_HEAD + msg
    try:
        return _dumps(msg, 5)
    except Exception as e:
        raise not_picklable("a message", msg, e) from e


def not_picklable(what: str, value: Any, error: Exception) -> TypeError:
    """The error for ``value`` that pickle refused with ``error``: messages
    and the arguments of ``spawn_on`` are copies, made by pickling."""
    return TypeError(
        f"{what} is copied by pickling, and this {type(value).__name__} cannot be"
        f" pickled ({type(error).__name__}: {error})"
    )


def encode_timer(timer_id: int, frame: bytes) -> bytes:
    return TIMER_HEAD + _ID.pack(timer_id) + frame


def timer_id(frame: bytes) -> int:
    return int(_ID.unpack_from(frame, 1)[0])


def encode_relay(serial: int, frame: bytes) -> bytes:
    """``frame`` for the actor ``serial`` of another node, through that
    node's monitor thread (which keeps it in order with our signals)."""
    return RELAY_HEAD + _ID.pack(serial) + frame


def relay_serial(frame: bytes) -> int:
    return int(_ID.unpack_from(frame, 1)[0])


RELAY_SIZE: Final = 1 + _ID.size  # head and serial: the user frame follows


def wrap(value: Any, what: str = "a value for another node") -> tuple[bytes, str]:
    """``value`` sealed for another node: its pickle and its repr. A control
    frame stays decodable there even if ``value``'s class is not.
    ``TypeError`` if it cannot be pickled."""
    try:
        return _dumps(value, 5), repr(value)
    except Exception as e:
        raise not_picklable(what, value, e) from e


def unwrap(sealed: tuple[bytes, str]) -> Any:
    """The value of ``wrap``, or ``UnpicklableError(repr)`` if it does not
    unpickle here."""
    try:
        return _loads(sealed[0])
    except Exception:
        return UnpicklableError(sealed[1])


def encode_control(control: Any) -> bytes:
    return CONTROL_HEAD + _dumps(control, 5)


def decode_control(frame: bytes) -> Any:
    return _loads(memoryview(frame)[1:])


def decode_user(frame: bytes) -> Any:
    """The message of a user frame (pickle, raw bytes or timer)."""
    kind = frame[0]
    if kind == FRAME_PICKLE:
        return _loads(frame)
    if kind == FRAME_BYTES:
        return frame[1:]
    if kind == FRAME_TIMER:
        return decode_user(frame[1 + _ID.size :])
    raise ValueError(f"not a user frame (kind {kind:#x})")


def parse_ancillary(ancdata: list[tuple[int, int, bytes]]) -> tuple[int, int, list[int]]:
    """The sender's OS pid and uid (``-1`` if none) and the fds passed."""
    sender = uid = -1
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level != socket.SOL_SOCKET:
            continue
        if kind == socket.SCM_CREDENTIALS and len(data) >= _CREDS_SIZE:
            sender, uid, _ = struct.unpack_from("3i", data)
        elif kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", data[: len(data) - len(data) % 4]))
    return sender, uid, fds


def write_memfd(frame: bytes) -> int:
    """A new memfd holding ``frame``; the caller owns (and closes) it."""
    fd = os.memfd_create("ta-msg", os.MFD_CLOEXEC)
    try:
        view = memoryview(frame)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_memfd(fd: int) -> bytes:
    """The whole contents of a memfd (the fd stays open)."""
    size = os.fstat(fd).st_size
    parts = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        parts.append(chunk)
        offset += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)
