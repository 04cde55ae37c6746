"""Interrupting a thread that runs Python code: how an exit reaches a busy actor.

An actor waiting in ``receive`` is woken by a datagram and raises its exit
there, inside the runtime, where we choose the spot. An actor busy in its
own Python code has to be interrupted from another thread, and where the
exception lands decides whether its ``except``/``finally``/``with`` cleanup
runs at all.

``PyThreadState_SetAsyncExc`` is not enough. It raises at the target's next
"eval breaker" check, and CPython 3.11 and later check there on backward
jumps too. With zero-cost exception tables some of those jumps lie outside
the ``try`` range that encloses them: the back edge of a ``while cond:``
loop and a ``with`` block inside a loop on 3.13, a ``continue`` in an
``except`` on 3.11 and 3.12. An exception raised there leaves the frame
without running any of its handlers (python/cpython#139622; measured by
``tests/test_exits.py`` on every interpreter we support). It can also
land inside the runtime's own code at any bytecode, where no lock is held
but state may be half-moved.

So the exception is raised only at the start of a line, from a hook that
runs in the target thread, and never in the runtime's own modules (the
runtime calls ``disarm`` on entry and raises a pending exit itself on its way
out), nor in user code they run, such as a weakref callback that one of
their allocations triggers (``_inside_runtime``). A line start is inside
the exception-table range of the ``try`` that contains it, except where the
line begins with an instruction the compiler leaves out of ranges: a
``NOP`` (a nested ``try:``, ``pass``) or a jump. The hook lets those go by
and raises at the next line (``_safe``):

* CPython 3.12+: ``sys.monitoring`` ``LINE`` events, enabled locally on the
  code objects of the target's stack (other threads running the same code
  pay one cheap call per line while the target is armed). Code the target
  enters later is found by re-reading its stack from the timer thread.
* CPython 3.11: the target's own trace function, set from outside
  with ``_PyEval_SetTrace`` (which CPython documents as working on a thread
  state that is not the current one) and the trampoline ``sys.settrace``
  uses, found by a self-test; ``call`` events cover code entered later.
  The thread's earlier trace function (a debugger, coverage) is put back
  at its next runtime call.
* Anything else (or a failed self-test): ``PyThreadState_SetAsyncExc``.

The hook calls ``fire(actor)`` (the node's), which returns the exception to
raise, or ``None`` when the thread is inside the runtime after all.
"""

from __future__ import annotations

import ctypes
import dis
import os
import sys
import threading
import weakref
from collections.abc import Callable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any, Final

from ._errors import KILLED, Exit

if TYPE_CHECKING:
    from ._node import Actor

__all__ = ["arm", "backend_name", "disarm", "install", "thread_started"]

_HERE: Final = os.path.dirname(os.path.abspath(__file__))
# The runtime's own modules: an exception never lands in their lines. The
# behaviours are user code as far as interruption goes.
_USER_MODULES: Final = ("_gen_server.py", "_supervisor.py")
_CORE: Final = frozenset(
    os.path.join(_HERE, name)
    for name in os.listdir(_HERE)
    if name.endswith(".py") and name not in _USER_MODULES
)
_get_ident = threading.get_ident

# Set by the node: decides, in the target thread, what to raise.
_fire: Callable[[Actor], Exit | None] = lambda actor: None  # noqa: E731
_armed: dict[int, Actor] = {}  # thread ident -> actor to interrupt
_lock = threading.Lock()


def install(fire: Callable[[Actor], Exit | None]) -> None:
    global _fire
    _fire = fire


def _is_core(code: CodeType) -> bool:
    return code.co_filename in _CORE


# Instructions that 3.11+ compilers leave outside the exception-table range of
# the try they sit in (see the module's docstring).
_UNCOVERED_KINDS: Final = frozenset(
    dis.opmap[name]
    for name in ("NOP", "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT")
    if name in dis.opmap
)
_EXTENDED_ARG: Final = dis.opmap["EXTENDED_ARG"]
# After this many lines let go by in a row, raise anyway: a loop made only of
# such lines (``while True: pass``) must still end.
_MAX_SKIPS: Final = 1000
_ranges: weakref.WeakKeyDictionary[CodeType, tuple[bytes, list[tuple[int, int]]]] = (
    weakref.WeakKeyDictionary()
)
_skips: dict[int, int] = {}  # thread ident -> lines let go by


