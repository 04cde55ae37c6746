"""Receive patterns: what a pattern matches (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

__all__ = ["ANY", "compile_patterns", "compile_receive"]


@final
class _Any:
    """``ta.ANY``: the receive pattern that matches every message, alone or
    inside a tuple, list or dict pattern (``("ping", ta.ANY)``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"

    def __reduce__(self) -> str:
        return "ANY"


ANY: Any = _Any()

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
    """A predicate for "matches any of ``patterns``"; ``None`` means anything.

    The predicate gives the answers of ``match``, checking elements left to
    right as it does, but without re-deciding each pattern's kind per
    message.
    """
    if not patterns:
        return None
    tests = []
    for pattern in patterns:
        test = _compile(pattern)
        if test is None:
            return None
        tests.append(test)
    if len(tests) == 1:
        return tests[0]
    alternatives = tuple(tests)

    def any_of(msg: Any) -> bool:
        for test in alternatives:  # noqa: SIM110 - any(generator) costs more
            if test(msg):
                return True
        return False

    return any_of


_EQ, _ISA, _SUB = 0, 1, 2


def _compile(pattern: Any) -> Matcher | None:
    """``match(pattern, ·)`` as a function; ``None`` for ``ANY``."""
    if pattern is ANY:
        return None
    if isinstance(pattern, type):
        return lambda msg: isinstance(msg, pattern)
    if isinstance(pattern, (tuple, list)):
        return _compile_sequence(pattern)
    if isinstance(pattern, dict):
        return lambda msg: match(pattern, msg)
    if callable(pattern):
        return lambda msg: bool(pattern(msg))
    return lambda msg: bool(msg == pattern)


def _compile_sequence(pattern: tuple[Any, ...] | list[Any]) -> Matcher:
    kind: type[Any] = tuple if isinstance(pattern, tuple) else list
    n = len(pattern)
    checks: list[tuple[int, int, Any]] = []
    for i, sub in enumerate(pattern):
        if sub is ANY:
            continue
        if isinstance(sub, type):
            checks.append((i, _ISA, sub))
        elif isinstance(sub, (tuple, list, dict)) or callable(sub):
            checks.append((i, _SUB, _compile(sub)))
        else:
            checks.append((i, _EQ, sub))
    steps = tuple(checks)

    def sequence(msg: Any) -> bool:
        if not isinstance(msg, kind) or len(msg) != n:
            return False
        for i, how, sub in steps:
            if how == _EQ:
                if not msg[i] == sub:  # noqa: SIM201 - as match() does: == only
                    return False
            elif how == _ISA:
                if not isinstance(msg[i], sub):
                    return False
            elif not sub(msg[i]):
                return False
        return True

    return sequence


_compiled: dict[tuple[Any, ...], tuple[Matcher | None, list[Key] | None]] = {}
_COMPILED_MAX = 1024


def compile_receive(patterns: tuple[Any, ...]) -> tuple[Matcher | None, list[Key] | None]:
    """``compile_patterns`` and ``pattern_keys`` of ``patterns``, remembered.

    Equal patterns match alike (``match`` compares with ``==``), so hashable
    ones are compiled once; unhashable ones (lists, dicts) every time.
    """
    if not patterns:
        return None, None
    try:
        entry = _compiled.get(patterns)
    except TypeError:
        return compile_patterns(patterns), pattern_keys(patterns)
    if entry is None:
        entry = compile_patterns(patterns), pattern_keys(patterns)
        if len(_compiled) >= _COMPILED_MAX:
            _compiled.clear()
        _compiled[patterns] = entry
    return entry


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
