"""Start-up in the right order, with real `latentd serve` processes: a taken port fails
before any model loads, a missing model path is named before any model loads, and while
models load the port answers (health NOT_SERVING, model services UNAVAILABLE)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from test_latentd_command import clean_env, run

from latent.v1 import latent_pb2, latent_pb2_grpc
from latentd.testing import free_port, latentd_command, read_serving_line, stop_process

# Log lines that only appear once a model has been loaded.
LOADED = ("words x", "dims on")


@pytest.fixture
def word_file(tmp_path: Path) -> Path:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=4)
    kv.add_vectors(["a", "b", "c"], np.eye(3, 4, dtype=np.float32))
    path = tmp_path / "small.txt"
    kv.save_word2vec_format(str(path), binary=False)
    return path


def test_taken_port_fails_before_loading_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = run(
            ["serve", "--port", str(port), "--cache-dir", str(tmp_path / "c")], tmp_path, timeout=60
        )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("latentd: error: port ") and str(port) in lines[0]
    assert "--port" in lines[0] and "stop the other latentd" in lines[0]
    assert "Failed to bind" not in done.stderr


def test_missing_sentence_model_is_named_before_any_model_loads(tmp_path: Path) -> None:
    done = run(
        [
            "serve",
            "--port",
            "0",
            "--cache-dir",
            str(tmp_path / "c"),
            "--sentence-model",
            "mpnet=/nonexistent/mpnet",
        ],
        tmp_path,
        timeout=60,
    )
    assert done.returncode == 1
    assert "sentence model 'mpnet'" in done.stderr and "/nonexistent/mpnet" in done.stderr
    assert not any(marker in done.stderr for marker in LOADED), done.stderr


def test_loading_server_says_not_serving_then_serving(tmp_path: Path, word_file: Path) -> None:
    """The default sentence model takes seconds to load (torch is imported then): the
    port must already answer during that time."""
    port = free_port()
    target = f"127.0.0.1:{port}"
    from latentd.app import default_sentence_dir

    process = subprocess.Popen(
        [
            *latentd_command(),
            "serve",
            "--port",
            str(port),
            "--cache-dir",
            str(tmp_path / "c"),
            "--no-default-models",
            "--word-model",
            f"small={word_file}",
            "--sentence-model",
            f"all-minilm-l6-v2={default_sentence_dir()}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(tmp_path),
    )
    seen_loading = None
    try:
        with grpc.insecure_channel(target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            models = latent_pb2_grpc.ModelsStub(channel)
            deadline = time.monotonic() + 120
            status = None
            while time.monotonic() < deadline:
                try:
                    status = health.Check(
                        health_pb2.HealthCheckRequest(service="latent.v1.Models"), timeout=2
                    ).status
                except grpc.RpcError:
                    time.sleep(0.02)  # not listening yet
                    continue
                if status == health_pb2.HealthCheckResponse.SERVING:
                    break
                assert status == health_pb2.HealthCheckResponse.NOT_SERVING
                if seen_loading is None:
                    try:
                        models.ListModels(
                            latent_pb2.ListModelsRequest(), timeout=5, wait_for_ready=False
                        )
                    except grpc.RpcError as exc:
                        seen_loading = (exc.code(), exc.details())
                time.sleep(0.02)
            assert status == health_pb2.HealthCheckResponse.SERVING
            assert seen_loading is not None, "never saw the server while it loaded"
            code, details = seen_loading
            assert code == grpc.StatusCode.UNAVAILABLE
            assert details.startswith("latentd is loading models")
            reply = models.ListModels(latent_pb2.ListModelsRequest(), timeout=10)
            assert {m.name for m in reply.models} >= {"small", "all-minilm-l6-v2"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def serve_tiny(word_file: Path, data_dir: Path, tmp_path: Path) -> list[str]:
    return [
        "serve",
        "--no-default-models",
        "--no-index",
        "--port",
        "0",
        "--word-model",
        f"small={word_file}",
        "--cache-dir",
        str(tmp_path / "c"),
        "--data-dir",
        str(data_dir),
    ]


def test_a_data_directory_that_cannot_be_written_fails_with_one_line(
    tmp_path: Path, word_file: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    data_dir = blocker / "data"
    done = run(serve_tiny(word_file, data_dir, tmp_path), tmp_path, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"latentd: error: data directory {data_dir} is not writable (Not a directory); "
        "choose another with --data-dir (env LATENT_DATA_DIR), or let latentd write there"
    ], done.stderr
    assert not any(marker in done.stderr for marker in LOADED)


def test_a_data_directory_in_use_by_another_latentd_fails_with_one_line(
    tmp_path: Path, word_file: Path
) -> None:
    data_dir = tmp_path / "data"
    first = subprocess.Popen(
        [*latentd_command(), *serve_tiny(word_file, data_dir, tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(tmp_path),
    )
    try:
        read_serving_line(first, timeout=60)
        done = run(serve_tiny(word_file, data_dir, tmp_path), tmp_path, timeout=60)
        assert first.poll() is None  # the first one serves on
    finally:
        assert stop_process(first) == 0
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"latentd: error: data directory {data_dir} is in use by ")
    assert f"another latentd (pid {first.pid})" in lines[0] and "--data-dir" in lines[0]
    assert "Traceback" not in done.stderr
    # Once the first has stopped, the directory can be had.
    second = subprocess.Popen(
        [*latentd_command(), *serve_tiny(word_file, data_dir, tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(tmp_path),
    )
    try:
        read_serving_line(second, timeout=60)
    finally:
        assert stop_process(second) == 0
