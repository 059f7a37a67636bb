"""The RPC routes, derived from the proto descriptors: a new RPC in latent.proto is on
HTTP with no code here."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from latent.v1 import latent_pb2 as pb

PREFIX = "/v1"


@dataclass(frozen=True)
class RpcRoute:
    path: str  # "/v1/Arithmetic/Analogy"
    method: str  # "/latent.v1.Arithmetic/Analogy", as gRPC names it
    service: str  # "Arithmetic"
    name: str  # "Analogy"
    request_type: type[Message]
    response_type: type[Message]
    descriptor: MethodDescriptor


def rpc_routes() -> list[RpcRoute]:
    """Every unary RPC of every latent.v1 service, in the proto's order."""
    routes = []
    for service in pb.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                continue  # none so far; they would need a streaming body
            routes.append(
                RpcRoute(
                    path=f"{PREFIX}/{service.name}/{method.name}",
                    method=f"/{service.full_name}/{method.name}",
                    service=service.name,
                    name=method.name,
                    request_type=GetMessageClass(method.input_type),
                    response_type=GetMessageClass(method.output_type),
                    descriptor=method,
                )
            )
    return routes
