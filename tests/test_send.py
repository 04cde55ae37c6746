"""send: never blocks, order, exactly once, copies, any size (SPEC §3)."""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

import threadactors as ta

from .helpers import echo


def test_ten_senders_ten_thousand_each_exactly_once_in_order() -> None:
    senders, count = 10, 10_000
    me = ta.self()

    def sender(tag: int) -> None:
        for i in range(count):
            ta.send(me, (tag, i))
        ta.send(me, ("done", tag))

    for tag in range(senders):
        ta.spawn(sender, tag)
    seen: dict[int, list[int]] = {tag: [] for tag in range(senders)}
    done = 0
    while done < senders:
        msg = ta.receive(timeout=30)
        if msg[0] == "done":
            assert len(seen[msg[1]]) == count  # nothing of it overtakes its end
            done += 1
        else:
            seen[msg[0]].append(msg[1])
    for tag in range(senders):
        assert seen[tag] == list(range(count)), f"sender {tag} out of order or lost"
    assert ta.receive(timeout=0, default=None) is None  # nothing twice


def test_send_never_blocks_on_a_busy_receiver() -> None:
    count = 100_000
    me = ta.self()
    may_start = threading.Event()

    def busy() -> None:
        may_start.wait()  # busy elsewhere, not receiving
        total = 0
        for expected in range(count):
            assert ta.receive(timeout=30) == expected
            total += 1
        ta.send(me, ("received", total))

    pid = ta.spawn(busy)
    for i in range(count):
        ta.send(pid, i)
    # Every send returned while the receiver could not have taken anything.
    assert ta.info(pid)["message_queue_len"] == count  # type: ignore[index]
    may_start.set()
    assert ta.receive(("received", int), timeout=60) == ("received", count)


def test_big_bytes_arrive_equal() -> None:
    pid = ta.spawn(echo)
    big = bytes(range(256)) * (64 * 1024 * 1024 // 256)
    ta.send(pid, (ta.self(), big))
    got = ta.receive(timeout=60)
    assert type(got) is bytes
    assert got == big
    ta.send(pid, "stop")


def test_big_nested_object_arrives_equal() -> None:
    pid = ta.spawn(echo)
    obj = {
        "rows": [
            {"id": i, "name": f"row-{i}", "vals": list(range(i % 50))} for i in range(100_000)
        ],
        "blob": b"x" * (3 * 1024 * 1024),
    }
    assert len(pickle.dumps(obj)) > 10 * 1024 * 1024
    ta.send(pid, (ta.self(), obj))
    assert ta.receive(timeout=60) == obj
    ta.send(pid, "stop")


def test_sizes_around_the_datagram_limit() -> None:
    me = ta.self()
    for size in (0, 1, 65_000, 65_535, 65_536, 65_537, 300_000):
        msg = b"y" * size
        ta.send(me, msg)
        ta.send(me, ("tag", msg))
        assert ta.receive(timeout=5) == msg
        assert ta.receive(timeout=5) == ("tag", msg)


def test_copy_semantics() -> None:
    me = ta.self()
    data: dict[str, Any] = {"list": [1, 2]}
    ta.send(me, data)
    data["list"].append(3)
    got = ta.receive(timeout=1)
    assert got == {"list": [1, 2]}
    assert got is not data


def test_unpicklable_message_is_one_type_error_that_says_why() -> None:
    me = ta.self()
    with open(__file__) as file:
        for bad in (("lock", threading.Lock()), lambda: None, file):
            with pytest.raises(TypeError, match="copied by pickling") as info:
                ta.send(me, bad)
            assert info.value.__cause__ is not None  # what pickle said
    assert ta.receive(timeout=0, default=None) is None


def test_send_to_dead_pid_is_dropped() -> None:
    pid = ta.spawn(lambda: None)
    probe = ta.spawn(echo)
    ta.send(probe, (ta.self(), "sync"))
    assert ta.receive(timeout=5) == "sync"
    # The short-lived actor is gone by now or soon; either way send is silent.
    for _ in range(3):
        ta.send(pid, "nobody home")
    ta.send(probe, "stop")


def test_send_to_unknown_name_is_noproc() -> None:
    with pytest.raises(ta.NoProc):
        ta.send("nobody", "hello")


def test_send_bad_destination_type() -> None:
    with pytest.raises(TypeError):
        ta.send(42, "x")  # type: ignore[arg-type]


def test_many_actors_ping_pong_through_a_full_socket() -> None:
    # Two actors flood each other: neither send blocks, so no deadlock.
    me = ta.self()

    def flooder(count: int) -> None:
        peer = ta.receive(ta.Pid, timeout=10)
        for i in range(count):
            ta.send(peer, i)
        got = [ta.receive(int, timeout=30) for _ in range(count)]
        ta.send(me, got == list(range(count)))

    a = ta.spawn(flooder, 5_000)
    b = ta.spawn(flooder, 5_000)
    ta.send(a, b)
    ta.send(b, a)
    assert ta.receive(timeout=60) is True
    assert ta.receive(timeout=60) is True
