"""One unary call, blocking or asyncio, with what its trailing metadata tells: the request
id and the server's timing (:class:`latent.CallInfo`).

``Client._call`` uses :func:`unary`; the generated ``AsyncClient._call`` uses
:func:`unary_async` in its place (``clients/python/tools/generate_async_client.py``).
The server sends the keys below with every latent.v1 call (service/latentd/api/observing.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from latent.types import CallInfo

REQUEST_ID = "x-request-id"
TOTAL_TIME = "x-total-time"
QUEUE_TIME = "x-queue-time"
INFERENCE_TIME = "x-inference-time"
# The server keeps a caller's id of 1 to 128 visible ASCII characters, else makes one.
MAX_REQUEST_ID_CHARS = 128


def unary(rpc: Any, request: Any, **kwargs: Any) -> tuple[Any, CallInfo]:
    """The response of a blocking unary call and its CallInfo; raises grpc.RpcError."""
    response, call = rpc.with_call(request, **kwargs)
    return response, call_info(call.trailing_metadata())


async def unary_async(rpc: Any, request: Any, **kwargs: Any) -> tuple[Any, CallInfo]:
    """The same over grpc.aio, whose calls have no ``with_call``."""
    call = rpc(request, **kwargs)
    response = await call
    return response, call_info(await call.trailing_metadata())


def failed_call_info(error: BaseException) -> CallInfo:
    """The CallInfo of a failed call: grpc's errors are calls too (blocking and aio)."""
    trailing = getattr(error, "trailing_metadata", None)
    return call_info(trailing() if callable(trailing) else None)


def call_info(metadata: Iterable[Any] | None) -> CallInfo:
    values: dict[str, str] = {}
    for key, value in metadata or ():
        if isinstance(value, str):
            values.setdefault(key, value)
    return CallInfo(
        request_id=values.get(REQUEST_ID),
        total_ms=_number(values.get(TOTAL_TIME)),
        queue_ms=_number(values.get(QUEUE_TIME)),
        inference_ms=_number(values.get(INFERENCE_TIME)),
    )


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
