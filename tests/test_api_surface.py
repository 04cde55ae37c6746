"""The public surface: one curated package, names that pickle by it."""

from __future__ import annotations

import pickle
from pathlib import Path

import threadactors as ta


def test_every_public_name_is_exported_from_the_package() -> None:
    assert len(ta.__all__) == len(set(ta.__all__))
    for name in ta.__all__:
        obj = getattr(ta, name)
        if isinstance(obj, type) or callable(obj):
            assert obj.__module__ == "threadactors", name


def test_messages_and_handles_pickle_by_the_package() -> None:
    pid = ta.self()
    ref = ta.make_ref()
    for value in (pid, ref, ta.Down(ref, pid, "normal"), ta.ExitSignal(pid, "x"), ta.ANY):
        data = pickle.dumps(value)
        assert pickle.loads(data) == value or value is ta.ANY
    assert b"threadactors._" not in pickle.dumps(ta.Down(ref, pid, "normal")).replace(
        b"threadactors._pid", b""
    )


def test_typed_marker_ships() -> None:
    assert (Path(ta.__file__).parent / "py.typed").exists()


def test_down_and_exit_signal_match_statements() -> None:
    pid = ta.self()
    ref = ta.make_ref()
    match ta.Down(ref, pid, "bye"):
        case ta.Down(r, p, reason):
            assert (r, p, reason) == (ref, pid, "bye")
    match ta.ExitSignal(pid, "x"):
        case ta.ExitSignal(p, reason):
            assert (p, reason) == (pid, "x")
