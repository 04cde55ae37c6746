"""Receive patterns: what a pattern matches (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

__all__ = ["ANY", "compile_patterns"]


@final
class _Any:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"

    def __reduce__(self) -> str:
        return "ANY"


ANY: Any = _Any()
"""The pattern that matches every message."""

Matcher = Callable[[Any], bool]


def match(pattern: Any, msg: Any) -> bool:
    """Whether ``msg`` matches ``pattern`` (the table of SPEC §3)."""
    if pattern is ANY:
        return True
    if isinstance(pattern, type):
        return isinstance(msg, pattern)
    if isinstance(pattern, tuple):
        return (
            isinstance(msg, tuple)
            and len(msg) == len(pattern)
            and all(match(p, m) for p, m in zip(pattern, msg, strict=True))
        )
    if isinstance(pattern, list):
        return (
            isinstance(msg, list)
            and len(msg) == len(pattern)
            and all(match(p, m) for p, m in zip(pattern, msg, strict=True))
        )
    if isinstance(pattern, dict):
        if not isinstance(msg, dict):
            return False
        return all(key in msg and match(sub, msg[key]) for key, sub in pattern.items())
    if callable(pattern):
        return bool(pattern(msg))
    return bool(msg == pattern)


def compile_patterns(patterns: tuple[Any, ...]) -> Matcher | None:
    """A predicate for "matches any of ``patterns``"; ``None`` means anything."""
    if not patterns:
        return None
    if len(patterns) == 1:
        pattern = patterns[0]
        if pattern is ANY:
            return None
        if isinstance(pattern, type):
            return lambda msg: isinstance(msg, pattern)
        return lambda msg: match(pattern, msg)
    return lambda msg: any(match(p, msg) for p in patterns)


# -- indexing the save queue ---------------------------------------------
#
# A saved message is filed under a key so that a receive need not decode
# the messages its patterns cannot match. Tuples and lists (subclasses too)
# are filed by (kind, length) and, when their first element is exactly a
# ``str``, by that string; everything else under ``MISC``. A tuple or list
# pattern can only match messages filed under its (kind, length), and, when
# its own first element is exactly a ``str``, only those filed under that
# string or under ``NO_HEAD``. Any other pattern may match anything.

NO_HEAD: Any = object()
WILD: Any = object()
MISC: Any = ("misc", 0)

Key = tuple[Any, Any]  # ((kind, length), head)


def message_key(msg: Any) -> Key:
    """Where a saved message is filed."""
    kind: type[Any]
    if isinstance(msg, tuple):
        kind = tuple
    elif isinstance(msg, list):
        kind = list
    else:
        return MISC, NO_HEAD
    n = len(msg)
    head = msg[0] if n and msg[0].__class__ is str else NO_HEAD
    return (kind, n), head


def pattern_keys(patterns: tuple[Any, ...]) -> list[Key] | None:
    """Keys whose messages may match any of ``patterns``; ``None``: all may.

    A key with head ``WILD`` stands for every head under its (kind, length).
    """
    keys: list[Key] = []
    for pattern in patterns:
        if isinstance(pattern, tuple):
            kind: type[Any] = tuple
        elif isinstance(pattern, list):
            kind = list
        else:
            return None
        n = len(pattern)
        if n and pattern[0].__class__ is str:
            keys.append(((kind, n), pattern[0]))
            keys.append(((kind, n), NO_HEAD))
        else:
            keys.append(((kind, n), WILD))
    return keys
