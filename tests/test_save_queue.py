"""The memfd save queue: order, markers, compaction (SPEC §3)."""

from __future__ import annotations

import os

import pytest

import threadactors as ta
from threadactors._patterns import message_key, pattern_keys
from threadactors._save_queue import SaveQueue


def test_save_queue_stays_bounded_under_steady_traffic() -> None:
    me = ta.self()
    skipped, rounds = 1_000, 50_000  # 100,000 messages taken one by one

    def worker() -> None:
        # 1,000 messages nobody asks for stay in the save queue throughout.
        ta.receive("go", timeout=30)
        biggest = 0
        for i in range(rounds):
            # "b" arrives first and is skipped (saved); "a" is taken; then "b"
            # is taken out of the save queue, leaving a hole behind.
            assert ta.receive(("a", int), timeout=30) == ("a", i)
            assert ta.receive(("b", int), timeout=30) == ("b", i)
            if i % 500 == 0:
                info = ta.info(ta.self())
                assert info is not None
                assert info["save_queue_len"] >= skipped
                biggest = max(biggest, info["save_queue_bytes"])
        info = ta.info(ta.self())
        assert info is not None
        ta.send(me, ("done", biggest, info["save_queue_len"]))

    pid = ta.spawn(worker)
    for i in range(skipped):
        ta.send(pid, ("junk", i))
    ta.send(pid, "go")
    for i in range(rounds):
        ta.send(pid, ("b", i))
        ta.send(pid, ("a", i))
    _, biggest, left = ta.receive(("done", int, int), timeout=120)
    assert left == skipped
    # ~30 bytes per saved frame: 1,000 live ones are ~30 KiB; 50,000 went
    # through (~1.5 MiB). Without compaction the file would hold them all.
    assert 0 < biggest < 256 * 1024


KEY = message_key(("x", 1))


def test_unit_compaction_keeps_entries_and_order() -> None:
    q = SaveQueue()
    try:
        frames = [b"%06d" % i * 20 for i in range(10_000)]
        for seq, frame in enumerate(frames, 1):
            q.append(seq, frame, KEY)
        q.flush()
        # Take every other one, as a selective receive would.
        for seq in range(1, len(frames) + 1, 2):
            q.take(seq)
        assert list(q.frames()) == frames[1::2]
        assert q.file_size <= 2 * q.live_bytes + 64 * 1024
        for seq in list(q.candidates(None)):
            q.take(seq)
        assert q.file_size == 0
    finally:
        q.close()


def test_unit_markers_skip_older_entries() -> None:
    q = SaveQueue()
    try:
        for seq in range(1, 11):
            q.append(seq, b"frame%d" % seq, KEY)
        assert [q.read(s) for s in q.candidates(None, since=8)] == [
            b"frame8",
            b"frame9",
            b"frame10",
        ]
        keys = pattern_keys((("x", int),))
        assert list(q.candidates(keys, since=9)) == [9, 10]
    finally:
        q.close()


def test_unit_index_narrows_candidates_in_arrival_order() -> None:
    q = SaveQueue()
    try:
        msgs = [("a", 1), ("b", 1), "text", [1, 2], ("a", 2, 3), (1, 2), ("b", 2), ["a", 5]]
        for seq, msg in enumerate(msgs, 1):
            q.append(seq, b"m", message_key(msg))
        # (1, 2) has no str head: every constant-head pattern must look at it.
        assert list(q.candidates(pattern_keys((("b", int),)))) == [2, 6, 7]
        assert list(q.candidates(pattern_keys((("b", int), ("a", int))))) == [1, 2, 6, 7]
        assert list(q.candidates(pattern_keys((("z", int),)))) == [6]
        assert list(q.candidates(pattern_keys(((int, int),)))) == [1, 2, 6, 7]
        assert list(q.candidates(pattern_keys((["a", int],)))) == [4, 8]
        assert q.candidates(pattern_keys(("text",))) == list(range(1, 9))
    finally:
        q.close()


def test_memfd_created_only_when_needed() -> None:
    before = set(os.listdir("/proc/self/fd"))
    q = SaveQueue()
    assert set(os.listdir("/proc/self/fd")) == before
    q.append(1, b"x", KEY)
    q.flush()
    assert len(set(os.listdir("/proc/self/fd")) - before) == 1
    q.close()


@pytest.mark.parametrize("count", [1, 100])
def test_receive_after_many_skipped(count: int) -> None:
    me = ta.self()
    for i in range(count):
        ta.send(me, ("skip", i))
    ta.send(me, "wanted")
    assert ta.receive("wanted", timeout=1) == "wanted"
    assert [ta.receive(timeout=1) for _ in range(count)] == [("skip", i) for i in range(count)]
