"""Server bootstrap: servicers, the standard health service and reflection.

The server listens before the models load: health says NOT_SERVING and the model
services answer UNAVAILABLE ("latentd is loading models") until the registry is ready,
so clients and orchestrators can tell a starting server from a missing one."""

from __future__ import annotations

import errno
import socket
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api.errors import ErrorInterceptor
from latentd.api.servicers import (
    ArithmeticServicer,
    CollectionsServicer,
    DirectionsServicer,
    EmbeddingsServicer,
    ModelsServicer,
)
from latentd.core.limits import Limits
from latentd.core.registry import Registry

SERVICE_NAMES = tuple(
    pb.DESCRIPTOR.services_by_name[name].full_name
    for name in ("Models", "Embeddings", "Arithmetic", "Collections", "Directions")
)


class PortUnavailable(OSError):
    """The address cannot be listened on; the message says what to do."""


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer

    def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, status)

    def stop(self, grace: float | None) -> None:
        # Health first, so that balancers stop sending before the port closes.
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def check_port_free(host: str, port: int) -> None:
    """Fail fast, with one line, when another process holds the port: grpc-core would
    report it only as a raw log line and a RuntimeError."""
    if port == 0:
        return
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(
            f"cannot listen on {host}:{port}: {exc.strerror}; set --host "
            "(env LATENT_HOST) to an address of this machine"
        ) from None
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            # As grpc does: a port left in TIME_WAIT by a stopped server is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise PortUnavailable(_port_problem(host, port, exc)) from None


def _port_problem(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is in use by another process; choose another with "
            "--port (env LATENT_PORT), or stop the other latentd"
        )
    if exc.errno == errno.EACCES:
        return (
            f"no permission to listen on port {port} on {host}; choose a port above "
            "1023 with --port (env LATENT_PORT)"
        )
    return (
        f"cannot listen on {host}:{port}: {exc.strerror}; check --host and --port "
        "(env LATENT_HOST, LATENT_PORT)"
    )


def create_server(
    registry: Registry,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int = 64,
    max_message_bytes: int = 64 * 1024 * 1024,
    limits: Limits | None = None,
) -> RunningServer:
    """A started server on host:port (port 0: a free one). Health reports SERVING once
    the registry is ready (at once for a registry that is not loading); until then
    NOT_SERVING, and call `set_serving(True)` when it is."""
    check_port_free(host, port)
    limits = limits or Limits()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc"),
        interceptors=[ErrorInterceptor()],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    pb_grpc.add_ModelsServicer_to_server(ModelsServicer(registry), server)
    pb_grpc.add_EmbeddingsServicer_to_server(EmbeddingsServicer(registry, limits), server)
    pb_grpc.add_ArithmeticServicer_to_server(ArithmeticServicer(registry, limits), server)
    pb_grpc.add_CollectionsServicer_to_server(CollectionsServicer(registry, limits), server)
    pb_grpc.add_DirectionsServicer_to_server(DirectionsServicer(registry, limits), server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:  # lost a race for the port after the check
        bound = 0
    if bound == 0:
        raise PortUnavailable(_port_problem(host, port, OSError(errno.EADDRINUSE, "in use")))
    running = RunningServer(server, bound, health_servicer)
    running.set_serving(not registry.loading)
    server.start()
    return running
