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


class Cancelled(LatentError):
    """The caller cancelled the request or went away; the work was stopped."""


class DeadlineExceeded(LatentError):
    """The caller's deadline passed before the work was done; the work was stopped."""


# How much of one caller-supplied string an error message repeats: a message travels in a
# gRPC trailer (16 KiB by default in clients), so echoing a 10,000-character key verbatim
# would turn NOT_FOUND into RESOURCE_EXHAUSTED on the caller's side.
SHOWN_CHARS = 40


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` quoted for an error message: whole when short, else a prefix and its length."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"


class AlreadyExists(LatentError):
    """A thing to create exists already (with other settings, or without exist_ok)."""


class Unauthenticated(LatentError):
    """The caller sent no API key, or one the server does not accept."""


class PermissionDenied(LatentError):
    """The caller's API key may not call this method (a read-only key on a write)."""


class DataLoss(LatentError):
    """A file the server keeps (a collection's database) is damaged; its data cannot be
    trusted until an operator restores it."""
