"""Long work stops when its caller has gone.

The edge knows whether the caller is still there (gRPC: the context's activity and
deadline); the core only calls `checkpoint()` between chunks of work. The edge installs
its check with `stop_when(...)` for the duration of one request; a check raises
Cancelled or DeadlineExceeded, which ends the request like any other domain error. Work
handed to another thread (a sentence model's thread) carries the check along with
`current_check()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

StopCheck = Callable[[], None]


def _never() -> None:
    return None


_check: ContextVar[StopCheck] = ContextVar("latent_stop_check", default=_never)


def checkpoint() -> None:
    """Raise Cancelled or DeadlineExceeded if the current request's caller has gone."""
    _check.get()()


def current_check() -> StopCheck:
    """The current request's check, to call from another thread."""
    return _check.get()


@contextmanager
def stop_when(check: StopCheck) -> Iterator[None]:
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)
