"""One latent.v1 call that arrived over HTTP, run through the gRPC server's pipeline:
the handler wrapped by every interceptor, given a ServicerContext of this module."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn, cast

import grpc
from google.protobuf.message import Message

from latentd.api.errors import Unparsable
from latentd.api.pipeline import Pipeline

# grpc reports the time left before a call without a deadline as a large number too.
NO_DEADLINE_S = float(2**31)


class CallAborted(Exception):
    """Raised by HttpCallContext.abort, as grpc's context raises to end a call."""


@dataclass
class Outcome:
    """How a call ended: a response, or a status code and message; the trailing metadata
    either way (request id and timing: api/observing.py)."""

    response: Message | None
    code: grpc.StatusCode
    message: str
    trailing: list[tuple[str, str]] = field(default_factory=list)


class HttpCallContext:
    """What the servicers and interceptors use of grpc.ServicerContext, for a call that
    came over HTTP. Once any of `cancelled` is set (the HTTP client disconnected, the
    server stops) the call is no longer active, and the core's checkpoints stop the work,
    as for a cancelled gRPC call."""

    def __init__(
        self,
        metadata: Sequence[tuple[str, str]],
        peer: str,
        cancelled: Sequence[threading.Event] = (),
    ) -> None:
        self._metadata = tuple(metadata)
        self._peer = peer
        self._cancelled = tuple(cancelled)
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._trailing: tuple[tuple[str, str], ...] = ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def is_active(self) -> bool:
        return not any(event.is_set() for event in self._cancelled)

    def time_remaining(self) -> float:
        return NO_DEADLINE_S  # HTTP calls carry no deadline; a disconnect cancels them

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        self._code, self._details = code, details
        raise CallAborted(details)

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        self._trailing = tuple(metadata)

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._trailing


def run_call(
    pipeline: Pipeline, method: str, request: Message | Unparsable, context: HttpCallContext
) -> Outcome:
    """Run `method` ("/latent.v1.Service/Method") on `request` as the gRPC server would for
    a call with the context's metadata; blocks (call it on a worker thread)."""
    handler = pipeline.handler(method, context.invocation_metadata())
    if handler is None or handler.unary_unary is None:
        return Outcome(None, grpc.StatusCode.UNIMPLEMENTED, f"no method {method}")
    try:
        # The context has every method the servicers and interceptors use (not all of
        # grpc.ServicerContext's, which is why it does not subclass it).
        response = handler.unary_unary(request, cast(grpc.ServicerContext, context))
    except CallAborted:
        response = None
    code = context.code() or grpc.StatusCode.OK
    if response is None and code is grpc.StatusCode.OK:
        code = grpc.StatusCode.INTERNAL  # a handler that returned nothing: never expected
    return Outcome(
        response if code is grpc.StatusCode.OK else None,
        code,
        context.details(),
        [(str(k), str(v)) for k, v in context.trailing_metadata()],
    )
