"""Selective receive: scan order, patterns, timeouts (SPEC §3)."""

from __future__ import annotations

import dataclasses
import math

import pytest

import threadactors as ta


def test_no_pattern_takes_oldest() -> None:
    for i in range(5):
        ta.send(ta.self(), i)
    assert [ta.receive(timeout=1) for _ in range(5)] == [0, 1, 2, 3, 4]


def test_self_send_visible_to_next_receive() -> None:
    ref = ta.make_ref()
    ta.send(ta.self(), ref)
    assert ta.receive(ref, timeout=0) == ref


def test_seed_order_alternating_patterns() -> None:
    # Sent out of the order they are taken in.
    for msg in ["a0", "a1", "a2", "b0", "b1", "b2"]:
        ta.send(ta.self(), msg)
    got = []
    for _ in range(3):
        got.append(ta.receive(lambda m: m.startswith("a"), timeout=1))
        got.append(ta.receive(lambda m: m.startswith("b"), timeout=1))
    assert got == ["a0", "b0", "a1", "b1", "a2", "b2"]


def test_erlang_order_oldest_message_matching_any_pattern_wins() -> None:
    for msg in ["x", ("b", 1), ("a", 1), ("b", 2), ("a", 2)]:
        ta.send(ta.self(), msg)
    # Pattern order does not matter: the oldest message matching either wins.
    assert ta.receive(("a", int), ("b", int), timeout=1) == ("b", 1)
    assert ta.receive(("a", int), timeout=1) == ("a", 1)
    assert ta.receive(("a", int), ("b", int), timeout=1) == ("b", 2)
    # Skipped messages keep their place.
    assert ta.receive(timeout=1) == "x"
    assert ta.receive(timeout=1) == ("a", 2)
    assert ta.receive(timeout=0, default=None) is None


def test_skipped_messages_keep_order_across_many_receives() -> None:
    for i in range(50):
        ta.send(ta.self(), ("even" if i % 2 == 0 else "odd", i))
    odds = [ta.receive(("odd", int), timeout=1)[1] for _ in range(25)]
    evens = [ta.receive(timeout=1)[1] for _ in range(25)]
    assert odds == list(range(1, 50, 2))
    assert evens == list(range(0, 50, 2))


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Animal:
    pass


class Dog(Animal):
    pass


@pytest.mark.parametrize(
    ("pattern", "msg", "matches"),
    [
        (ta.ANY, Dog(), True),
        (int, 3, True),
        (int, "3", False),
        (Animal, Dog(), True),
        (("ping", ta.Pid), ("ping", "x"), False),
        (("a", int), ("a", 1), True),
        (("a", int), ["a", 1], False),  # a tuple never matches a list
        (["a", int], ("a", 1), False),
        (["a", int], ["a", 1], True),
        (("a", int), ("a", 1, 2), False),
        ({"k": int}, {"k": 1, "other": 2}, True),
        ({"k": int}, {"other": 2}, False),
        ({"k": int}, [("k", 1)], False),
        (("t", {"inner": ("x", [int, str])}), ("t", {"inner": ("x", [1, "s"])}), True),
        (("t", {"inner": ("x", [int, str])}), ("t", {"inner": ("x", [1, 2])}), False),
        ((str, lambda v: v > 10), ("big", 11), True),
        ((str, lambda v: v > 10), ("small", 9), False),
        (Point(1, 2), Point(1, 2), True),
        (Point, Point(1, 2), True),
        ("text", "text", True),
        (b"raw", b"raw", True),
        (None, None, True),
    ],
)
def test_pattern_table(pattern: object, msg: object, matches: bool) -> None:
    ta.send(ta.self(), msg)
    got = ta.receive(pattern, timeout=0, default="nothing")
    if matches:
        assert type(got) is type(msg)
        assert got == msg or isinstance(msg, Animal)  # Animals compare by identity
    else:
        assert got == "nothing"
        assert ta.receive(timeout=0) == msg  # still there


def test_pid_pattern_matches_pid() -> None:
    me = ta.self()
    ta.send(me, ("ping", me))
    assert ta.receive(("ping", ta.Pid), timeout=1) == ("ping", me)


def test_match_statement_after_receive() -> None:
    me = ta.self()
    ta.send(me, ("ping", me))
    match ta.receive(("ping", ta.Pid), "stop", timeout=5):
        case ("ping", sender):
            assert sender == me
        case other:
            pytest.fail(f"unexpected {other!r}")


def test_timeout_zero_on_empty_mailbox() -> None:
    with pytest.raises(ta.Timeout):
        ta.receive(timeout=0)
    assert ta.receive(timeout=0, default="empty") == "empty"


def test_timeout_is_a_timeout_error() -> None:
    assert issubclass(ta.Timeout, TimeoutError)
    assert issubclass(ta.Timeout, ta.ActorError)


def test_timeout_waits_and_never_consumes_non_matching() -> None:
    ta.send(ta.self(), "other")
    with pytest.raises(ta.Timeout):
        ta.receive("wanted", timeout=0.05)
    assert ta.receive(timeout=0) == "other"


def test_default_none_is_returned() -> None:
    assert ta.receive(timeout=0.01, default=None) is None


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, -math.inf])
def test_negative_or_nan_timeout_is_value_error(bad: float) -> None:
    with pytest.raises(ValueError):
        ta.receive(timeout=bad)


@pytest.mark.parametrize("bad", ["1", True, [1]])
def test_non_number_timeout_is_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        ta.receive(timeout=bad)  # type: ignore[arg-type]


def test_message_arriving_while_waiting_is_taken() -> None:
    me = ta.self()

    def later() -> None:
        ta.send(me, "late")

    ta.spawn(later)
    assert ta.receive("late", timeout=5) == "late"


def test_predicate_that_raises_leaves_message_in_place() -> None:
    ta.send(ta.self(), "keep")

    def boom(msg: object) -> bool:
        raise RuntimeError("bad predicate")

    with pytest.raises(RuntimeError):
        ta.receive(boom, timeout=0)
    assert ta.receive(timeout=0) == "keep"
