"""What ``Client`` and the generated ``AsyncClient`` share: the stubs over a channel,
the default deadline and ``wait_for_ready``, the request id to send and the last call's
:class:`CallInfo`. Everything that differs between blocking and asyncio calls lives in
``client.py`` (and, generated from it, ``async_client.py``) and ``_calls.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from latent._calls import MAX_REQUEST_ID_CHARS, REQUEST_ID
from latent.types import CallInfo, Document, ScrollResult
from latent.v1 import latent_pb2_grpc as pb_grpc

ChannelT = TypeVar("ChannelT", grpc.Channel, grpc.aio.Channel)


class ClientBase(Generic[ChannelT]):
    """Channel, stubs and call settings of one client."""

    target: str
    timeout: float | None

    def __init__(
        self, target: str, timeout: float | None, wait_for_ready: bool, channel: ChannelT
    ) -> None:
        self.target = target
        self.timeout = timeout
        # False: a call to an unreachable server fails (after the retries of the service
        # config) instead of waiting for the whole deadline.
        self._wait_for_ready = wait_for_ready
        self._channel: ChannelT = channel
        self._models = pb_grpc.ModelsStub(channel)
        self._embeddings = pb_grpc.EmbeddingsStub(channel)
        self._arithmetic = pb_grpc.ArithmeticStub(channel)
        self._collections = pb_grpc.CollectionsStub(channel)
        self._directions = pb_grpc.DirectionsStub(channel)
        # Per thread and asyncio task, so that concurrent callers each see their own.
        self._last_call: ContextVar[CallInfo | None] = ContextVar("last_call", default=None)
        self._request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

    @property
    def last_call(self) -> CallInfo | None:
        """What the server said about the last call this thread (or asyncio task) made
        with this client: request id and timing (:class:`latent.CallInfo`); None before
        the first. A task started with ``asyncio.create_task`` or ``gather`` has its
        own: read it inside that task."""
        return self._last_call.get()

    @contextmanager
    def request_id(self, value: str) -> Iterator[None]:
        """Calls made in this block (by this thread or asyncio task) send ``value`` as
        their ``x-request-id``, so the server's log lines carry it. ValueError unless it
        is 1 to 128 visible ASCII characters (the server would replace it).

        >>> with client.request_id("checkout-42"):
        ...     client.encode("hello")
        """
        if not 0 < len(value) <= MAX_REQUEST_ID_CHARS or not all("!" <= c <= "~" for c in value):
            raise ValueError(
                f"request_id: must be 1 to {MAX_REQUEST_ID_CHARS} visible ASCII characters "
                f"(no spaces), got {value[:40]!r}{'...' if len(value) > 40 else ''}"
            )
        token = self._request_id.set(value)
        try:
            yield
        finally:
            self._request_id.reset(token)

    def _call_metadata(
        self, metadata: Sequence[tuple[str, str]]
    ) -> Sequence[tuple[str, str]] | None:
        """The metadata a call sends: `metadata`, and the request id when one is set."""
        request_id = self._request_id.get()
        if request_id is not None:
            metadata = (*metadata, (REQUEST_ID, request_id))
        return tuple(metadata) or None

    def _deadline(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r}, timeout={self.timeout!r})"


class DocumentScroll(Generic[ChannelT]):
    """Every document of a Scroll, in id order, fetched a page (one RPC) at a time as the
    iteration goes: ``for`` over one from :meth:`Client.scroll`, ``async for`` over one
    from ``AsyncClient.scroll``. Each iteration starts again from the first page.

    Typed by the client's channel, so that one source serves both clients (the asyncio
    client is generated from the blocking one): ``DocumentScroll[grpc.Channel]`` is an
    iterable, ``DocumentScroll[grpc.aio.Channel]`` an async iterable.
    """

    def __init__(self, fetch: Callable[..., Any]) -> None:
        # fetch(page_token=...) -> ScrollResult (blocking), or an awaitable of one (asyncio)
        self._fetch = fetch

    def __iter__(self: DocumentScroll[grpc.Channel]) -> Iterator[Document]:
        token = ""
        while True:
            page: ScrollResult = self._fetch(page_token=token)
            yield from page.documents
            token = page.next_page_token
            if not token:
                return

    async def __aiter__(self: DocumentScroll[grpc.aio.Channel]) -> AsyncIterator[Document]:
        token = ""
        while True:
            page: ScrollResult = await self._fetch(page_token=token)
            for document in page.documents:
                yield document
            token = page.next_page_token
            if not token:
                return
