"""Properties: the wire codec, and the mailbox against a list model."""

from __future__ import annotations

import pickle
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import threadactors as ta
from threadactors import _wire
from threadactors._patterns import match

values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=20),
        st.binary(max_size=40),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
        st.frozensets(st.integers(), max_size=3),
    ),
    max_leaves=12,
)


@given(values)
def test_codec_round_trips_what_it_is_fed(value: Any) -> None:
    frame = _wire.encode(value)
    got = _wire.decode_user(frame)
    assert got == value and type(got) is type(value)
    timer = _wire.encode_timer(7, frame)
    assert _wire.timer_id(timer) == 7
    assert _wire.decode_user(timer) == value


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_returns_or_raises_an_exception(data: bytes) -> None:
    try:
        _wire.decode_user(data)
    except Exception:  # anything but a crash or a BaseException
        pass


NOTHING = object()
tags = st.sampled_from(["a", "b", "c"])
messages = st.one_of(st.tuples(tags, st.integers(0, 3)), tags, st.integers(0, 3))
patterns = st.one_of(
    tags,
    st.tuples(tags, st.sampled_from([int, ta.ANY, 0, 1])),
    st.sampled_from([int, str, tuple, ta.ANY]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("send"), messages),
        st.tuples(st.just("receive"), st.lists(patterns, max_size=2)),
    ),
    max_size=30,
)


@settings(max_examples=200)
@given(operations)
def test_mailbox_behaves_like_a_list(ops: list[tuple[str, Any]]) -> None:
    """Any interleaving of sends and selective receives: each receive takes
    the oldest match; every message is taken exactly once, in order."""
    me = ta.self()
    model: list[Any] = []
    for op, arg in ops:
        if op == "send":
            ta.send(me, arg)
            model.append(arg)
        else:
            got = ta.receive(*arg, timeout=0, default=NOTHING)
            index = next(
                (i for i, m in enumerate(model) if not arg or any(match(p, m) for p in arg)),
                None,
            )
            if index is None:
                assert got is NOTHING
            else:
                assert repr(got) == repr(model.pop(index))
    rest = []
    while (msg := ta.receive(timeout=0, default=NOTHING)) is not NOTHING:
        rest.append(msg)
    assert repr(rest) == repr(model)


def test_a_pickle_from_the_trusted_process_is_loaded_as_is() -> None:
    # The codec is plain pickle protocol 5 (the trust check is what guards it).
    assert _wire.decode_user(pickle.dumps(("x", 1), 5)) == ("x", 1)
