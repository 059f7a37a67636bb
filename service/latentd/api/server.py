"""Server bootstrap: servicers, the standard health service and reflection."""

from __future__ import annotations

from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api.servicers import ArithmeticServicer, EmbeddingsServicer, ModelsServicer
from latentd.config import Settings
from latentd.core.registry import Registry

SERVICE_NAMES = tuple(
    pb.DESCRIPTOR.services_by_name[name].full_name
    for name in ("Models", "Embeddings", "Arithmetic")
)


def create_server(registry: Registry, settings: Settings) -> tuple[grpc.Server, int]:
    """A started server on settings.host:settings.port (port 0: a free one); returns it and
    the bound port. Health reports SERVING for every service: the registry is loaded."""
    size = settings.max_message_mb * 1024 * 1024
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="rpc"),
        options=[("grpc.max_receive_message_length", size),
                 ("grpc.max_send_message_length", size),
                 ("grpc.so_reuseport", 0)],
    )
    pb_grpc.add_ModelsServicer_to_server(ModelsServicer(registry), server)
    pb_grpc.add_EmbeddingsServicer_to_server(EmbeddingsServicer(registry, settings.limits),
                                             server)
    pb_grpc.add_ArithmeticServicer_to_server(ArithmeticServicer(registry, settings.limits),
                                             server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME), server)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    port = server.add_insecure_port(f"{host}:{settings.port}")
    if port == 0:
        raise OSError(f"cannot listen on {settings.host}:{settings.port} (in use?)")
    server.start()
    return server, port
