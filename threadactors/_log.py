"""The library's logger.

Events are written structlog-style (``logger.error("crash_report", pid=...,
exc_info=exc)``). If the application configured structlog, they go through
that configuration; otherwise to the standard library's logger
``"threadactors"``. Neither is ever configured here.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["logger"]

_structlog = structlog.get_logger("threadactors")
_stdlib = logging.getLogger("threadactors")


class _Logger:
    """The call style of a structlog logger, routed at each event."""

    __slots__ = ()

    def debug(self, event: str, **kw: Any) -> None:
        _log(logging.DEBUG, "debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        _log(logging.INFO, "info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        _log(logging.WARNING, "warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        _log(logging.ERROR, "error", event, kw)

    def exception(self, event: str, **kw: Any) -> None:
        """An error with the exception being handled, as structlog's."""
        kw.setdefault("exc_info", True)
        _log(logging.ERROR, "exception", event, kw)


def _log(level: int, method: str, event: str, kw: dict[str, Any]) -> None:
    # Asked at every event, not once: the application may configure
    # structlog after importing threadactors (structlog's own testing
    # helper, capture_logs, does so temporarily).
    if structlog.is_configured():
        getattr(_structlog, method)(event, **kw)
    elif _stdlib.isEnabledFor(level):
        exc_info = kw.pop("exc_info", None)
        stack_info = kw.pop("stack_info", False)
        # The fields go as a %-mapping, so a record is only rendered if a
        # handler takes it: "crash_report pid='<Pid 1.2>' error=...".
        template = " ".join([event, *[f"{key}=%({key})r" for key in kw]])
        _stdlib.log(
            level,
            template,
            *([kw] if kw else []),
            exc_info=exc_info,
            stack_info=stack_info,
            # Caller: skip _log and the method above; the record names the
            # library's call site (module, funcName, lineno).
            stacklevel=3,
            extra={"event": event, "fields": kw},
        )


logger = _Logger()
