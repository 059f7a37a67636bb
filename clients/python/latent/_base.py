"""What ``Client`` and the generated ``AsyncClient`` share: the stubs over a channel,
the default deadline and ``wait_for_ready``. Everything that differs between blocking
and asyncio calls lives in ``client.py`` (and, generated from it, ``async_client.py``).
"""

from __future__ import annotations

from typing import Generic, TypeVar

import grpc
import grpc.aio

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

    def _deadline(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target!r}, timeout={self.timeout!r})"