def _read_varint(table: bytes, i: int) -> tuple[int, int]:
    """One value of the exception table's varint encoding (6 bits a byte,
    bit 6 set: more follow; see CPython's Objects/exception_handling_notes)."""
    byte = table[i]
    value = byte & 63
    while byte & 64:
        i += 1
        byte = table[i]
        value = (value << 6) | (byte & 63)
    return value, i + 1


def _covered_ranges(code: CodeType) -> tuple[bytes, list[tuple[int, int]]]:
    cached = _ranges.get(code)
    if cached is None:
        table: bytes = getattr(code, "co_exceptiontable", b"")
        ranges = []
        i = 0
        while i < len(table):
            start, i = _read_varint(table, i)
            length, i = _read_varint(table, i)
            _, i = _read_varint(table, i)  # handler
            _, i = _read_varint(table, i)  # depth and lasti
            ranges.append((2 * start, 2 * (start + length)))
        cached = _ranges[code] = (code.co_code, ranges)
    return cached


def _safe(code: CodeType, offset: int) -> bool:
    """Whether an exception raised at instruction ``offset`` of ``code``
    reaches the handlers of the try it is in."""
    co_code, ranges = _covered_ranges(code)
    if not ranges:
        return True  # no handler in this frame: nothing to skip
    op = co_code[offset]
    while op == _EXTENDED_ARG and offset + 2 < len(co_code):
        offset += 2
        op = co_code[offset]
    if op not in _UNCOVERED_KINDS:
        return True
    return any(start <= offset < end for start, end in ranges)


def _raise_here(code: CodeType, offset: int) -> bool:
    """``_safe``, or too many lines let go by already."""
    ident = _get_ident()
    if _safe(code, offset):
        _skips.pop(ident, None)
        return True
    skipped = _skips.get(ident, 0) + 1
    if skipped >= _MAX_SKIPS:
        _skips.pop(ident, None)
        return True
    _skips[ident] = skipped
    return False


def _inside_runtime(frame: FrameType) -> bool:
    """Whether user code at ``frame`` was called from inside the runtime: a
    weakref callback or finaliser that an allocation in the runtime's code
    ran, in a thread at depth 0 (``current_actor``, ``raise_exit``). An
    exit raised there would be swallowed as unraisable, or replace the exit
    the runtime is raising. The actor's runner is the one runtime frame
    that user code runs under."""
    back = frame.f_back
    while back is not None:
        code = back.f_code
        if code.co_filename in _CORE:
            return code.co_name != "_run"
        back = back.f_back
    return False


def _user_frames(ident: int) -> list[FrameType]:
    """The frames of thread ``ident`` above the actor's runner, innermost
    first, without the runtime's own."""
    frame = sys._current_frames().get(ident)
    frames = []
    while frame is not None:
        if frame.f_code.co_name == "_run" and _is_core(frame.f_code):
            break
        if not _is_core(frame.f_code):
            frames.append(frame)
        frame = frame.f_back
    return frames


# -- CPython 3.12+: sys.monitoring ----------------------------------------


