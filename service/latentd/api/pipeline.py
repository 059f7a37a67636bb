"""The latent.v1 handlers behind the server's interceptors, callable without gRPC's
transport: the gRPC server and the HTTP twin (latentd/http) run every call through the
same chain, so keys, admission, metrics, logs and the error mapping are one code path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc


@dataclass
class CallDetails:
    """grpc.HandlerCallDetails for a call that did not arrive over gRPC."""

    method: str  # "/latent.v1.Service/Method"
    invocation_metadata: tuple[tuple[str, str | bytes], ...]


class HandlerCollector:
    """Stands in for a grpc.Server in the generated `add_*Servicer_to_server` functions,
    keeping the generic handlers they register."""

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler] = []
        self.registered: list[tuple[str, dict[str, grpc.RpcMethodHandler]]] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self.registered.append((service, handlers))

    def register_with(self, server: grpc.Server) -> None:
        """What the generated functions would have done to `server`."""
        server.add_generic_rpc_handlers(self.handlers)
        for service, handlers in self.registered:
            server.add_registered_method_handlers(service, handlers)


class Pipeline:
    """The interceptors (outermost first) and the servicers' handlers of one server."""

    def __init__(
        self,
        interceptors: Sequence[grpc.ServerInterceptor],
        handlers: Sequence[grpc.GenericRpcHandler],
    ) -> None:
        self.interceptors = tuple(interceptors)
        self.handlers = tuple(handlers)

    def handler(
        self, method: str, metadata: Sequence[tuple[str, str | bytes]] = ()
    ) -> grpc.RpcMethodHandler | None:
        """The handler of `method` as the gRPC server would run it for a call with
        `metadata`: wrapped by every interceptor, in order (None: no such method)."""
        return self._through(0, CallDetails(method, tuple(metadata)))

    def _through(
        self, position: int, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        if position == len(self.interceptors):
            for generic in self.handlers:
                found = generic.service(details)
                if found is not None:
                    return found
            return None
        return self.interceptors[position].intercept_service(
            lambda inner: self._through(position + 1, inner), details
        )
