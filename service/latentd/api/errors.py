"""The one place where core errors become gRPC status codes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from latentd.core.errors import (
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
}

Handler = TypeVar("Handler", bound=Callable[..., Any])


def status_of(error: LatentError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]  # type: ignore[index]
    return grpc.StatusCode.INTERNAL


def mapped_errors(method: Handler) -> Handler:
    """Wrap a servicer method: domain errors abort with their status and message; anything
    else is INTERNAL, logged with its traceback, and the server keeps serving."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except LatentError as error:
            context.abort(status_of(error), str(error))
        except MemoryError:
            log.exception("%s ran out of memory", method.__name__)
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          "the request needs more memory than the server has; send less")
        except Exception:
            log.exception("%s failed", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL,
                          f"internal error in {method.__name__}; see the server log")

    return wrapper  # type: ignore[return-value]
