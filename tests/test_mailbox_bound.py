"""``spawn_opt(max_mailbox=N)``: too many waiting messages kill the actor."""

from __future__ import annotations

from typing import Any

import pytest

import threadactors as ta


def _waits_for_go() -> None:
    ta.receive("go")  # everything else is skipped: it stays in the mailbox


def test_one_message_over_the_bound_kills_the_actor(logs: list[dict[str, Any]]) -> None:
    pid, ref = ta.spawn_opt(_waits_for_go, max_mailbox=10, monitor=True)
    for i in range(10):
        ta.send(pid, ("junk", i))
    assert ta.is_alive(pid)
    info = ta.info(pid)
    assert info is not None
    assert info["max_mailbox"] == 10
    assert info["message_queue_len"] == 10
    assert info["mailbox_bytes"] > 0
    ta.send(pid, ("junk", 10))
    assert not ta.is_alive(pid)  # at once, in the sender's call
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "mailbox_overflow")
    assert [e for e in logs if e["event"] == "mailbox_overflow"]


def test_trapping_exits_does_not_save_it_and_links_hear_the_reason() -> None:
    ta.trap_exit(True)
    pid = ta.spawn_opt(_waits_for_go, max_mailbox=3, link=True, trap_exit=True)
    for i in range(4):
        ta.send(pid, i)
    assert ta.receive(ta.ExitSignal, timeout=10) == ta.ExitSignal(pid, "mailbox_overflow")


def test_an_actor_that_keeps_up_is_never_killed() -> None:
    def acker(report_to: ta.Pid) -> None:
        while (n := ta.receive()) != "stop":
            ta.send(report_to, ("read", n))

    me = ta.self()
    pid, ref = ta.spawn_opt(acker, (me,), max_mailbox=5, monitor=True)
    for batch in range(10):  # 5 at a time, each batch read before the next
        for i in range(5):
            ta.send(pid, batch * 5 + i)
        for i in range(5):
            assert ta.receive(("read", int), timeout=10) == ("read", batch * 5 + i)
    ta.send(pid, "stop")
    assert ta.receive(ta.Down, timeout=10) == ta.Down(ref, pid, "normal")


def test_skipped_messages_count_and_unbounded_is_the_default() -> None:
    free = ta.spawn(_waits_for_go)
    for i in range(1000):
        ta.send(free, i)
    info = ta.info(free)
    assert info is not None
    assert info["max_mailbox"] is None
    assert info["message_queue_len"] == 1000
    ta.send(free, "go")


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, ValueError), (-1, ValueError), ("3", TypeError), (True, TypeError), (2.0, TypeError)],
)
def test_bad_bounds_are_refused(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        ta.spawn_opt(_waits_for_go, max_mailbox=bad)  # type: ignore[arg-type]
    assert ta.processes() == [ta.self()]
