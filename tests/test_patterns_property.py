"""Properties of receive patterns: the compiled form agrees with the table."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import threadactors as ta
from threadactors._patterns import compile_patterns, compile_receive, match

atoms = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from(["a", "b", ""]),
    st.sampled_from([b"a", b""]),
)
messages = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.tuples(inner, inner, inner),
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["k", "j"]), inner, max_size=2),
    ),
    max_leaves=8,
)
type_patterns = st.sampled_from(
    [int, str, bytes, bool, float, tuple, list, dict, object, type(None)]
)
predicates = st.sampled_from([lambda m: m == 1, lambda m: isinstance(m, tuple) and len(m) == 2])
patterns = st.recursive(
    st.one_of(atoms, type_patterns, st.just(ta.ANY), predicates),
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.tuples(inner, inner, inner),
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["k", "j"]), inner, max_size=2),
    ),
    max_leaves=8,
)


_INSTANCES: dict[Any, Any] = {
    int: 2,
    str: "s",
    bytes: b"s",
    bool: True,
    float: 0.5,
    tuple: (),
    list: [],
    dict: {},
    object: 7,
    type(None): None,
}


@st.composite
def near(draw: st.DrawFn, pattern: Any) -> Any:
    """A message built to match ``pattern``, sometimes bent a little."""
    if draw(st.integers(0, 9)) == 0:
        return draw(messages)
    if pattern is ta.ANY:
        return draw(messages)
    if isinstance(pattern, type):
        return _INSTANCES[pattern]
    if isinstance(pattern, (tuple, list)):
        items = [draw(near(p)) for p in pattern]
        bend = draw(st.integers(0, 5))
        if bend == 0:
            items.append(1)
        flip = bend == 1
        return tuple(items) if isinstance(pattern, tuple) != flip else items
    if isinstance(pattern, dict):
        return {k: draw(near(v)) for k, v in pattern.items()}
    if callable(pattern):
        return draw(st.sampled_from([1, (1, 2), 0]))
    return pattern


def _reference(pats: tuple[Any, ...], msg: Any) -> bool:
    return not pats or any(match(p, msg) for p in pats)


@settings(max_examples=400)
@given(st.lists(patterns, max_size=3), st.data())
def test_compiled_patterns_agree_with_the_table(pats: list[Any], data: st.DataObject) -> None:
    pats_t = tuple(pats)
    msg = data.draw(near(pats_t[0]) if pats_t else messages)
    matcher = compile_patterns(pats_t)
    assert (matcher is None or matcher(msg)) == _reference(pats_t, msg)
    cached, _ = compile_receive(pats_t)
    assert (cached is None or cached(msg)) == _reference(pats_t, msg)


NOTHING = object()


def _drain() -> list[Any]:
    out = []
    while (msg := ta.receive(timeout=0, default=NOTHING)) is not NOTHING:
        out.append(msg)
    return out


@given(st.lists(patterns, min_size=1, max_size=3), st.lists(messages, min_size=1, max_size=6))
def test_receive_takes_the_oldest_match_and_keeps_the_rest_in_order(
    pats: list[Any], sent: list[Any]
) -> None:
    me = ta.self()
    for msg in sent:
        ta.send(me, msg)
    first = next((i for i, m in enumerate(sent) if _reference(tuple(pats), m)), None)
    got = ta.receive(*pats, timeout=0, default=NOTHING)
    rest = _drain()
    if first is None:
        assert got is NOTHING
        assert _same(rest, sent)
    else:
        assert _same([got], [sent[first]])
        assert _same(rest, sent[:first] + sent[first + 1 :])


def _same(a: list[Any], b: list[Any]) -> bool:
    # == alone would take True for 1 and 1.0 for 1
    return repr(a) == repr(b)
