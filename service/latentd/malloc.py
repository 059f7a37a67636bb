"""glibc malloc settings for a long-running server with many threads.

By default glibc gives each thread that allocates its own arena (up to 8 per core), and
raises its mmap threshold each time a large block is freed, so that large numpy arrays
of later requests come from the heap, whose freed space is seldom returned. After a
varied load (Encode at many concurrent callers, BatchAnalogy, exact 3CosMul) the server
kept about 70 MB more resident than with two arenas and a fixed 1 MiB threshold, at
which every large array is mapped on its own and unmapped when freed (bench/suite.py
reports RSS at rest). An operator's own MALLOC_ARENA_MAX or MALLOC_MMAP_THRESHOLD_,
which glibc reads at start, is left alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

# mallopt parameters (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENAS = 2
MMAP_THRESHOLD = 1 << 20

SETTINGS = {
    "MALLOC_ARENA_MAX": (M_ARENA_MAX, ARENAS),
    "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
}


def tune_malloc(environ: dict[str, str] | None = None) -> list[str]:
    """Apply the settings the environment does not set already (glibc only; call it
    before the threads start). Returns the names of those applied."""
    environ = dict(os.environ) if environ is None else environ
    if platform.libc_ver()[0] != "glibc":
        return []
    libc = ctypes.CDLL("libc.so.6")
    applied = []
    for name, (parameter, value) in SETTINGS.items():
        if name not in environ and libc.mallopt(parameter, value) == 1:
            applied.append(name)
    return applied
