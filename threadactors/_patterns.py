"""Receive patterns: what a pattern matches (SPEC §3)."""

from __future__ import annotations

from typing import Any, Callable, final

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
            and all(match(p, m) for p, m in zip(pattern, msg))
        )
    if isinstance(pattern, list):
        return (
            isinstance(msg, list)
            and len(msg) == len(pattern)
            and all(match(p, m) for p, m in zip(pattern, msg))
        )
    if isinstance(pattern, dict):
        if not isinstance(msg, dict):
            return False
        for key, sub in pattern.items():
            if key not in msg or not match(sub, msg[key]):
                return False
        return True
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
