"""Raising an exception in another thread (``PyThreadState_SetAsyncExc``)."""

from __future__ import annotations

import ctypes

__all__ = ["clear_async_exc", "raise_in_thread"]

# argtypes matter: without them ctypes truncates the 64-bit thread ident to
# a C int and the call silently does nothing (linux-facts §9).
_set = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set.argtypes = [ctypes.c_ulong, ctypes.py_object]
_set.restype = ctypes.c_int

_clear = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


def raise_in_thread(ident: int, exc_type: type[BaseException]) -> bool:
    """Have thread ``ident`` raise ``exc_type`` at its next bytecode."""
    return bool(_set(ident, exc_type))


def clear_async_exc(ident: int) -> None:
    """Withdraw an exception set by ``raise_in_thread`` and not yet raised."""
    _clear(ident, None)
