"""The `latentd` command as a real process: help, config errors, serving a tiny word
model on a free port (health, ListModels), SIGTERM, and the on-disk index cache."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from latent.v1 import latent_pb2, latent_pb2_grpc
from latentd.testing import child_env, latentd_command, read_serving_line, wait_for_hnsw

DIM = 8
KEYS = ["king", "queen", "man", "woman", "cat", "dog", *[f"w{i}" for i in range(40)]]


def clean_env(tmp_path: Path) -> dict[str, str]:
    return child_env(
        drop_latent=True,
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        PYTHONUNBUFFERED="1",
    )


def run(args: list[str], tmp_path: Path, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*latentd_command(), *args],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from gensim.models import KeyedVectors

    rng = np.random.default_rng(11)
    kv = KeyedVectors(vector_size=DIM)
    kv.add_vectors(KEYS, rng.normal(0, 1, (len(KEYS), DIM)).astype(np.float32))
    path = tmp_path_factory.mktemp("model") / "tiny.txt"
    kv.save_word2vec_format(str(path), binary=False)
    return path


# -- help and errors ---------------------------------------------------------------------


def test_help_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    top = run(["--help"], tmp_path)
    assert top.returncode == 0, top.stderr
    assert "serve" in top.stdout
    serve = run(["serve", "--help"], tmp_path)
    assert serve.returncode == 0, serve.stderr
    # Heavy imports (torch, sentence-transformers, gensim) wait for a model to load.
    assert time.perf_counter() - started < 15
    text = " ".join(serve.stdout.split())  # argparse wraps lines anywhere
    for flag, twin in [
        ("--port", "LATENT_PORT"),
        ("--host", "LATENT_HOST"),
        ("--cache-dir", "LATENT_CACHE_DIR"),
        ("--config", "LATENT_CONFIG"),
        ("--no-default-models", "LATENT_DEFAULT_MODELS"),
        ("--allow-pickle", "LATENT_ALLOW_PICKLE"),
        ("--hnsw-m", "LATENT_HNSW_M"),
        ("--max-k", "LATENT_MAX_K"),
        ("--word-model", "LATENT_WORD_MODELS"),
        ("--sentence-model", "LATENT_SENTENCE_MODELS"),
    ]:
        assert flag in text
        assert f"env {twin}" in text
    # Every option line of the help names its twin.
    options = re.findall(r"^\s+(--[a-z-]+)", serve.stdout, re.MULTILINE)
    assert len(options) >= 20
    assert text.count("(env LATENT_") == len([o for o in options if o != "--help"])


def test_import_does_not_load_heavy_modules(tmp_path: Path) -> None:
    code = (
        "import sys, latentd.cli, latentd.config; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'gensim') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path),
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "[]"


def test_version(tmp_path: Path) -> None:
    done = run(["--version"], tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("latentd ")


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("port = 70000\ncolour = 'blue'\n", encoding="utf-8")
    done = run(["serve", "--config", str(bad)], tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("latentd: error: ") and "colour" in lines[0]
    assert done.stdout == ""

    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1\n[[\n", encoding="utf-8")
    done = run(["serve", "--config", str(broken)], tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_bad_env_exits_2(tmp_path: Path) -> None:
    env = {**clean_env(tmp_path), "LATENT_PORT": "fifty"}
    done = subprocess.run(
        [*latentd_command(), "serve"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("latentd: error: LATENT_PORT")


def test_missing_model_exits_1(tmp_path: Path) -> None:
    done = run(
        [
            "serve",
            "--no-default-models",
            "--port",
            "0",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--word-model",
            f"gone={tmp_path / 'gone.txt'}",
        ],
        tmp_path,
        timeout=60,
    )
    assert done.returncode == 1
    assert "'gone'" in done.stderr and "does not exist" in done.stderr
    assert "serving on" not in done.stdout


# -- serving -----------------------------------------------------------------------------


class Server:
    def __init__(self, process: subprocess.Popen, port: int, line: str) -> None:
        self.process = process
        self.port = port
        self.line = line
        self.target = f"127.0.0.1:{port}"


def start(tiny_model: Path, cache_dir: Path, tmp_path: Path, log: Path) -> Server:
    process = subprocess.Popen(
        [
            *latentd_command(),
            "serve",
            "--no-default-models",
            "--word-model",
            f"tiny={tiny_model}",
            "--port",
            "0",
            "--cache-dir",
            str(cache_dir),
            "--hnsw-m",
            "8",
            "--hnsw-ef-construction",
            "50",
            "--hnsw-build-threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=clean_env(tmp_path),
    )
    try:
        line = read_serving_line(process, timeout=120)
    except (TimeoutError, RuntimeError):
        process.kill()
        process.wait()
        raise AssertionError(f"no 'serving on' line; stderr:\n{log.read_text()}") from None
    found = re.search(r"serving on 127\.0\.0\.1:(\d+)\b", line)
    assert found, line
    return Server(process, int(found.group(1)), line)


def stop(server: Server, log: Path) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        raise AssertionError(
            f"no exit within 10 s of SIGTERM; stderr:\n{log.read_text()}"
        ) from None
    assert code == 0, log.read_text()
    assert server.process.stdout.read() == ""  # one line on stdout, no more


def wait_for_index(server: Server, models: latent_pb2_grpc.ModelsStub) -> latent_pb2.ModelInfo:
    """The one model's info once its index is HNSW, or after 60 s."""
    wait_for_hnsw(server.target, timeout=60, interval=0.1, process=server.process)
    (info,) = models.ListModels(latent_pb2.ListModelsRequest(), timeout=5).models
    return info


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """Servers started by a test; killed if the test leaves them running."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        server.process.stdout.close()


def test_serve_health_list_models_sigterm_and_cache(
    tmp_path: Path, tiny_model: Path, servers: list[Server]
) -> None:
    cache_dir = tmp_path / "cache"
    log = tmp_path / "first.log"
    first = start(tiny_model, cache_dir, tmp_path, log)
    servers.append(first)
    assert first.line.count("\n") == 1 and "tiny" in first.line
    with grpc.insecure_channel(first.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "latent.v1.Models"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        models = latent_pb2_grpc.ModelsStub(channel)
        info = wait_for_index(first, models)
        assert info.name == "tiny"
        assert info.kind == latent_pb2.WORD
        assert info.dimension == DIM
        assert info.is_default
        assert info.index_state == latent_pb2.HNSW
    stop(first, log)

    hnsw_files = list(cache_dir.glob("*.hnsw"))
    assert len(hnsw_files) == 1, list(cache_dir.iterdir())
    assert hnsw_files[0].name.startswith("tiny-")
    assert list(cache_dir.glob("*.tmp")) == []
    built = hnsw_files[0].stat()

    # A second start with the same cache finds the index instead of building it.
    log = tmp_path / "second.log"
    second = start(tiny_model, cache_dir, tmp_path, log)
    servers.append(second)
    with grpc.insecure_channel(second.target) as channel:
        info = wait_for_index(second, latent_pb2_grpc.ModelsStub(channel))
        assert info.index_state == latent_pb2.HNSW
    stop(second, log)
    assert "HNSW index loaded" in log.read_text(), log.read_text()
    assert sorted(p.name for p in cache_dir.iterdir()) == [
        hnsw_files[0].name,
        hnsw_files[0].name + ".manifest.json",
    ]
    again = hnsw_files[0].stat()
    assert (again.st_ino, again.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_right_after_the_serving_line(
    tmp_path: Path, tiny_model: Path, servers: list[Server], signum: int
) -> None:
    """The handlers are in place before the line is printed: no default action, no
    KeyboardInterrupt trace."""
    log = tmp_path / "signal.log"
    server = start(tiny_model, tmp_path / "cache", tmp_path, log)
    servers.append(server)
    server.process.send_signal(signum)
    assert server.process.wait(timeout=10) == 0, log.read_text()
    assert "Traceback" not in log.read_text()
