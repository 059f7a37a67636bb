"""Typed exceptions for the gRPC status codes the server uses on purpose.

``str(error)`` is the server's message, written for a person; ``error.code`` is the
``grpc.StatusCode``. Codes without a class of their own raise :class:`LatentError`. An
UNAVAILABLE that gRPC itself reports when no connection could be made raises
:class:`ServerUnreachable`, a subclass of :class:`Unavailable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc


class LatentError(Exception):
    """A call to latentd failed; ``code`` is the gRPC status, ``message`` the server's text."""

    def __init__(self, code: grpc.StatusCode | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        name = self.code.name if self.code is not None else None
        return f"{type(self).__name__}(code={name}, message={self.message!r})"


class NotFound(LatentError):
    """A key, model, space, collection or document does not exist (NOT_FOUND)."""


class AlreadyExists(LatentError):
    """What a call would create exists already, e.g. a collection (ALREADY_EXISTS)."""


class InvalidArgument(LatentError):
    """The request is malformed or out of limits (INVALID_ARGUMENT)."""


class FailedPrecondition(LatentError):
    """The target cannot serve this request, e.g. a space with no keys (FAILED_PRECONDITION)."""


class Unavailable(LatentError):
    """The server cannot be reached or is not ready yet (UNAVAILABLE)."""


class ServerUnreachable(Unavailable):
    """UNAVAILABLE because no connection could be made (nothing listening, unknown host,
    network down), not because a running server said so, e.g. while it loads models."""


# Substrings of grpc-core's own messages when no connection could be made; an UNAVAILABLE
# status sent by a running server is not one of these and stays a plain Unavailable.
_CONNECT_FAILURES = (
    "failed to connect",
    "connection refused",
    "dns resolution failed",
    "errors resolving",
    "domain name not found",
    "name resolution",
    "network is unreachable",
    "no route to host",
    "socket closed",
    "connection reset",
    "connections to all backends failing",
    "empty address list",
)


class ResourceExhausted(LatentError):
    """The server is overloaded or a message is too large (RESOURCE_EXHAUSTED)."""


class DeadlineExceeded(LatentError):
    """The call did not finish before its deadline (DEADLINE_EXCEEDED)."""


class Internal(LatentError):
    """An unexpected server-side failure (INTERNAL)."""


class Unauthenticated(LatentError):
    """No API key was sent, or the server does not accept it (UNAUTHENTICATED): pass
    ``api_key=`` or set LATENT_API_KEY."""


class PermissionDenied(LatentError):
    """The API key may not call this method, e.g. a read-only key on a write
    (PERMISSION_DENIED)."""


class DataLoss(LatentError):
    """A file the server keeps is damaged (DATA_LOSS); its operator must restore it."""


# Keyed by StatusCode.name so that this module needs no grpc import.
_BY_CODE: dict[str, type[LatentError]] = {
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "INVALID_ARGUMENT": InvalidArgument,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAVAILABLE": Unavailable,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "INTERNAL": Internal,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "DATA_LOSS": DataLoss,
}


def _is_connect_failure(message: str) -> bool:
    folded = " ".join(message.split()).lower()
    return any(s in folded for s in _CONNECT_FAILURES)


def from_rpc_error(error: grpc.RpcError) -> LatentError:
    """The typed exception for a failed call (``grpc.RpcError`` or ``grpc.aio.AioRpcError``)."""
    code_fn = getattr(error, "code", None)
    details_fn = getattr(error, "details", None)
    code: grpc.StatusCode | None = code_fn() if callable(code_fn) else None
    message = (details_fn() if callable(details_fn) else None) or ""
    if not message:
        message = code.name.lower().replace("_", " ") if code is not None else str(error)
    cls = _BY_CODE.get(code.name, LatentError) if code is not None else LatentError
    if cls is Unavailable and _is_connect_failure(message):
        cls = ServerUnreachable
    return cls(code, message)
