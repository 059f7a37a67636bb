"""The HTTP twin's server: uvicorn on a thread of its own, beside the gRPC server, in
the same process (one copy of every model). It listens on a socket bound here, so that
a taken port fails the start with one line and port 0 gives a known free port."""

from __future__ import annotations

import errno
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import uvicorn

from latentd.api.auth import KeyRing
from latentd.api.metrics import ServerMetrics
from latentd.api.pipeline import Pipeline
from latentd.api.tls import TlsFiles
from latentd.http.app import HttpServing, create_app

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


class HttpPortUnavailable(OSError):
    """The HTTP port cannot be listened on; the message says what to do."""


@dataclass
class HttpServer:
    server: uvicorn.Server
    thread: threading.Thread
    port: int
    state: HttpServing

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the calls still running (their work stops at its next checkpoint) and
        close the port once they have answered."""
        self.state.stopping.set()
        self.server.should_exit = True
        self.thread.join(timeout)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            problem = "is in use by another process"
        elif exc.errno == errno.EACCES:
            problem = "needs a permission this process lacks (ports below 1024)"
        else:
            problem = f"cannot be listened on: {exc.strerror or exc}"
        raise HttpPortUnavailable(
            f"http port {port} on {host} {problem}; choose another with --http-port "
            "(env LATENT_HTTP_PORT)"
        ) from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def start_http_server(
    pipeline: Pipeline,
    *,
    host: str,
    port: int,
    serving: Callable[[], bool],
    threads: int,
    max_body_bytes: int,
    keys: KeyRing | None = None,
    metrics: ServerMetrics | None = None,
    tls: TlsFiles | None = None,
) -> HttpServer:
    """Serve the HTTP twin on host:port (0: a free one), calls on at most `threads`
    worker threads, HTTPS with `tls` (client certificates required with its client CA)."""
    sock = bind(host, port)
    state = HttpServing(
        pipeline,
        serving,
        threading.Event(),
        anyio.CapacityLimiter(threads),
        max_body_bytes,
        keys=keys if keys is not None and keys.enabled else None,
        metrics=metrics,
        started=int(time.time()),
    )
    config = uvicorn.Config(
        create_app(state),
        log_config=None,  # latentd's logging: text or JSON on stderr
        access_log=False,  # api/observing.py logs every call, HTTP or gRPC, once
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
        ssl_ca_certs=str(tls.client_ca) if tls and tls.client_ca else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if tls and tls.client_ca else ssl.CERT_NONE,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="http", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise HttpPortUnavailable(f"the HTTP server on {host}:{port} did not start")
        time.sleep(0.01)
    bound = int(sock.getsockname()[1])
    return HttpServer(server, thread, bound, state)
