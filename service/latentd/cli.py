"""The `latentd` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from latentd import __version__
from latentd.config import ConfigError, Settings, add_arguments, load_settings
from latentd.logs import configure_logging

if TYPE_CHECKING:  # the server's modules load grpc; `latentd --help` stays fast
    from latentd.api.server import RunningServer

log = logging.getLogger("latentd")

SIGNAL_POLL_S = 0.2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="latentd", description="The Latent gRPC server.")
    parser.add_argument("--version", action="version", version=f"latentd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve",
        help="serve the models over gRPC",
        description="Load the models and serve them over gRPC. Every flag has a LATENT_* "
        "environment twin; flags win over the environment, which wins over "
        "--config.",
    )
    add_arguments(serve_parser)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args)
    except ConfigError as exc:
        message = " ".join(str(exc).splitlines())
        parser.exit(2, f"latentd: error: {message}\n")
    status = serve(settings)
    # Everything is stopped and flushed (collections closed, data directory released):
    # leave without finalising the interpreter, which took seconds more with torch and
    # transformers loaded.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def serve(settings: Settings) -> int:
    """Listen, load the models, serve until SIGTERM or SIGINT, stop gracefully.

    The port is taken first (a taken port fails in under a second), health answers
    NOT_SERVING while the models load, and one line "latentd VERSION serving on HOST:PORT
    [and http://HOST:HTTP_PORT] ..." goes to stdout once every model answers; logs go
    to stderr. Returns the exit status: 0 after a signal, 1 when the models, the port or
    the data directory cannot be had."""
    configure_logging(settings.log_level, settings.log_format)
    from latentd.api.server import create_server
    from latentd.app import build_registry
    from latentd.core.data_dir_lock import lock_data_dir
    from latentd.core.errors import LatentError
    from latentd.core.loaders import ModelLoadError
    from latentd.core.registry import Registry
    from latentd.malloc import start_trimmer, tune_malloc
    from latentd.security import key_ring, log_security, reload_keys_on_sighup, tls_files

    stop = threading.Event()
    serving = False

    def on_signal(signum: int, frame: object) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()
        if not serving:
            # Still loading: nothing to drain, so leave now (no KeyboardInterrupt trace).
            raise SystemExit(0)

    # Before anything is announced: a client that reads the "serving on" line and sends
    # SIGTERM at once must get a graceful stop, not the default action.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tuned = tune_malloc()  # before the worker threads allocate
    if tuned:
        log.debug("malloc: %s set", ", ".join(tuned))
    start_trimmer()
    started = time.perf_counter()
    registry = Registry(loading=True)
    running: RunningServer | None = None
    try:
        data_lock = lock_data_dir(settings.data_dir)  # held until the process exits
        keys, tls = key_ring(settings), tls_files(settings)
        reload_keys_on_sighup(keys)
        running = create_server(
            registry,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            max_concurrent_rpcs=settings.max_concurrent_rpcs,
            max_message_bytes=settings.max_message_mb * 1024 * 1024,
            limits=settings.limits,
            keys=keys,
            tls=tls,
        )
        log_security(keys, tls, settings.host)
        if settings.metrics_port is not None:
            metrics_port = running.start_metrics(settings.host, settings.metrics_port)
            log.info("metrics on http://%s:%d/metrics", settings.host, metrics_port)
        http_url = ""
        if settings.http_port is not None:
            http_port = running.start_http(
                settings.host, settings.http_port, with_metrics=settings.metrics_port is not None
            )
            scheme = "https" if tls is not None else "http"
            http_url = f"{scheme}://{settings.host}:{http_port}"
            log.info("HTTP/JSON API and the Explorer on %s/ (health: /health)", http_url)
        log.info(
            "listening on %s:%d; loading models (health: NOT_SERVING)", settings.host, running.port
        )
        build_registry(settings, registry=registry)
    except (ModelLoadError, LatentError, OSError) as exc:  # DataLoss, Milvus unreachable
        return _failed(running, f"latentd: error: {exc}")
    except Exception as exc:  # anything else a model load can raise
        log.debug("startup failed", exc_info=True)
        return _failed(running, f"latentd: error: cannot start: {type(exc).__name__}: {exc}")
    except BaseException:  # SystemExit from a signal while loading
        if running is not None:
            running.stop(grace=None)
        raise
    assert running is not None
    running.set_serving(True)
    serving = True
    models = ", ".join(f"{s.name} ({s.kind}, {s.dimension}d)" for s in registry.spaces())
    also = f" and {http_url}" if http_url else ""
    print(
        f"latentd {__version__} serving on {settings.host}:{running.port}{also} in "
        f"{time.perf_counter() - started:.1f}s: {models}",
        flush=True,
    )
    # A signal may land on any thread; Python runs its handler on the main thread at the
    # next bytecode, which a main thread blocked in an endless wait never reaches. Waking
    # up now and then runs SIGTERM and SIGHUP handlers within a fraction of a second.
    while not stop.wait(SIGNAL_POLL_S):
        pass
    running.stop(grace=settings.grace)  # the calls in flight finish or are cancelled
    registry.close()  # snapshots; the models' threads
    data_lock.release()
    log.info("stopped")
    return 0


def _failed(running: RunningServer | None, line: str) -> int:
    if running is not None:
        running.stop(grace=None)
    print(" ".join(line.splitlines()), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
