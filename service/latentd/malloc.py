"""glibc malloc settings for a long-running server with many threads.

glibc gives each thread that allocates its own arena (up to 8 per core) and keeps the
memory that requests free (numpy arrays of a BatchAnalogy, exact-search chunks, torch
activations) for later ones instead of returning it. Two things keep the resident set
near what the models need: at most ARENAS arenas, and a trimmer thread that returns
free heap memory to the system (malloc_trim) once more than TRIM_SLACK bytes lie free.
glibc's adaptive mmap threshold is left alone: a fixed 1 MiB threshold saved as much
memory but made long-text encoding 28% slower (every large tensor mapped and unmapped).
An operator's own MALLOC_ARENA_MAX, which glibc reads at start, is left alone.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import platform
import threading
import time

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt parameter (glibc's malloc.h)
ARENAS = 2
TRIM_EVERY_S = 1.0
TRIM_SLACK = 64 << 20


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """glibc, loaded once (None on other C libraries)."""
    if platform.libc_ver()[0] != "glibc":
        return None
    libc = ctypes.CDLL("libc.so.6")
    if hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _Mallinfo2
    return libc


def tune_malloc(environ: dict[str, str] | None = None) -> list[str]:
    """Limit the arenas unless the environment sets MALLOC_ARENA_MAX (glibc only; call
    it before the threads start). Returns the names of the settings applied."""
    environ = dict(os.environ) if environ is None else environ
    libc = _glibc()
    if libc is None or "MALLOC_ARENA_MAX" in environ:
        return []
    return ["MALLOC_ARENA_MAX"] if libc.mallopt(M_ARENA_MAX, ARENAS) == 1 else []


def free_heap_bytes() -> int | None:
    """Bytes the heap holds free (glibc's mallinfo2 fordblks), or None without glibc."""
    libc = _glibc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    return int(libc.mallinfo2().fordblks)


def trim_if_slack(slack: int = TRIM_SLACK) -> bool:
    """Return free heap memory to the system when more than `slack` bytes lie free."""
    libc, free = _glibc(), free_heap_bytes()
    if libc is None or free is None or free <= slack:
        return False
    libc.malloc_trim(0)
    return True


def start_trimmer(every_s: float = TRIM_EVERY_S) -> threading.Thread | None:
    """A daemon thread that calls trim_if_slack every `every_s` (None without glibc)."""
    if free_heap_bytes() is None:
        return None

    def run() -> None:
        while True:
            time.sleep(every_s)
            try:
                trim_if_slack()
            except Exception:  # never take the server down for housekeeping
                log.exception("malloc trim failed")
                return

    thread = threading.Thread(target=run, name="malloc-trim", daemon=True)
    thread.start()
    return thread
