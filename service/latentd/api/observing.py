"""The outermost interceptor: a request id, metrics, one access line and timing metadata
for every latent.v1 RPC.

Health and reflection pass through unobserved: a load balancer's health checks every few
seconds would fill the access log. The status code is read from the context after the
inner handlers ran, so a call that an inner interceptor refused (authentication,
admission) is counted and logged with its code like any other.

Trailing metadata, as text-embeddings-inference sends in headers: `x-request-id`,
`x-total-time` (ms from the call's arrival to its status), and for calls that ran a
sentence model (Encode, Upsert of texts, a text term) `x-queue-time` and
`x-inference-time` (ms, summed over the request's encode jobs), and `x-compute-tokens`
(the tokens the model read, as text-embeddings-inference counts them)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from latentd.api.errors import wrapped_if_served
from latentd.api.metrics import ServerMetrics
from latentd.core.encode_observation import ModelTime, observing
from latentd.logs import request_context

REQUEST_ID = "x-request-id"
TOTAL_TIME = "x-total-time"
QUEUE_TIME = "x-queue-time"
INFERENCE_TIME = "x-inference-time"
COMPUTE_TOKENS = "x-compute-tokens"
# A caller's request id is kept when it is 1 to 128 visible ASCII characters (no space,
# so that a text log line stays parseable); otherwise the server makes one.
MAX_REQUEST_ID_CHARS = 128

access_log = logging.getLogger("latentd.access")


def request_id_of(metadata: Sequence[Any] | None) -> str:
    """The caller's x-request-id when it is acceptable, else a fresh uuid4 (hex)."""
    for key, value in metadata or ():
        if key == REQUEST_ID:
            if isinstance(value, str) and is_acceptable_request_id(value):
                return value
            break
    return uuid.uuid4().hex


def is_acceptable_request_id(value: str) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID_CHARS and all("!" <= c <= "~" for c in value)


class ObservingInterceptor(grpc.ServerInterceptor):
    def __init__(self, metrics: ServerMetrics) -> None:
        self._metrics = metrics

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        arrived = time.perf_counter()  # before the call waits for a worker thread
        method: str = handler_call_details.method
        return wrapped_if_served(
            continuation(handler_call_details),
            method,
            lambda behavior: self._observed(behavior, method.lstrip("/"), arrived),
        )

    def _observed(
        self, behavior: Callable[[Any, grpc.ServicerContext], Any], method: str, arrived: float
    ) -> Callable[[Any, grpc.ServicerContext], Any]:
        metrics = self._metrics

        def observed(request: Any, context: grpc.ServicerContext) -> Any:
            request_id = request_id_of(context.invocation_metadata())
            failed = False
            with request_context(request_id), observing(metrics) as model_time:
                try:
                    return behavior(request, context)
                except BaseException:
                    failed = True
                    raise
                finally:
                    # Before grpc sends the status, so these go out with it.
                    seconds = time.perf_counter() - arrived
                    code = _code_name(context, failed)
                    _send_timing(context, request_id, seconds, model_time)
                    metrics.observe_request(method, code, seconds)
                    peer = context.peer()
                    access_log.info(
                        "%s %s %.1f ms peer %s",
                        method,
                        code,
                        seconds * 1000,
                        peer,
                        extra={
                            "method": method,
                            "code": code,
                            "duration_ms": round(seconds * 1000, 3),
                            "peer": peer,
                        },
                    )

        return observed


def _code_name(context: grpc.ServicerContext, failed: bool) -> str:
    """The status the call ends with: what the handlers set (abort sets it), else OK, or
    UNKNOWN for an exception that grpc itself turns into a status."""
    code = context.code()  # type: ignore[attr-defined]  # grpcio has it; the stubs lack it
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    return "UNKNOWN" if failed else "OK"


def _send_timing(
    context: grpc.ServicerContext, request_id: str, seconds: float, model_time: ModelTime
) -> None:
    timing = [(REQUEST_ID, request_id), (TOTAL_TIME, _ms(seconds))]
    if model_time.jobs:
        timing += [
            (QUEUE_TIME, _ms(model_time.queue_s)),
            (INFERENCE_TIME, _ms(model_time.inference_s)),
            (COMPUTE_TOKENS, str(model_time.tokens)),
        ]
    earlier = context.trailing_metadata() or ()
    context.set_trailing_metadata((*earlier, *timing))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"
