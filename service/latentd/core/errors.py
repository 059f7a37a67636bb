"""Domain errors raised by the core. The gRPC edge maps each kind to one status code
(api/errors.py); the message is written for the person who sent the request."""

from __future__ import annotations


class LatentError(Exception):
    """Base of every error the core raises on purpose."""


class NotFound(LatentError):
    """A named thing (key, model, space) does not exist."""


class InvalidArgument(LatentError):
    """The request is malformed or out of limits; nothing was changed."""


class FailedPrecondition(LatentError):
    """The request is well formed but the target cannot serve it (e.g. no keys to search)."""


class NotReady(LatentError):
    """The server or a model is still starting."""


class Overloaded(LatentError):
    """Too much work in flight; retry later."""


def invalid(field: str, problem: str) -> InvalidArgument:
    """An InvalidArgument whose message starts with the offending field."""
    return InvalidArgument(f"{field}: {problem}")
