"""The server's malloc housekeeping (glibc): two arenas unless the operator set
MALLOC_ARENA_MAX; free heap memory returned to the system past a slack."""

from __future__ import annotations

import platform

import pytest

from latentd.malloc import free_heap_bytes, start_trimmer, trim_if_slack, tune_malloc

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="needs glibc (mallopt, mallinfo2, malloc_trim)"
)


def test_limits_arenas_unless_the_operator_set_them() -> None:
    assert tune_malloc({}) == ["MALLOC_ARENA_MAX"]
    assert tune_malloc({"MALLOC_ARENA_MAX": "8"}) == []


def test_trims_only_past_the_slack() -> None:
    blocks = [bytearray(64 * 1024) for _ in range(256)]  # 16 MiB of heap chunks
    del blocks
    free = free_heap_bytes()
    assert free is not None and free > 0
    assert trim_if_slack(slack=1 << 50) is False
    assert trim_if_slack(slack=0) is True


def test_the_trimmer_runs_as_a_daemon_thread() -> None:
    thread = start_trimmer(every_s=3600)
    assert thread is not None and thread.daemon and thread.is_alive()
