"""Where the library's events go: structlog if the application configured
it, else the standard library's logger "threadactors"; never stdout."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

import threadactors as ta
from threadactors._log import logger

from .signal_helpers import down_of

ROOT = Path(__file__).resolve().parent.parent

# The application in the child: one actor that crashes, one that ends normally.
ACTORS = """
import threadactors as ta

def crash():
    raise RuntimeError("boom")

def run(fn):
    _, ref = ta.spawn_monitor(fn)
    ta.receive(lambda m: m.__class__ is ta.Down and m.ref == ref, timeout=30)
"""


def child(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh Python that imports this checkout."""
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_unconfigured_app_gets_errors_on_stderr_only() -> None:
    out = child(ACTORS + "run(crash)\nrun(lambda: None)\n")
    assert out.stdout == ""
    assert out.stderr.startswith("crash_report pid='<Pid "), out.stderr
    assert "function='__main__.crash'" in out.stderr
    assert "Traceback (most recent call last)" in out.stderr
    assert "RuntimeError: boom" in out.stderr
    assert out.stderr.count("crash_report") == 1
    assert "actor_exit" not in out.stderr  # debug: below the default level


def test_stdlib_level_quiets_the_library() -> None:
    quiet = "import logging\nlogging.getLogger('threadactors').setLevel(logging.CRITICAL)\n"
    out = child(quiet + ACTORS + "run(crash)\nrun(lambda: None)\n")
    assert (out.stdout, out.stderr) == ("", "")


def test_stdlib_debug_level_shows_actor_exit() -> None:
    debug = "import logging\nlogging.basicConfig(level=logging.DEBUG)\n"
    out = child(debug + ACTORS + "run(lambda: None)\n")
    assert out.stdout == ""
    assert "DEBUG:threadactors:actor_exit pid='<Pid " in out.stderr, out.stderr
    assert "reason='normal'" in out.stderr


def test_structlog_configured_by_the_app_applies_from_then_on() -> None:
    # Configured after threadactors was imported and had logged: the
    # choice is made per event.
    configure = """
import logging, sys, structlog
structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ],
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    logger_factory=structlog.PrintLoggerFactory(sys.stdout),
)
"""
    out = child(ACTORS + "run(crash)\n" + configure + "run(crash)\nrun(lambda: None)\n")
    assert out.stderr.count("crash_report") == 1, out.stderr  # the one before configure
    assert out.stderr.count("RuntimeError: boom") == 1
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["event"], e["level"]) for e in events] == [("crash_report", "error")]
    assert events[0]["pid"].startswith("<Pid ")
    assert "RuntimeError: boom" in events[0]["exception"]


@pytest.fixture
def unconfigured() -> Iterator[logging.Logger]:
    """This process as an application that configured neither structlog nor
    the "threadactors" logger; both are restored afterwards."""
    was_configured = structlog.is_configured()
    config = structlog.get_config()
    stdlib = logging.getLogger("threadactors")
    level = stdlib.level
    structlog.reset_defaults()
    try:
        yield stdlib
    finally:
        stdlib.setLevel(level)
        if was_configured:
            structlog.configure(**config)
        else:
            structlog.reset_defaults()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_disabled_level_costs_no_formatting(unconfigured: logging.Logger) -> None:
    rendered: list[str] = []

    class Probe:
        def __repr__(self) -> str:
            rendered.append("repr")
            return "<probe>"

    unconfigured.setLevel(logging.WARNING)
    probe = Probe()
    logger.debug("probe", value=probe)
    logger.info("probe", value=probe)
    assert rendered == []
    handler = Records()
    unconfigured.addHandler(handler)
    try:
        logger.warning("probe", value=probe, size=3)
    finally:
        unconfigured.removeHandler(handler)
    [record] = handler.records
    assert record.getMessage() == "probe value=<probe> size=3"


def test_stdlib_record_names_event_fields_and_call_site(unconfigured: logging.Logger) -> None:
    def crash() -> None:
        raise RuntimeError("boom")

    handler = Records()
    unconfigured.setLevel(logging.DEBUG)
    unconfigured.addHandler(handler)
    try:
        crasher, ref = ta.spawn_monitor(crash)
        down_of(ref)
        ender, ref = ta.spawn_monitor(lambda: None)
        down_of(ref)
    finally:
        unconfigured.removeHandler(handler)
    mine: dict[ta.Pid, list[logging.LogRecord]] = {crasher: [], ender: []}
    for record in handler.records:
        pid = record.fields.get("pid")  # type: ignore[attr-defined]
        for p, got in mine.items():
            if pid == repr(p):
                got.append(record)
    [report] = mine[crasher]  # a crash is reported once, not also as an actor_exit
    assert (report.levelno, report.event) == (logging.ERROR, "crash_report")  # type: ignore[attr-defined]
    assert report.getMessage().startswith(f"crash_report pid='{crasher!r}' function=")
    assert report.exc_info is not None
    assert isinstance(report.exc_info[1], RuntimeError)
    assert (report.module, report.funcName) == ("_node", "_crash")
    [end] = mine[ender]
    assert (end.levelno, end.event) == (logging.DEBUG, "actor_exit")  # type: ignore[attr-defined]
    assert end.getMessage() == f"actor_exit pid='{ender!r}' reason='normal'"
    assert end.fields == {"pid": repr(ender), "reason": "normal"}  # type: ignore[attr-defined]
