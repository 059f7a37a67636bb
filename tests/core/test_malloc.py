"""The server's malloc settings: applied on glibc, except those the operator set."""

from __future__ import annotations

import platform

import pytest

from latentd.malloc import tune_malloc

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="needs glibc's mallopt")


@glibc
def test_applies_both_settings_when_the_environment_has_none() -> None:
    assert tune_malloc({}) == ["MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"]


@glibc
def test_leaves_what_the_operator_set() -> None:
    assert tune_malloc({"MALLOC_ARENA_MAX": "8"}) == ["MALLOC_MMAP_THRESHOLD_"]
    assert tune_malloc({"MALLOC_ARENA_MAX": "8", "MALLOC_MMAP_THRESHOLD_": "131072"}) == []
