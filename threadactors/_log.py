"""The library's logger; structlog is never configured here."""

from __future__ import annotations

import structlog

__all__ = ["logger"]

logger = structlog.get_logger("threadactors")
