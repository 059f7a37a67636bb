"""The one place where core errors become gRPC status codes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from latentd.core.cancellation import stop_when
from latentd.core.errors import (
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    LatentError,
    NotFound,
    NotReady,
    Overloaded,
)

log = logging.getLogger(__name__)

STATUS_OF: dict[type[LatentError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    NotReady: grpc.StatusCode.UNAVAILABLE,
    Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Cancelled: grpc.StatusCode.CANCELLED,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}

# A status message travels in a trailer; clients refuse trailers over 16 KiB by default
# (and then report RESOURCE_EXHAUSTED instead of the real status). The core keeps its
# messages short; this is the backstop.
MAX_MESSAGE_CHARS = 2000

Handler = TypeVar("Handler", bound=Callable[..., Any])


def status_of(error: LatentError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]  # type: ignore[index]
    return grpc.StatusCode.INTERNAL


def bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 40] + f"… ({len(message)} characters in all)"


def caller_gone(context: grpc.ServicerContext) -> None:
    """The core's stop check for one RPC: raise once the caller has cancelled or its
    deadline has passed, so that long work stops instead of running for no one."""
    if context.time_remaining() <= 0:
        raise DeadlineExceeded("the deadline passed before the work was done; it was stopped")
    if not context.is_active():
        raise Cancelled("the caller cancelled the request; the work was stopped")


def mapped_errors(method: Handler) -> Handler:
    """Wrap a servicer method: domain errors abort with their status and message; anything
    else is INTERNAL, logged with its traceback, and the server keeps serving. The core's
    checkpoints stop the work when the caller has gone."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            with stop_when(lambda: caller_gone(context)):
                return method(self, request, context)
        except LatentError as error:
            context.abort(status_of(error), bounded(str(error)))
        except MemoryError:
            log.exception("%s ran out of memory", method.__name__)
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          "the request needs more memory than the server has; send less")
        except Exception:
            log.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL,
                          f"internal error in {method.__name__}; see the server log")

    return wrapper  # type: ignore[return-value]
