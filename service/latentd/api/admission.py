"""Admission: how many latent.v1 calls run at once, and none once the server stops.

Past `limit` calls in progress a call is refused at once with Overloaded
(RESOURCE_EXHAUSTED, naming --max-concurrent-rpcs) rather than queued in gRPC's thread
pool until its caller times out. The pool has SPARE_WORKERS threads beyond the limit
(`pool_size`), so health checks, reflection and these refusals are answered even while
every admitted call is busy. Once the server stops (`close`), new calls are refused with
NotReady (UNAVAILABLE) while the calls in progress finish; `wait_idle` waits for them.

A call is counted from the moment its handler runs on a pool thread to its return, not
while gRPC sends its response: a client that reads slowly holds no slot and no thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from latentd.api.errors import abort, wrapped_if_served
from latentd.core.errors import LatentError, NotReady, Overloaded

# Pool threads beyond the admission limit: health, reflection and refusals never wait
# behind admitted calls (a health check waited 8.26 s behind 1,000 queued requests when
# every thread could be taken by them).
SPARE_WORKERS = 16


def pool_size(workers: int, limit: int) -> int:
    """Threads of the server's pool: every admitted call gets one, plus the spare ones."""
    return max(workers, limit) + SPARE_WORKERS


class AdmissionInterceptor(grpc.ServerInterceptor):
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_concurrent_rpcs: must be at least 1, got {limit}")
        self.limit = limit
        self._in_progress = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def in_progress(self) -> int:
        with self._changed:
            return self._in_progress

    def close(self) -> None:
        """Refuse every new call from now on (UNAVAILABLE: the server is stopping)."""
        with self._changed:
            self._closed = True

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the calls in progress to end; whether they did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._in_progress:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        # Health and reflection are always answered.
        return wrapped_if_served(
            continuation(handler_call_details), handler_call_details.method, self._admitted
        )

    def _admitted(
        self, behavior: Callable[[Any, grpc.ServicerContext], Any]
    ) -> Callable[[Any, grpc.ServicerContext], Any]:
        def admitted(request: Any, context: grpc.ServicerContext) -> Any:
            refusal = self._enter()
            if refusal is not None:
                abort(context, refusal)
            try:
                return behavior(request, context)
            finally:
                self._leave()

        return admitted

    def _enter(self) -> LatentError | None:
        with self._changed:
            if self._closed:
                return NotReady("latentd is shutting down; send the request to another server")
            if self._in_progress >= self.limit:
                return Overloaded(
                    f"latentd is busy: {self._in_progress} calls in progress, the limit of "
                    f"--max-concurrent-rpcs ({self.limit}); retry later"
                )
            self._in_progress += 1
            return None

    def _leave(self) -> None:
        with self._changed:
            self._in_progress -= 1
            self._changed.notify_all()
