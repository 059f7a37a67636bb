"""The short form of bench/stress.py: its mixed Encode, Analogy, Nearest, Search and Upsert
traffic from 16 threads for 25 s against the session's real `latentd serve` (default
models). Every RPC completes requests, none is answered UNKNOWN or INTERNAL or with a
code README's Errors table does not list, and the server is healthy afterwards. The long
form (10 minutes, with the RSS growth check) is run by hand: see bench/README.md."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
from grpc_health.v1 import health_pb2

from latentd.testing import health_status

BENCH = Path(__file__).resolve().parents[2] / "bench"
DURATION_S = 25.0
THREADS = 16
# README "### Errors": what a well-formed request may be answered under load.
DOCUMENTED = {
    "OK",
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "FAILED_PRECONDITION",
    "UNAVAILABLE",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
    "CANCELLED",
}


@pytest.fixture(scope="module")
def stress() -> ModuleType:
    # Appended, not prepended: bench/collections.py must not shadow the standard library.
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))
    return importlib.import_module("stress")


def test_mixed_load_is_answered_without_internal_errors(
    stress: ModuleType, default_server: str
) -> None:
    result = stress.run_stress(default_server, DURATION_S, THREADS, seed=7)
    codes = result.codes()
    print(
        f"{result.requests()} requests in {result.duration_s:.0f}s: "
        + ", ".join(f"{kind} {result.requests(kind)}" for kind in stress.MIX)
        + f"; codes {dict(codes)}"
    )
    done = {kind: len(result.tally.latencies.get(kind, [])) for kind in stress.MIX}
    assert all(done.values()), f"an RPC completed no request: {done}"
    assert result.failing() == 0, f"UNKNOWN or INTERNAL answers: {result.tally.examples}"
    undocumented = set(codes) - DOCUMENTED
    assert not undocumented, f"undocumented codes {undocumented}: {result.tally.examples}"
    assert health_status(default_server, timeout=10) == health_pb2.HealthCheckResponse.SERVING
