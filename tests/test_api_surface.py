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


def test_every_public_name_has_a_docstring_and_receive_carries_the_patterns() -> None:
    for name in ta.__all__:
        obj = getattr(ta, name)
        if isinstance(obj, (str, int, float)):
            continue  # constants: documented in the README and docs/spec.md
        assert (obj.__doc__ or "").strip(), name
    assert ta.ANY.__doc__ is not None and "every message" in ta.ANY.__doc__
    doc = ta.receive.__doc__ or ""
    for kind in ("ta.ANY", "a class", "a tuple or list", "a dict", "callable", "=="):
        assert kind in doc, kind


def test_citations_resolve_inside_the_repository() -> None:
    # The code cites "SPEC §N" (docs/spec.md) and "linux-facts §N"
    # (docs/linux-facts.md): each must be a heading there.
    import re

    root = Path(__file__).resolve().parent.parent
    headings = {
        "SPEC": set(re.findall(r"^#+ §(\d+)", (root / "docs/spec.md").read_text(), re.M)),
        "linux-facts": set(
            re.findall(r"^#+ §(\d+)", (root / "docs/linux-facts.md").read_text(), re.M)
        ),
    }
    cited: list[tuple[str, str, str]] = []
    for path in [*root.glob("*/*.py"), *root.glob("docs/*.md"), root / "README.md"]:
        text = path.read_text()
        assert "../" + "shared" not in text, path
        for doc, numbers in re.findall(r"(SPEC|linux-facts) ((?:§\d+(?:, )?)+)", text):
            cited += [(path.name, doc, n) for n in re.findall(r"§(\d+)", numbers)]
    assert cited
    missing = [c for c in cited if c[2] not in headings[c[1]]]
    assert not missing, missing
