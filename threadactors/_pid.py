"""Process identifiers and references."""

from __future__ import annotations

import itertools
from typing import Any, final

__all__ = ["Pid", "Ref"]

# Abstract socket names of one node start with b"\0ta-<os pid>-<nonce>-"; the
# nonce is drawn at every node start, so a pid never names an actor of an
# earlier node that had the same OS pid (or of this process before a restart).
ADDRESS_ROOT = b"\0ta-"


def node_prefix(os_pid: int, nonce: str) -> bytes:
    return b"%s%d-%s-" % (ADDRESS_ROOT, os_pid, nonce.encode())


@final
class Pid:
    """The identity of an actor: immutable, hashable, ordered, picklable.

    Only the runtime creates pids; ``pid.address`` is its abstract socket
    name.
    """

    __slots__ = ("_address", "_hash", "_key")

    _key: tuple[int, str, int]
    _address: bytes
    _hash: int

    def __init__(self, *args: Any) -> None:
        raise TypeError("Pid objects are created by the runtime (spawn, self)")

    @classmethod
    def _make(cls, os_pid: int, nonce: str, serial: int) -> Pid:
        pid = _new_object(cls)
        key = (os_pid, nonce, serial)
        _set_key(pid, key)
        _set_hash(pid, hash(key))
        return pid

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Pid is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Pid is immutable")

    @property
    def address(self) -> bytes:
        """The abstract socket name of the actor (leading NUL included)."""
        try:
            return self._address
        except AttributeError:
            key = self._key
            address = node_prefix(key[0], key[1]) + b"%d" % key[2]
            _set_address(self, address)
            return address

    @property
    def os_pid(self) -> int:
        """The OS process that runs the actor's node."""
        return self._key[0]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_pid_from_key, self._key)

    def __repr__(self) -> str:
        return f"<Pid {self._key[0]}.{self._key[2]}>"

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if other.__class__ is Pid:
            return self._key == other._key
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if other.__class__ is Pid:
            return self._key != other._key
        return NotImplemented

    def __lt__(self, other: Pid) -> bool:
        if other.__class__ is Pid:
            return self._key < other._key
        return NotImplemented

    def __le__(self, other: Pid) -> bool:
        if other.__class__ is Pid:
            return self._key <= other._key
        return NotImplemented

    def __gt__(self, other: Pid) -> bool:
        if other.__class__ is Pid:
            return self._key > other._key
        return NotImplemented

    def __ge__(self, other: Pid) -> bool:
        if other.__class__ is Pid:
            return self._key >= other._key
        return NotImplemented


_new_object = object.__new__
_set_key = Pid.__dict__["_key"].__set__
_set_hash = Pid.__dict__["_hash"].__set__
_set_address = Pid.__dict__["_address"].__set__

# Unpickled pids are interned: the same pid arrives in message after message,
# and building one costs more than finding it. Pids are values, so a cached
# one is as good as a new one; the cache is dropped when it grows large.
_interned: dict[tuple[int, str, int], Pid] = {}
_INTERN_MAX = 65_536


def _pid_from_key(os_pid: int, nonce: str, serial: int) -> Pid:
    """Unpickle a pid (a plain function: cheaper to pickle a reference to)."""
    key = (os_pid, nonce, serial)
    pid = _interned.get(key)
    if pid is None:
        if len(_interned) >= _INTERN_MAX:
            _interned.clear()
        pid = _interned[key] = Pid._make(os_pid, nonce, serial)
    return pid


@final
class Ref:
    """A unique reference (from ``make_ref``, ``monitor``, timers): hashable, picklable."""

    __slots__ = ("_key",)

    _key: tuple[int, str, int]

    def __init__(self, *args: Any) -> None:
        raise TypeError("Ref objects are created by the runtime (make_ref)")

    @classmethod
    def _make(cls, os_pid: int, nonce: str, serial: int) -> Ref:
        ref = _new_object(cls)
        _set_ref_key(ref, (os_pid, nonce, serial))
        return ref

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Ref is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ref_from_key, self._key)

    def __repr__(self) -> str:
        return f"<Ref {self._key[0]}.{self._key[2]}>"

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is Ref:
            return self._key == other._key
        return NotImplemented


_set_ref_key = Ref.__dict__["_key"].__set__


def _ref_from_key(os_pid: int, nonce: str, serial: int) -> Ref:
    ref = _new_object(Ref)
    _set_ref_key(ref, (os_pid, nonce, serial))
    return ref


class RefMaker:
    """Makes the refs of one node: (OS pid, node nonce, counter)."""

    def __init__(self, os_pid: int, nonce: str) -> None:
        self._os_pid = os_pid
        self._nonce = nonce
        self._counter = itertools.count(1)

    def __call__(self) -> Ref:
        return Ref._make(self._os_pid, self._nonce, next(self._counter))
