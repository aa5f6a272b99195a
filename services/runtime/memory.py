"""Giving freed heap back to the operating system after a burst of short-lived objects."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system; whether any were released.

    Reading a large topic once (a worker's whole key topic at start) allocates and frees
    hundreds of thousands of records. The allocator keeps the pages they leave free,
    scattered among those still in use, and the process stays that much bigger for good.
    ``malloc_trim`` hands such pages back; elsewhere this does nothing.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    released = bool(trim(0))
    log.debug("free heap returned to the system: %s", released)
    return released
