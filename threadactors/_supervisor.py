"""Supervisor: restarts what crashed (SPEC §6), a GenServer on the public API."""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import time
from collections.abc import Callable
from typing import Any, Final

from . import _api as ta
from ._errors import SHUTDOWN, Exit, StartError
from ._gen_server import Caller, GenServer, call
from ._log import logger
from ._node import portable
from ._pid import Pid
from ._signals import Down, ExitSignal

__all__ = ["ChildSpec", "Supervisor"]

_RESTARTS: Final = ("permanent", "transient", "temporary")
_TYPES: Final = ("worker", "supervisor")
_STRATEGIES: Final = ("one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one")


@dataclasses.dataclass(frozen=True)
class ChildSpec:
    """How a supervisor starts and stops one child.

    ``start(*args, **kwargs)`` must start the child linked to the caller (the
    supervisor) and return its pid, as ``GenServer.start_link`` and
    ``spawn_link`` do (or the child links itself before ``start`` returns).
    A pid that is not linked is refused, ``StartError(("not_linked", pid))``,
    and killed: nothing the supervisor started runs unsupervised. A linked
    pid that has already ended is accepted; its end is handled as any
    child's. ``shutdown``: seconds to wait after exit signal ``shutdown``
    before ``kill``, ``"brutal_kill"`` or ``"infinity"``; by default 5.0 for
    a worker and ``"infinity"`` for a supervisor.
    """

    id: Any
    start: Callable[..., Pid]
    args: tuple[Any, ...] = ()
    restart: str = "permanent"
    shutdown: float | str | None = None
    type: str = "worker"
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not callable(self.start):
            raise TypeError(f"ChildSpec {self.id!r}: start must be callable")
        if not isinstance(self.args, tuple):
            raise TypeError(f"ChildSpec {self.id!r}: args must be a tuple")
        if self.restart not in _RESTARTS:
            raise ValueError(f"ChildSpec {self.id!r}: restart must be one of {_RESTARTS}")
        if self.type not in _TYPES:
            raise ValueError(f"ChildSpec {self.id!r}: type must be one of {_TYPES}")
        if self.shutdown is None:
            object.__setattr__(self, "shutdown", 5.0 if self.type == "worker" else "infinity")
        shutdown = self.shutdown
        if shutdown not in ("brutal_kill", "infinity") and (
            isinstance(shutdown, bool)
            or not isinstance(shutdown, (int, float))
            or not shutdown >= 0
            or math.isinf(shutdown)
        ):
            raise ValueError(
                f"ChildSpec {self.id!r}: shutdown is seconds >= 0, 'brutal_kill' or 'infinity'"
            )


_tokens = itertools.count(1)


@dataclasses.dataclass
class _Child:
    spec: ChildSpec
    pid: Pid | None = None
    args: tuple[Any, ...] = ()  # simple_one_for_one: the extra args
    # Names this child in the supervisor's messages to itself (simple
    # children all share their template's id).
    token: int = dataclasses.field(default_factory=lambda: next(_tokens))


def _normal(reason: Any) -> bool:
    if isinstance(reason, tuple):
        return len(reason) == 2 and reason[0] == SHUTDOWN
    return bool(reason == "normal") or bool(reason == SHUTDOWN)


