"""Opt-in placement: ``set_affinity`` keeps a node's threads on chosen CPUs."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import threadactors as ta
from threadactors._node import existing_node

ALL = frozenset(os.sched_getaffinity(0))
ONE = frozenset({max(ALL)})


@pytest.fixture(autouse=True)
def undo() -> Iterator[None]:
    yield
    ta.set_affinity(None)
    assert os.sched_getaffinity(0) == ALL


def _report(to: ta.Pid) -> None:
    while True:
        msg = ta.receive()
        if msg == "stop":
            return
        ta.send(to, ("mask", frozenset(os.sched_getaffinity(0))))


def _mask_of(pid: ta.Pid) -> frozenset[int]:
    ta.send(pid, "how")
    _, mask = ta.receive(("mask", frozenset))
    return mask  # type: ignore[no-any-return]


def test_running_and_later_actors_and_runtime_threads_move() -> None:
    before = ta.spawn(_report, ta.self())
    assert _mask_of(before) == ALL
    ta.set_affinity(ONE)
    after = ta.spawn(_report, ta.self())
    assert _mask_of(before) == ONE
    assert _mask_of(after) == ONE
    assert frozenset(os.sched_getaffinity(0)) == ONE  # the adopted caller too
    node = existing_node()
    assert node is not None
    assert frozenset(os.sched_getaffinity(node.monitor.native_id() or 0)) == ONE

    ta.set_affinity(None)
    assert _mask_of(before) == ALL
    assert _mask_of(after) == ALL
    assert frozenset(os.sched_getaffinity(node.monitor.native_id() or 0)) == ALL
    for pid in (before, after):
        ta.send(pid, "stop")


def test_the_choice_outlives_a_node_restart() -> None:
    ta.set_affinity(ONE)
    ta.shutdown()
    pid = ta.spawn(_report, ta.self())
    assert _mask_of(pid) == ONE
    ta.send(pid, "stop")


def test_timer_thread_started_after_the_choice_is_placed() -> None:
    ta.set_affinity(ONE)
    ref = ta.send_after(0, ta.self(), "tick")
    assert ta.receive("tick", timeout=5) == "tick"
    assert ta.cancel_timer(ref) is None
    node = existing_node()
    assert node is not None
    assert frozenset(os.sched_getaffinity(node.timers.native_id() or 0)) == ONE


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ([], ValueError),
        ([10_000], ValueError),
        ([-1], ValueError),
        ("0", TypeError),
        ([True], TypeError),
        ([0.0], TypeError),
        (3, TypeError),
    ],
)
def test_bad_cpus_are_refused_and_change_nothing(bad: object, error: type[Exception]) -> None:
    ta.self()
    ta.set_affinity(ONE)
    with pytest.raises(error):
        ta.set_affinity(bad)  # type: ignore[arg-type]
    assert os.sched_getaffinity(0) == ONE
    pid = ta.spawn(_report, ta.self())
    assert _mask_of(pid) == ONE
    ta.send(pid, "stop")
