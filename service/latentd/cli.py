"""The `latentd` command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from latentd import __version__
from latentd.config import ConfigError, Settings, add_arguments, load_settings

if TYPE_CHECKING:  # the server's modules load grpc; `latentd --help` stays fast
    from latentd.api.server import RunningServer

log = logging.getLogger("latentd")


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
    return serve(settings)


def serve(settings: Settings) -> int:
    """Listen, load the models, serve until SIGTERM or SIGINT, stop gracefully.

    The port is taken first (a taken port fails in under a second), health answers
    NOT_SERVING while the models load, and one line "latentd VERSION serving on HOST:PORT
    ..." goes to stdout once every model answers; logs go to stderr. Returns the exit
    status: 0 after a signal, 1 when the models or the port cannot be had."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from latentd.api.server import create_server
    from latentd.app import build_registry
    from latentd.core.loaders import ModelLoadError
    from latentd.core.registry import Registry
    from latentd.malloc import start_trimmer, tune_malloc

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
        running = create_server(
            registry,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            max_message_bytes=settings.max_message_mb * 1024 * 1024,
            limits=settings.limits,
        )
        log.info(
            "listening on %s:%d; loading models (health: NOT_SERVING)", settings.host, running.port
        )
        build_registry(settings, registry=registry)
    except (ModelLoadError, OSError) as exc:
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
    print(
        f"latentd {__version__} serving on {settings.host}:{running.port} in "
        f"{time.perf_counter() - started:.1f}s: {models}",
        flush=True,
    )
    stop.wait()
    running.stop(grace=5)
    if registry.collections is not None:
        registry.collections.close()  # snapshots, so the next start replays little
    log.info("stopped")
    return 0


def _failed(running: RunningServer | None, line: str) -> int:
    if running is not None:
        running.stop(grace=None)
    print(" ".join(line.splitlines()), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