class Supervisor(GenServer):
    """Starts children, watches them, and restarts them by its strategy."""

    # -- client side -------------------------------------------------------------

    @classmethod
    def start_link(  # type: ignore[override]
        cls,
        children: list[ChildSpec],
        strategy: str = "one_for_one",
        intensity: int = 1,
        period: float = 5.0,
        name: str | None = None,
    ) -> Pid:
        """Start a supervisor linked to the caller; children start in order."""
        return cls._begin(children, strategy, intensity, period, name, link=True)

    @classmethod
    def start(  # type: ignore[override]
        cls,
        children: list[ChildSpec],
        strategy: str = "one_for_one",
        intensity: int = 1,
        period: float = 5.0,
        name: str | None = None,
    ) -> Pid:
        """Start a supervisor that is not linked to the caller."""
        return cls._begin(children, strategy, intensity, period, name, link=False)

    @classmethod
    def _begin(  # noqa: PLR0917
        cls,
        children: list[ChildSpec],
        strategy: str,
        intensity: int,
        period: float,
        name: str | None,
        link: bool,
    ) -> Pid:
        _check(children, strategy, intensity, period)
        return cls._start((list(children), strategy, intensity, period), {}, name, link=link)

    @staticmethod
    def which_children(sup: Pid | str) -> list[tuple[Any, Pid | None, str]]:
        """``(id, pid or None, type)`` of each child, in OTP's order: the
        newest child first (reverse start order; a restarted child keeps its
        place). ``simple_one_for_one`` (id ``None``): in the order the running
        children were started, so a restarted child comes last."""
        result: list[tuple[Any, Pid | None, str]] = _answer(
            call(sup, ("$which_children",), timeout=None)
        )
        return result

    @staticmethod
    def count_children(sup: Pid | str) -> dict[str, int]:
        """``specs``, ``active``, ``supervisors``, ``workers``."""
        result: dict[str, int] = _answer(call(sup, ("$count_children",), timeout=None))
        return result

    @staticmethod
    def start_child(sup: Pid | str, *spec_or_args: Any) -> Pid:
        """Add and start a child: a ``ChildSpec``, or for ``simple_one_for_one``
        the extra args appended to the template's."""
        pid: Pid = _answer(call(sup, ("$start_child", spec_or_args), timeout=None))
        return pid

    @staticmethod
    def terminate_child(sup: Pid | str, child: Any) -> None:
        """Stop a child (by id; by pid for ``simple_one_for_one``); keep its spec."""
        _answer(call(sup, ("$terminate_child", child), timeout=None))

    @staticmethod
    def restart_child(sup: Pid | str, child_id: Any) -> Pid:
        """Start again a child that was terminated."""
        pid: Pid = _answer(call(sup, ("$restart_child", child_id), timeout=None))
        return pid

    @staticmethod
    def delete_child(sup: Pid | str, child_id: Any) -> None:
        """Forget the spec of a terminated child."""
        _answer(call(sup, ("$delete_child", child_id), timeout=None))

    # -- server side -------------------------------------------------------------------

    def init(self, children: list[ChildSpec], strategy: str, intensity: int, period: float) -> None:
        ta.trap_exit(True)
        self.strategy = strategy
        self.intensity = intensity
        self.period = period
        self.restarts: collections.deque[float] = collections.deque()
        self.children: list[_Child] = []
        if strategy == "simple_one_for_one":
            self.template = children[0]
            return
        for spec in children:
            child = _Child(spec)
            self.children.append(child)
            try:
                self._start_child(child)
            except StartError as e:
                self.children.pop()
                self._stop_children(list(reversed(self.children)))
                raise Exit(("failed_to_start_child", spec.id, e.reason)) from None

    def handle_call(self, request: Any, caller: Caller) -> Any:
        try:
            return ("ok", self._manage(request))
        except (StartError, ValueError, TypeError) as e:
            return ("error", e)

    def handle_info(self, msg: Any) -> None:
        if msg.__class__ is ExitSignal:
            child = self._find(msg.pid)
            if child is not None:
                self._child_ended(child, msg.reason)
        elif msg.__class__ is tuple and msg[:1] == ("$try_again",):
            child = next((c for c in self.children if c.token == msg[1]), None)
            if child is not None and child.pid is None:
                self._restart(child)
        else:
            super().handle_info(msg)

    def terminate(self, reason: Any) -> None:
        self._stop_children(list(reversed(self.children)))

    # -- management ----------------------------------------------------------------------

    def _manage(self, request: Any) -> Any:
        op = request[0]
        if op == "$which_children":
            if self._simple:
                return [(None, c.pid, c.spec.type) for c in self.children]
            return [(c.spec.id, c.pid, c.spec.type) for c in reversed(self.children)]
        if op == "$count_children":
            active = [c for c in self.children if c.pid is not None]
            return {
                "specs": 1 if self._simple else len(self.children),
                "active": len(active),
                "supervisors": sum(c.spec.type == "supervisor" for c in self.children),
                "workers": sum(c.spec.type == "worker" for c in self.children),
            }
        if op == "$start_child":
            args = request[1]
            if self._simple:
                child = _Child(self.template, args=tuple(args))
            else:
                if len(args) != 1 or not isinstance(args[0], ChildSpec):
                    raise TypeError("start_child takes a ChildSpec")
                spec = args[0]
                if self._find_id(spec.id) is not None:
                    raise ValueError(f"a child with id {spec.id!r} exists already")
                child = _Child(spec)
            self.children.append(child)
            try:
                return self._start_child(child)
            except StartError:
                self.children.remove(child)
                raise
        if op == "$terminate_child":
            target = self._find(request[1]) if self._simple else self._find_id(request[1])
            if target is None:
                raise ValueError(f"no child {request[1]!r}")
            self._stop_children([target])
            if target in self.children and (self._simple or target.spec.restart == "temporary"):
                self.children.remove(target)
            return None
        found = self._find_id(request[1])
        if found is None or self._simple:
            raise ValueError(f"no child {request[1]!r}")
        child = found
        if op == "$restart_child":
            if child.pid is not None:
                raise ValueError(f"child {child.spec.id!r} is running")
            return self._start_child(child)
        if op == "$delete_child":
            if child.pid is not None:
                raise ValueError(f"child {child.spec.id!r} is running")
            self.children.remove(child)
            return None
        raise ValueError(f"unknown request {op!r}")

    @property
    def _simple(self) -> bool:
        return self.strategy == "simple_one_for_one"

    def _find(self, pid: Any) -> _Child | None:
        for child in self.children:
            if child.pid == pid:
                return child
        return None

    def _find_id(self, child_id: Any) -> _Child | None:
        for child in self.children:
            if child.spec.id == child_id:
                return child
        return None

    # -- starting and stopping children --------------------------------------------------

    def _start_child(self, child: _Child) -> Pid:
        spec = child.spec
        try:
            pid = spec.start(*spec.args, *child.args, **spec.kwargs)
        except StartError as e:
            raise StartError(portable(e.reason)) from None
        except Exception as e:
            raise StartError(portable(e)) from e
        if not isinstance(pid, Pid):
            raise StartError(("bad_start_return", repr(pid)))
        if not _linked_to_me(pid):
            # Started on our behalf but beyond our reach: a crash of it would
            # go unnoticed, and it may hold a name a retry needs. Killed, not
            # shut down: unlinked, it would not take our shutdown as its
            # parent's (a trapping GenServer) and stall us for its timeout.
            if pid != ta.self():
                ref = ta.monitor(pid)
                ta.exit(pid, "kill")
                _down(ref, None)
            raise StartError(("not_linked", pid))
        child.pid = pid
        if self._simple and self.children[-1] is not child:
            # Listed in the order the running children started (as OTP).
            self.children.remove(child)
            self.children.append(child)
        logger.info("child_started", supervisor=repr(ta.self()), child=repr(spec.id), pid=repr(pid))
        return pid

    def _stop_children(self, children: list[_Child]) -> None:
        """Stop each child by its shutdown spec, one after the other."""
        for child in children:
            pid = child.pid
            if pid is None:
                continue
            child.pid = None
            ref = ta.monitor(pid)
            ta.unlink(pid)
            shutdown = child.spec.shutdown
            if shutdown == "brutal_kill":
                ta.exit(pid, "kill")
                _down(ref, None)
            elif shutdown == "infinity":
                ta.exit(pid, SHUTDOWN)
                _down(ref, None)
            else:
                ta.exit(pid, SHUTDOWN)
                if not _down(ref, float(shutdown)):  # type: ignore[arg-type]
                    ta.exit(pid, "kill")
                    _down(ref, None)
            # It may have ended on its own before the unlink: no stray signal.
            ta.receive(
                lambda m, p=pid: m.__class__ is ExitSignal and m.pid == p, timeout=0, default=None
            )
            logger.info("child_stopped", supervisor=repr(ta.self()), child=repr(child.spec.id))
            if child.spec.restart == "temporary" and child in self.children:
                self.children.remove(child)

    def _child_ended(self, child: _Child, reason: Any) -> None:
        spec = child.spec
        child.pid = None
        level = "info" if _normal(reason) else "warning"
        getattr(logger, level)(
            "child_ended", supervisor=repr(ta.self()), child=repr(spec.id), reason=repr(reason)
        )
        if spec.restart == "temporary" or (spec.restart == "transient" and _normal(reason)):
            if spec.restart == "temporary" or self._simple:
                self.children.remove(child)
            return
        self._restart(child)

    def _restart(self, child: _Child) -> None:
        now = time.monotonic()
        restarts = self.restarts
        restarts.append(now)
        while restarts and restarts[0] < now - self.period:
            restarts.popleft()
        if len(restarts) > self.intensity:
            logger.error(
                "supervisor_gave_up",
                supervisor=repr(ta.self()),
                intensity=self.intensity,
                period=self.period,
            )
            self.stop(SHUTDOWN)
            return
        if self.strategy == "one_for_all":
            again = list(self.children)
        elif self.strategy == "rest_for_one":
            again = self.children[self.children.index(child) :]
        else:
            again = [child]
        others = [c for c in again if c is not child]
        self._stop_children(list(reversed(others)))
        for c in again:
            if c not in self.children:
                continue  # temporary: not restarted
            try:
                self._start_child(c)
                logger.info(
                    "child_restarted",
                    supervisor=repr(ta.self()),
                    child=repr(c.spec.id),
                    pid=repr(c.pid),
                )
            except StartError as e:
                logger.error(
                    "child_restart_failed",
                    supervisor=repr(ta.self()),
                    child=repr(c.spec.id),
                    reason=repr(e.reason),
                )
                # Another restart event, later: a child that cannot start
                # escalates to the supervisor's end (SUP-9).
                ta.send(ta.self(), ("$try_again", c.token))
                return


