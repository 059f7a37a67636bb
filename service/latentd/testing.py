"""Helpers for tests, benchmarks and examples: a real server in this process on a free
port, and `latentd serve` as a child process (its command, its environment, its one
'serving on' line, its health, waiting for its HNSW index, stopping it).

Importing this module loads no model library (torch, transformers, gensim): a caller may
call use_offline_env() after importing it and before anything imports transformers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import grpc

    from latentd.api.server import RunningServer
    from latentd.config import Settings

T = TypeVar("T")

# No model hub is ever contacted; hnswlib is compiled for any x86-64, not this CPU.
OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HNSWLIB_NO_NATIVE": "1",
}
SERVING_LINE = re.compile(r"serving on ([\d.]+):(\d+)\b")
HTTP_URL = re.compile(r" and (https?://[\w.:\[\]-]+)")


# -- in this process -----------------------------------------------------------------------


@contextmanager
def start_test_server(
    kv: Any,
    cache_dir: Path | None = None,
    *,
    name: str = "tiny",
    sentence_model: bool = True,
    settings: Settings | None = None,
    data_dir: Path | None = None,
) -> Iterator[str]:
    """Serve gensim KeyedVectors `kv` as the word space `name` (HNSW index built before the
    server starts), unless told otherwise the default sentence model, and collections
    under `data_dir` (default: a temporary directory, removed afterwards), and metrics on
    `settings.metrics_port` if set. API keys and TLS come from `settings`, as for
    `latentd serve`. Yields the target "127.0.0.1:PORT"."""
    with _running_test_server(kv, cache_dir, name, sentence_model, settings, data_dir) as running:
        yield f"127.0.0.1:{running.port}"


@contextmanager
def start_test_http_server(
    kv: Any,
    cache_dir: Path | None = None,
    *,
    name: str = "tiny",
    sentence_model: bool = True,
    settings: Settings | None = None,
    data_dir: Path | None = None,
) -> Iterator[tuple[str, str]]:
    """As start_test_server, with the HTTP twin on a free port too (GET /metrics when
    `settings.metrics_port` is set). Yields ("127.0.0.1:PORT", "http://127.0.0.1:PORT"),
    https with TLS settings."""
    with _running_test_server(kv, cache_dir, name, sentence_model, settings, data_dir) as running:
        with_metrics = settings is not None and settings.metrics_port is not None
        http_port = running.start_http("127.0.0.1", 0, with_metrics=with_metrics)
        scheme = "https" if running.tls is not None else "http"
        yield f"127.0.0.1:{running.port}", f"{scheme}://127.0.0.1:{http_port}"


@contextmanager
def _running_test_server(
    kv: Any,
    cache_dir: Path | None,
    name: str,
    sentence_model: bool,
    settings: Settings | None,
    data_dir: Path | None,
) -> Iterator[RunningServer]:
    import tempfile

    from latentd.api.server import create_server
    from latentd.app import default_sentence_dir, define_config_directions
    from latentd.config import DEFAULT_SENTENCE_MODEL, Settings
    from latentd.core.collection_backends import MilvusParams
    from latentd.core.collections import Collections
    from latentd.core.direction_book import DirectionBook
    from latentd.core.index import HnswParams
    from latentd.core.registry import Registry
    from latentd.core.sentence_model import SentenceModel
    from latentd.core.word_space import WordSpace
    from latentd.security import key_ring, tls_files

    settings = settings or Settings()
    registry = Registry()
    space = WordSpace(name, list(kv.index_to_key), kv.vectors, source="test")
    space.start_index(HnswParams(m=16, ef_construction=100, ef=64), cache_dir, background=False)
    registry.add(space, default=True)
    if sentence_model:
        model = SentenceModel(
            DEFAULT_SENTENCE_MODEL, default_sentence_dir(), batching=settings.batch
        )
        registry.add(model, default=True)
    temporary = tempfile.TemporaryDirectory(prefix="latent-data-")
    registry.collections = Collections(
        data_dir or Path(temporary.name),
        registry.model,
        backend=settings.collections_backend,
        milvus=MilvusParams(settings.milvus_uri, settings.milvus_token),
    )
    registry.collections.open_all()
    registry.directions = DirectionBook(data_dir or Path(temporary.name))
    registry.collections.on_delete = registry.directions.forget_space
    define_config_directions(registry, settings)
    running = create_server(
        registry,
        host="127.0.0.1",
        port=0,
        workers=settings.workers,
        max_concurrent_rpcs=settings.max_concurrent_rpcs,
        max_message_bytes=settings.max_message_mb * 1024 * 1024,
        limits=settings.limits,
        keys=key_ring(settings),
        tls=tls_files(settings),
    )
    if settings.metrics_port is not None:  # give a free_port(): 0 would not be known here
        running.start_metrics("127.0.0.1", settings.metrics_port)
    try:
        yield running
    finally:
        running.stop(grace=None)
        registry.collections.close()
        temporary.cleanup()


def use_offline_env() -> None:
    """Put OFFLINE_ENV into this process's environment where not set already. Call it
    before anything imports transformers or huggingface_hub (they read it on import)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


