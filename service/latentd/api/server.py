"""Server bootstrap: servicers, the standard health service and reflection.

The server listens before the models load: health says NOT_SERVING and the model
services answer UNAVAILABLE ("latentd is loading models") until the registry is ready,
so clients and orchestrators can tell a starting server from a missing one."""

from __future__ import annotations

import errno
import logging
import socket
from concurrent import futures
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc
from latentd.api.admission import AdmissionInterceptor, pool_size
from latentd.api.auth import AuthInterceptor, KeyRing
from latentd.api.errors import ErrorInterceptor
from latentd.api.metrics import MetricsEndpoint, ServerMetrics, start_metrics_endpoint
from latentd.api.observing import ObservingInterceptor
from latentd.api.pipeline import HandlerCollector, Pipeline
from latentd.api.servicers import (
    ArithmeticServicer,
    CollectionsServicer,
    DirectionsServicer,
    EmbeddingsServicer,
    ModelsServicer,
)
from latentd.api.tls import TlsFiles, server_credentials
from latentd.core.limits import Limits
from latentd.core.registry import Registry

if TYPE_CHECKING:
    from latentd.http.server import HttpServer

SERVICE_NAMES = tuple(
    pb.DESCRIPTOR.services_by_name[name].full_name
    for name in ("Models", "Embeddings", "Arithmetic", "Collections", "Directions")
)


log = logging.getLogger(__name__)

# After the grace, how long the stop waits for cancelled calls to reach a checkpoint.
STOP_WAIT_S = 5.0


class PortUnavailable(OSError):
    """The address cannot be listened on; the message says what to do."""


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    admission: AdmissionInterceptor
    metrics: ServerMetrics
    pipeline: Pipeline
    keys: KeyRing | None = None
    tls: TlsFiles | None = None
    max_message_bytes: int = 64 * 1024 * 1024
    metrics_endpoint: MetricsEndpoint | None = None
    http: HttpServer | None = None
    serving: bool = False

    def start_metrics(self, host: str, port: int) -> int:
        """Serve Prometheus metrics over HTTP on host:port (0: any free port); the port."""
        self.metrics_endpoint = start_metrics_endpoint(self.metrics, host, port)
        return self.metrics_endpoint.port

    def start_http(self, host: str, port: int, with_metrics: bool = False) -> int:
        """Serve the HTTP twin (latentd/http) on host:port (0: any free port), through
        this server's pipeline, keys and TLS; `with_metrics`: GET /metrics too. The port."""
        from latentd.http.server import start_http_server  # FastAPI loads only when asked

        self.http = start_http_server(
            self.pipeline,
            host=host,
            port=port,
            serving=lambda: self.serving,
            threads=pool_size(self.admission.limit, self.admission.limit),
            max_body_bytes=self.max_message_bytes,
            keys=self.keys,
            metrics=self.metrics if with_metrics else None,
            tls=self.tls,
        )
        return self.http.port

    def set_serving(self, serving: bool) -> None:
        self.serving = serving
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, status)

    def stop(self, grace: float | None) -> None:
        """Health NOT_SERVING and new calls UNAVAILABLE at once (the port stays open, so
        balancers see it); the calls in progress get `grace` seconds (None: none), then
        gRPC cancels the rest, whose work stops at its next checkpoint."""
        self.serving = False
        self.health.enter_graceful_shutdown()
        self.admission.close()
        if grace:
            self.admission.wait_idle(grace)
        if self.http is not None:
            self.http.stop()
        self.server.stop(None).wait()
        if not self.admission.wait_idle(STOP_WAIT_S):
            log.warning(
                "%d calls still running %.0fs after they were cancelled",
                self.admission.in_progress,
                STOP_WAIT_S,
            )
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()


def servicer_handlers(registry: Registry, limits: Limits) -> HandlerCollector:
    """The handlers of every latent.v1 service, as the generated code builds them."""
    collector = HandlerCollector()
    pb_grpc.add_ModelsServicer_to_server(ModelsServicer(registry), collector)
    pb_grpc.add_EmbeddingsServicer_to_server(EmbeddingsServicer(registry, limits), collector)
    pb_grpc.add_ArithmeticServicer_to_server(ArithmeticServicer(registry, limits), collector)
    pb_grpc.add_CollectionsServicer_to_server(CollectionsServicer(registry, limits), collector)
    pb_grpc.add_DirectionsServicer_to_server(DirectionsServicer(registry, limits), collector)
    return collector


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
    max_concurrent_rpcs: int = 0,
    max_message_bytes: int = 64 * 1024 * 1024,
    limits: Limits | None = None,
    keys: KeyRing | None = None,
    tls: TlsFiles | None = None,
) -> RunningServer:
    """A started server on host:port (port 0: a free one). Health reports SERVING once
    the registry is ready (at once for a registry that is not loading); until then
    NOT_SERVING, and call `set_serving(True)` when it is. At most `max_concurrent_rpcs`
    latent.v1 calls run at once (0: `workers`; api/admission.py). `keys`: calls need an
    API key (api/auth.py); `tls`: TLS, mutual with a client CA (api/tls.py)."""
    check_port_free(host, port)
    credentials = server_credentials(tls) if tls is not None else None  # checks the files
    limits = limits or Limits()
    admission = AdmissionInterceptor(max_concurrent_rpcs or workers)
    metrics = ServerMetrics(registry)
    handlers = servicer_handlers(registry, limits)
    pipeline = Pipeline(
        [
            ObservingInterceptor(metrics),
            *([AuthInterceptor(keys)] if keys is not None and keys.enabled else []),
            admission,
            ErrorInterceptor(),
        ],
        handlers.handlers,
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=pool_size(workers, admission.limit), thread_name_prefix="rpc"
        ),
        interceptors=list(pipeline.interceptors),
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    handlers.register_with(server)
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
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
    except RuntimeError:  # lost a race for the port after the check
        bound = 0
    if bound == 0:
        raise PortUnavailable(_port_problem(host, port, OSError(errno.EADDRINUSE, "in use")))
    running = RunningServer(
        server, bound, health_servicer, admission, metrics, pipeline, keys, tls, max_message_bytes
    )
    running.set_serving(not registry.loading)
    server.start()
    return running