class _Monitoring:
    name = "sys.monitoring"

    def __init__(self, tool: int) -> None:
        mon = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
        self._mon = mon
        self._tool = tool
        self._line = mon.events.LINE
        self._codes: set[CodeType] = set()
        mon.register_callback(tool, self._line, self._on_line)

    def _on_line(self, code: CodeType, line: int) -> Any:
        actor = _armed.get(_get_ident())
        if actor is None or code.co_filename in _CORE:
            return None
        frame = sys._getframe(1)
        if not _raise_here(code, frame.f_lasti) or _inside_runtime(frame):
            return None
        exc = _fire(actor)
        if exc is None:
            return None
        self._forget(actor)
        raise exc

    def arm(self, actor: Actor) -> None:
        ident = actor.ident
        assert ident is not None
        with _lock:
            if _armed.get(ident) is actor:
                return
            _armed[ident] = actor
        self._instrument(ident)
        actor.node.timers.call_later(0.005, lambda: self._rescan(actor, 0.005))

    def _instrument(self, ident: int) -> None:
        frames = _user_frames(ident)
        with _lock:
            if _armed.get(ident) is None:
                return
            for frame in frames:
                code = frame.f_code
                if code not in self._codes:
                    self._mon.set_local_events(self._tool, code, self._line)
                    self._codes.add(code)

    def _rescan(self, actor: Actor, delay: float) -> None:
        """Still armed: it entered code that is not instrumented yet (or is
        stuck in a C call); look at its stack again, less often each time."""
        ident = actor.ident
        if ident is None or _armed.get(ident) is not actor:
            return
        self._instrument(ident)
        delay = min(2 * delay, 0.08)
        actor.node.timers.call_later(delay, lambda: self._rescan(actor, delay))

    def disarm(self, actor: Actor) -> None:
        self._forget(actor)

    def _forget(self, actor: Actor) -> None:
        with _lock:
            ident = actor.ident
            if ident is not None and _armed.get(ident) is actor:
                del _armed[ident]
            if not _armed and self._codes:
                for code in self._codes:
                    self._mon.set_local_events(self._tool, code, 0)
                self._codes.clear()

    def thread_started(self, actor: Actor) -> None:
        pass


def _monitoring() -> _Monitoring | None:
    mon = getattr(sys, "monitoring", None)
    if mon is None:
        return None
    # 3 and 4 have no assigned use (0-2 and 5 are the debugger's, coverage's,
    # the profiler's and the optimizer's): take whichever is free.
    for tool in (4, 3):
        if mon.get_tool(tool) is None:
            mon.use_tool_id(tool, "threadactors")
            return _Monitoring(tool)
    return None


# -- CPython 3.11: the thread's trace function --------------------------

_api = ctypes.pythonapi