# -- `latentd serve` as a child process ----------------------------------------------------


def latentd_command() -> list[str]:
    """The `latentd` command: the script next to this Python, else the one on PATH, else
    this Python running latentd.cli."""
    script = Path(sys.executable).parent / "latentd"
    if script.exists():
        return [str(script)]
    found = shutil.which("latentd")
    return [found] if found else [sys.executable, "-m", "latentd.cli"]


def child_env(*, drop_latent: bool = False, **extra: str) -> dict[str, str]:
    """The environment for a child latentd (or a Python loading its models): this
    process's, with OFFLINE_ENV over it, without the LATENT_* variables if drop_latent,
    and `extra` last."""
    env = {k: v for k, v in os.environ.items() if not (drop_latent and k.startswith("LATENT_"))}
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_serving_line(process: subprocess.Popen[str], timeout: float) -> str:
    """latentd's first line on stdout ('latentd VERSION serving on HOST:PORT ...'), read
    within `timeout` seconds. RuntimeError when stdout closes before a line (the process
    exited), TimeoutError when no line comes in time; the process is left running."""
    stdout = process.stdout
    if stdout is None:
        raise ValueError("the process was started without stdout=subprocess.PIPE")
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=timeout)
    if not first:
        raise TimeoutError(f"latentd printed no line within {timeout:.0f}s")
    if not first[0]:
        raise RuntimeError(f"latentd exited with {process.poll()} before its serving line")
    return first[0]


def serving_port(line: str) -> int:
    """The port of a 'serving on HOST:PORT' line; ValueError when the line has none."""
    found = SERVING_LINE.search(line)
    if not found:
        raise ValueError(f"no 'serving on HOST:PORT' in {line!r}")
    return int(found.group(2))


def serving_http_url(line: str) -> str:
    """The HTTP twin's base URL ("http://HOST:PORT") of a serving line; ValueError when the
    server was started without --http-port."""
    found = HTTP_URL.search(line)
    if not found:
        raise ValueError(f"no ' and http://HOST:PORT' in {line!r}")
    return found.group(1)


def stop_process(process: subprocess.Popen[Any], timeout: float = 30.0) -> int:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds; its
    exit status."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=timeout)


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    interval: float = 0.1,
    process: subprocess.Popen[Any] | None = None,
) -> float | None:
    """Poll until predicate() is true; the seconds waited, or None on timeout.
    RuntimeError as soon as `process`, if given, has exited."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate():
            return time.perf_counter() - start
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"latentd exited with {process.returncode} (see its log)")
        time.sleep(interval)
    return None


def answer_or_none(target: str, call: Callable[[grpc.Channel], T]) -> T | None:
    """call(channel) on a fresh channel to `target`; None when the RPC fails (nothing
    listens yet, the server is gone, a deadline passed)."""
    import grpc

    with grpc.insecure_channel(target) as channel:
        try:
            return call(channel)
        except grpc.RpcError:
            return None


def health_status(target: str, timeout: float = 2.0) -> int | None:
    """The grpc.health.v1 status of the server ('' service), or None when it does not
    answer."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    def check(channel: grpc.Channel) -> int:
        stub: Any = health_pb2_grpc.HealthStub(channel)  # its stubs declare no Check
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout).status)

    return answer_or_none(target, check)


def index_state(target: str, space: str | None = None, timeout: float = 5.0) -> int | None:
    """The latent.v1.IndexState of the model `space` (the first model listed when None)
    from ListModels; None when the server does not answer or lists no such model."""
    from latent.v1 import latent_pb2, latent_pb2_grpc

    def state(channel: grpc.Channel) -> int | None:
        reply = latent_pb2_grpc.ModelsStub(channel).ListModels(
            latent_pb2.ListModelsRequest(), timeout=timeout
        )
        return next(
            (
                int(model.index_state)
                for model in reply.models
                if space is None or model.name == space
            ),
            None,
        )

    return answer_or_none(target, state)


def wait_for_hnsw(
    target: str,
    space: str | None = None,
    *,
    timeout: float,
    interval: float = 0.25,
    process: subprocess.Popen[Any] | None = None,
) -> float | None:
    """Poll ListModels until the index of `space` (the first model when None) is HNSW;
    the seconds waited, or None on timeout."""
    from latent.v1 import latent_pb2

    hnsw = int(latent_pb2.HNSW)
    return wait_for(lambda: index_state(target, space) == hnsw, timeout, interval, process)
