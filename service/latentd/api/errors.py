"""The one place where core errors become gRPC status codes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

from latentd.core.cancellation import stop_when
from latentd.core.errors import (
    AlreadyExists,
    Cancelled,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    LatentError,
    NotFound,
    NotReady,
    Overloaded,
    PermissionDenied,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[LatentError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    NotReady: grpc.StatusCode.UNAVAILABLE,
    Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Cancelled: grpc.StatusCode.CANCELLED,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    DataLoss: grpc.StatusCode.DATA_LOSS,
}

# A status message travels in a trailer; clients refuse trailers over 16 KiB by default
# (and then report RESOURCE_EXHAUSTED instead of the real status). The core keeps its
# messages short; this is the backstop.
MAX_MESSAGE_CHARS = 2000

# Methods of these services get the mapping (prefix of grpc's "/package.Service/Method").
SERVED = "/latent.v1."

Behavior = Callable[[Any, grpc.ServicerContext], Any]


def wrapped_if_served(
    handler: grpc.RpcMethodHandler | None,
    method: str,
    wrap: Callable[[Behavior], Behavior],
    request_deserializer: Callable[[Any], Any] | None = None,
) -> grpc.RpcMethodHandler | None:
    """The handler of a latent.v1 method with its behavior wrapped (and its request
    deserializer too, when given); health, reflection and unknown methods as they are.
    What every interceptor of the server does (api/server.py lists them)."""
    if handler is None or handler.unary_unary is None or not method.startswith(SERVED):
        return handler
    deserializer = handler.request_deserializer
    return grpc.unary_unary_rpc_method_handler(
        wrap(handler.unary_unary),
        request_deserializer=request_deserializer(deserializer)
        if request_deserializer is not None
        else deserializer,
        response_serializer=handler.response_serializer,
    )


def status_of(error: LatentError) -> grpc.StatusCode:
    for kind, code in STATUS_OF.items():
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INTERNAL


def bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 40] + f"… ({len(message)} characters in all)"


def abort(context: grpc.ServicerContext, error: LatentError) -> NoReturn:
    """End the call with the error's status and its bounded message."""
    context.abort(status_of(error), bounded(str(error)))


def refused(handler: grpc.RpcMethodHandler, error: LatentError) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that answers every call with `error`,
    without deserialising the request (a refused caller costs no parsing)."""

    def refuse(request: Any, context: grpc.ServicerContext) -> Any:
        abort(context, error)

    kinds = (
        (handler.unary_unary, grpc.unary_unary_rpc_method_handler),
        (handler.unary_stream, grpc.unary_stream_rpc_method_handler),
        (handler.stream_unary, grpc.stream_unary_rpc_method_handler),
    )
    for behavior, make in kinds:
        if behavior is not None:
            return make(refuse)
    return grpc.stream_stream_rpc_method_handler(refuse)


def caller_gone(context: grpc.ServicerContext) -> None:
    """The core's stop check for one RPC: raise once the caller has cancelled or its
    deadline has passed, so that long work stops instead of running for no one."""
    if context.time_remaining() <= 0:
        raise DeadlineExceeded("the deadline passed before the work was done; it was stopped")
    if not context.is_active():
        raise Cancelled("the caller cancelled the request; the work was stopped")


class ErrorInterceptor(grpc.ServerInterceptor):
    """Every latent.v1 method, server-wide: domain errors abort with their status and a
    bounded message; anything else is INTERNAL, logged with its traceback, and the
    server keeps serving. The core's checkpoints stop the work when the caller has gone."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method
        return wrapped_if_served(
            continuation(handler_call_details),
            method,
            lambda behavior: mapped_errors(behavior, method.rsplit("/", 1)[-1]),
            tolerant,
        )


@dataclass(frozen=True)
class Unparsable:
    """A request whose bytes did not parse. grpc answers a deserializer's exception with
    INTERNAL; passed on as this value, it is refused as INVALID_ARGUMENT instead."""

    what: str  # "latent.v1.CountRequest: Exceeded upb_DecodeOptions_MaxDepth"
    hint: str = "messages nest at most 100 levels deep and strings must be UTF-8"


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None
    parse = deserializer

    def parsed(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as exc:
            # upb: "Error parsing message with type 'latent.v1.X': Wire format was corrupt"
            return Unparsable(
                str(exc).removeprefix("Error parsing message with type ").replace("'", "")
            )

    return parsed


def mapped_errors(
    behavior: Callable[[Any, grpc.ServicerContext], Any], name: str
) -> Callable[[Any, grpc.ServicerContext], Any]:
    def mapped(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, Unparsable):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request: cannot be parsed ({bounded(request.what)}); {request.hint}",
            )
        try:
            with stop_when(lambda: caller_gone(context)):
                return behavior(request, context)
        except LatentError as error:
            abort(context, error)
        except MemoryError:
            log.exception("%s ran out of memory", name)
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "the request needs more memory than the server has; send less",
            )
        except Exception:
            log.exception("%s failed", name)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error in {name}; see the server log")

    return mapped
