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

from latentd import __version__
from latentd.config import ConfigError, Settings, add_arguments, load_settings

log = logging.getLogger("latentd")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="latentd", description="The Latent gRPC server.")
    parser.add_argument("--version", action="version", version=f"latentd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve", help="serve the models over gRPC",
        description="Load the models and serve them over gRPC. Every flag has a LATENT_* "
                    "environment twin; flags win over the environment, which wins over "
                    "--config.")
    add_arguments(serve_parser)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args)
    except ConfigError as exc:
        message = " ".join(str(exc).splitlines())
        parser.exit(2, f"latentd: error: {message}\n")
    return serve(settings)


def serve(settings: Settings) -> int:
    """Load the models, serve until SIGTERM or SIGINT, stop gracefully. Prints one line
    "latentd VERSION serving on HOST:PORT ..." on stdout once the server answers; logs go
    to stderr. Returns the exit status: 0 after a signal, 1 when the models or the port
    cannot be had."""
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Never reach a model hub: every model is local.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from latentd.api.server import create_server
    from latentd.app import build_registry
    from latentd.core.loaders import ModelLoadError

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

    started = time.perf_counter()
    try:
        registry = build_registry(settings)
        server, port = create_server(registry, settings)
    except (ModelLoadError, OSError) as exc:
        print(f"latentd: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. a sentence model directory that does not load
        log.debug("startup failed", exc_info=True)
        print(f"latentd: error: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    serving = True
    models = ", ".join(f"{s.name} ({s.kind}, {s.dimension}d)" for s in registry)
    print(f"latentd {__version__} serving on {settings.host}:{port} in "
          f"{time.perf_counter() - started:.1f}s: {models}", flush=True)
    stop.wait()
    server.stop(grace=5).wait()
    log.info("stopped")
    return 0

if __name__ == "__main__":
    sys.exit(main())