class _Tracing:
    name = "trace function"

    def __init__(self, trampoline: int, set_trace: Any, get_tstate: Any, obj_word: int) -> None:
        self._trampoline = trampoline
        self._set_trace = set_trace
        self._get_tstate = get_tstate
        self._obj_word = obj_word  # index of c_traceobj in PyThreadState
        self._set_trace_raw = ctypes.PYFUNCTYPE(
            ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
        )(("_PyEval_SetTrace", _api))
        # ident -> (trace function, trace object) the thread had before arm
        self._saved: dict[int, tuple[int | None, int | None]] = {}

    # The trampoline calls these in the target thread.
    def _on_call(self, frame: FrameType, event: str, arg: Any) -> Any:
        if _is_core(frame.f_code):
            return None  # never trace the runtime's frames
        return self._on_line

    def _on_line(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "line":
            return self._on_line
        actor = _armed.get(_get_ident())
        if actor is None:
            return None
        if not _raise_here(frame.f_code, frame.f_lasti) or _inside_runtime(frame):
            return self._on_line
        exc = _fire(actor)
        if exc is None:
            return self._on_line
        with _lock:
            _armed.pop(actor.ident, None)  # type: ignore[arg-type]
        # The trampoline turns tracing off as this propagates; the thread's
        # earlier trace function comes back at its next runtime call.
        raise exc

    def thread_started(self, actor: Actor) -> None:
        actor.tstate = self._get_tstate()

    def arm(self, actor: Actor) -> None:
        ident = actor.ident
        tstate = actor.tstate
        if ident is None or tstate is None:
            return
        words = (ctypes.c_void_p * (self._obj_word + 1)).from_address(tstate)
        with _lock:
            if _armed.get(ident) is actor:
                return
            if ident not in self._saved:
                func, obj = words[self._obj_word - 2], words[self._obj_word]
                if obj:
                    _api.Py_IncRef(ctypes.c_void_p(obj))  # ours until restored
                self._saved[ident] = (func, obj)
            _armed[ident] = actor
        for frame in _user_frames(ident):
            frame.f_trace = self._on_line
        self._set_trace(tstate, self._trampoline, self._on_call)

    def disarm(self, actor: Actor) -> None:
        """In the actor's own thread: withdraw, and give back its trace function."""
        ident = actor.ident
        with _lock:
            if ident is not None and _armed.get(ident) is actor:
                del _armed[ident]
            saved = self._saved.pop(ident, None) if ident is not None else None
        if saved is None:
            return
        func, obj = saved
        tstate = self._get_tstate()
        restore = ctypes.c_void_p(obj) if obj else None
        self._set_trace_raw(tstate, func, restore)
        if obj:
            _api.Py_DecRef(ctypes.c_void_p(obj))


def _tracing() -> _Tracing | None:
    """The trace backend, if a self-test shows that it works here."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return None
    try:
        get_tstate = ctypes.PYFUNCTYPE(ctypes.c_void_p)(("PyThreadState_Get", _api))
        set_trace = ctypes.PYFUNCTYPE(
            ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.py_object
        )(("_PyEval_SetTrace", _api))
    except (AttributeError, OSError):
        return None
    found: list[tuple[int, int]] = []

    def probe() -> None:
        # A fresh thread: nobody's trace function is disturbed.
        def marker(*args: Any) -> None:
            return None

        def check(*args: Any) -> None:
            return None

        tstate = get_tstate()
        sys.settrace(marker)
        try:
            words = (ctypes.c_void_p * 64).from_address(tstate)
            hits = [i for i in range(2, 64) if words[i] == id(marker)]
            if len(hits) != 1:
                return
            obj_word = hits[0]
            trampoline = words[obj_word - 2]
        finally:
            sys.settrace(None)
        if not trampoline:
            return
        set_trace(tstate, trampoline, check)
        worked = sys.gettrace() is check
        sys.settrace(None)
        if worked:
            found.append((trampoline, obj_word))

    thread = threading.Thread(target=probe, name="ta-probe", daemon=True)
    thread.start()
    thread.join()
    if not found:
        return None
    trampoline, obj_word = found[0]
    return _Tracing(trampoline, set_trace, get_tstate, obj_word)


# -- anything else: PyThreadState_SetAsyncExc -----------------------------------


class _AsyncExc:
    name = "PyThreadState_SetAsyncExc"

    def __init__(self) -> None:
        # argtypes matter: without them ctypes truncates the 64-bit thread
        # ident to a C int and the call silently does nothing.
        self._set = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
            ("PyThreadState_SetAsyncExc", _api)
        )
        self._clear = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
            ("PyThreadState_SetAsyncExc", _api)
        )

        class Interrupted(Exit):
            # Made in the target thread as it is raised there.
            def __init__(self) -> None:
                actor = _armed.pop(_get_ident(), None)
                exc = _fire(actor) if actor is not None else None
                super().__init__(KILLED if exc is None else exc.reason)
                if actor is not None:
                    actor.exit_exc = self

        self._type = Interrupted

    def arm(self, actor: Actor) -> None:
        ident = actor.ident
        if ident is None:
            return
        with _lock:
            if _armed.get(ident) is actor:
                return
            _armed[ident] = actor
        self._set(ident, self._type)

    def disarm(self, actor: Actor) -> None:
        ident = actor.ident
        with _lock:
            if ident is not None and _armed.pop(ident, None) is not None:
                self._clear(ident, None)

    def thread_started(self, actor: Actor) -> None:
        pass


_backend: _Monitoring | _Tracing | _AsyncExc | None = None


def _get() -> _Monitoring | _Tracing | _AsyncExc:
    global _backend
    backend = _backend
    if backend is None:
        with _lock:
            backend = _backend
            if backend is None:
                backend = _backend = _monitoring() or _tracing() or _AsyncExc()
    return backend


def arm(actor: Actor) -> None:
    """Have ``actor``'s thread (spawned, running, outside the runtime) raise
    what ``fire`` decides at its next line of code outside the runtime.
    The caller holds ``actor.exc_lock``."""
    _get().arm(actor)


def disarm(actor: Actor) -> None:
    """In ``actor``'s own thread: withdraw an ``arm`` that has not fired."""
    _get().disarm(actor)


def thread_started(actor: Actor) -> None:
    """In a new actor's thread, before its function runs."""
    _get().thread_started(actor)


def backend_name() -> str:
    """Which mechanism interrupts threads here (for tests)."""
    return _get().name
