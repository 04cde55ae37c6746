"""Every test leaves no thread, fd or abstract socket behind."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from hypothesis import settings

import threadactors as ta

# Same examples on every run (tests are deterministic), none remembered.
settings.register_profile("threadactors", derandomize=True, database=None, deadline=None)
settings.load_profile("threadactors")


def open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def node_sockets() -> list[bytes]:
    """Abstract socket names of this OS process's nodes in /proc/net/unix
    (actor sockets, and the directory entry of a named node)."""
    mark = b"@ta-%d-" % os.getpid()
    entry = re.compile(rb"@ta-dir-\d+-\S+-%d-[0-9a-f]+\s*$" % os.getpid())
    with open("/proc/net/unix", "rb") as f:
        return [line for line in f if mark in line or entry.search(line)]


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    ta.shutdown()
    threads = set(threading.enumerate())
    fds = open_fds()
    yield
    ta.shutdown()
    left_threads = [t for t in threading.enumerate() if t not in threads]
    left_fds = open_fds() - fds
    left_sockets = node_sockets()
    assert not left_threads, f"threads left behind: {left_threads}"
    assert not left_fds, f"fds left behind: {sorted(left_fds)}: " + ", ".join(
        _describe(fd) for fd in sorted(left_fds)
    )
    assert not left_sockets, f"abstract sockets left behind: {left_sockets[:5]}"


def _describe(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """structlog events emitted during the test (from any thread)."""
    configured = structlog.is_configured()
    with structlog.testing.capture_logs() as captured:
        yield captured
    if not configured:
        # capture_logs leaves structlog "configured" with its defaults (a
        # printer on stdout): unconfigured again, the library's events go
        # to the stdlib logger, as in a program that never touched structlog.
        structlog.reset_defaults()