def _linked_to_me(pid: Pid) -> bool:
    """Whether ``pid`` is linked to the calling supervisor, or was until it ended."""
    me = ta.self()
    if pid in ta.info(me)["links"]:  # type: ignore[index]
        return True  # we made the link (spawn_link, start_link)
    if pid.os_pid == me.os_pid:
        # A link the child made is in its own view at once, in ours only
        # once the monitor thread has handled it.
        child = ta.info(pid)
        if child is not None:
            return me in child["links"]
        # Ended. The monitor thread handles the child's link and end in
        # order, and sends us its exit signal (if linked) before the Down
        # of a monitor taken now: so once that Down is here, so is it.
        _down(ta.monitor(pid), None)
    # (Another node's child: a link it made before telling us its pid is in
    # our view by then, SPEC §8.) A link that fired left its exit signal.
    seen = False

    def peek(m: Any) -> bool:
        nonlocal seen
        seen = seen or (m.__class__ is ExitSignal and m.pid == pid)
        return False  # left where it is, handled as any child's end

    ta.receive(peek, timeout=0, default=None)
    return seen


def _down(ref: Any, timeout: float | None) -> bool:
    """Wait for the ``Down`` of ``ref``; ``False`` on timeout."""
    got = ta.receive(lambda m: m.__class__ is Down and m.ref == ref, timeout=timeout, default=None)
    return got is not None


def _answer(result: Any) -> Any:
    status, value = result
    if status == "ok":
        return value
    raise value


def _check(children: Any, strategy: str, intensity: int, period: float) -> None:
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {_STRATEGIES}, not {strategy!r}")
    if not isinstance(children, (list, tuple)) or not all(
        isinstance(c, ChildSpec) for c in children
    ):
        raise TypeError("children must be a list of ChildSpec")
    if strategy == "simple_one_for_one" and len(children) != 1:
        raise ValueError("simple_one_for_one takes exactly one child spec (the template)")
    ids = [c.id for c in children]
    if len(set(map(repr, ids))) != len(ids):
        raise ValueError("child ids must be unique")
    if isinstance(intensity, bool) or not isinstance(intensity, int) or intensity < 0:
        raise ValueError("intensity must be an int >= 0")
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
        raise ValueError("period must be seconds > 0")
